"""Accounts: users, roles, departments, passwords, and authorization checked in services."""

from zhida.accounts.errors import AccountError, AuthenticationFailed, NotAllowed
from zhida.accounts.roles import PERMISSIONS, Permission, Role
from zhida.accounts.users import SYSTEM, User, can, require, require_department, require_enterprise

__all__ = ["PERMISSIONS", "SYSTEM", "AccountError", "AuthenticationFailed", "NotAllowed", "Permission", "Role", "User",
           "can", "require", "require_department", "require_enterprise"]
