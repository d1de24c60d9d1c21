"""Accounts: users, roles, departments, passwords, and authorization checked in services."""

from zhida.accounts.authz import (
    can,
    department_scope,
    reader_scope,
    require,
    require_department,
    require_enterprise,
    require_reader,
)
from zhida.accounts.errors import AccountError, AuthenticationFailed, NotAllowed
from zhida.accounts.roles import PERMISSIONS, Permission, Role
from zhida.accounts.users import SYSTEM, User

__all__ = [
    "PERMISSIONS",
    "SYSTEM",
    "AccountError",
    "AuthenticationFailed",
    "NotAllowed",
    "Permission",
    "Role",
    "User",
    "can",
    "department_scope",
    "reader_scope",
    "require",
    "require_department",
    "require_enterprise",
    "require_reader",
]
