"""Errors of the enterprise services (messages for users, in Chinese, with the fix)."""

from __future__ import annotations

from zhida.errors import ZhidaError


class ServiceError(ZhidaError):
    """A code or report that cannot be issued as asked (unknown firm, bad period, missing data)."""


class VerificationFailed(ServiceError):
    """A code or report that does not verify: changed, malformed, or not signed by the given key."""

    exit_code = 1


class FontMissing(ServiceError):
    """The CJK font the PDF report embeds is not installed."""
