"""Errors of accounts and authorization (messages for users, in Chinese, with the fix)."""

from __future__ import annotations

from zhida.errors import ZhidaError


class AccountError(ZhidaError):
    """A user, role or department that cannot be created or changed as asked."""


class AuthenticationFailed(ZhidaError):
    """Wrong username or password (one message for both), or an inactive account."""


class NotAllowed(ZhidaError):
    """The acting user lacks the permission, or acts outside its firm or department."""

    exit_code = 3
