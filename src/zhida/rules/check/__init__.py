"""Checks of policy files: lint (lint.py) and the policy cases runner (cases.py)."""
