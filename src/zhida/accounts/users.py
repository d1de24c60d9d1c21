"""The acting user, and authorization as plain functions over it.

Every service that reads or changes something on someone's behalf takes the acting `User` and
calls `require…` before it touches the store; a page or a command only passes the user along.
"""

from __future__ import annotations

from dataclasses import dataclass

from zhida.accounts.errors import NotAllowed
from zhida.accounts.roles import PERMISSIONS, Permission, Role


@dataclass(frozen=True)
class User:
    id: int
    username: str
    display_name: str
    roles: frozenset[Role]
    uscc: str | None = None            # the firm an enterprise user acts for
    department: str | None = None      # department code (a reviewer's department)
    active: bool = True
    oidc_subject: str | None = None

    @property
    def permissions(self) -> frozenset[Permission]:
        if not self.active:
            return frozenset()
        return frozenset(p for r in self.roles for p in PERMISSIONS[r])

    @property
    def role_labels(self) -> str:
        return "、".join(r.label for r in sorted(self.roles))


# The local operator: whoever runs `zhida` on the server already holds the database, so the
# command line acts with every staff role that is not tied to one firm or one department.
# Web requests always act as a logged-in user.
SYSTEM = User(id=0, username="system", display_name="本机操作员（命令行）",
              roles=frozenset({Role.ADMIN, Role.POLICY_OFFICER, Role.DATA_OFFICER, Role.FINANCE, Role.LEADER}))


def can(actor: User, permission: Permission) -> bool:
    return permission in actor.permissions


def require(actor: User, permission: Permission) -> None:
    if not can(actor, permission):
        why = "账号已停用" if not actor.active else f"当前角色：{actor.role_labels or '无'}"
        raise NotAllowed(f"用户 {actor.username} 没有“{permission.label}”权限（{why}）；请联系管理员授权。")


def require_enterprise(actor: User, uscc: str) -> None:
    """Acting for one firm: an enterprise user only for its own; staff who may see any firm, for any."""
    if can(actor, Permission.VIEW_ANY_ENTERPRISE):
        return
    if can(actor, Permission.VIEW_OWN_ENTERPRISE) and actor.uscc == uscc:
        return
    raise NotAllowed(f"用户 {actor.username} 不能查看或办理企业 {uscc} 的事项"
                     + (f"（本账号只能办理 {actor.uscc} 的事项）" if actor.uscc else "") + "。")


def require_department(actor: User, department: str,
                       permission: Permission = Permission.REVIEW_DEPARTMENT_ITEMS) -> None:
    """Acting on a department's items: only with the permission and only in one's own department."""
    require(actor, permission)
    if actor.department != department:
        raise NotAllowed(f"用户 {actor.username} 属于{actor.department or '（未分配部门）'}，"
                         f"不能办理部门 {department} 的事项。")
