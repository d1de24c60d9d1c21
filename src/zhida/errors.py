"""The project's error hierarchy.

Every error a user can cause derives from `ZhidaError`; each entrypoint (CLI, web) has one
translator that turns it into an exit code or an HTTP response. Messages shown to users are
in Simplified Chinese and say what to do: file, row, field, the value seen, and the fix.
"""

from __future__ import annotations


class ZhidaError(Exception):
    """Base of every error the user can cause and fix."""

    exit_code: int = 2
