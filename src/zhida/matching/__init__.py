"""Matching: every published clause against every enterprise profile (政策找企业)."""
