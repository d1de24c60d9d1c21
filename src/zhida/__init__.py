"""Zhida (政策直达): government enterprise-support policies that find their enterprises."""

__version__ = "0.1.0"
