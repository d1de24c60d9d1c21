"""Authorization as plain functions over the acting user.

Every service that reads or changes something on someone's behalf takes the acting `User` and
calls one of these before it touches the store; a page or a command only passes the user along,
so nothing is enforced only in a UI.

Firms: an enterprise user acts only for its own firm; staff holding `view_any_enterprise`
(reviewer, data officer) may read any firm.

Departments: *acting* on a department's items (excluding a firm from a whitelist, deciding an
application, running 公示) is for that department's reviewers only — `require_department`.
Leaders, administrators and other staff holding `view_dashboards` *see* every department's
items but decide none of them (oversight is kept apart from review) — `department_scope`.
"""

from __future__ import annotations

from zhida.accounts.errors import NotAllowed
from zhida.accounts.roles import Permission
from zhida.accounts.users import User
from zhida.db.scope import Scope


def can(actor: User, permission: Permission) -> bool:
    return permission in actor.permissions


def require(actor: User, permission: Permission) -> None:
    """Raise `NotAllowed` unless the actor (active) holds the permission."""
    if not can(actor, permission):
        why = "账号已停用" if not actor.active else f"当前角色：{actor.role_labels or '无'}"
        raise NotAllowed(f"用户 {actor.username} 需要“{permission.label}”权限才能执行此操作（{why}）；"
                         "请联系管理员授予相应角色。")


def require_enterprise(actor: User, uscc: str) -> None:
    """Acting for one firm: an enterprise user only for its own; staff who may see any firm, for any."""
    if can(actor, Permission.VIEW_ANY_ENTERPRISE):
        return
    if can(actor, Permission.VIEW_OWN_ENTERPRISE) and actor.uscc == uscc:
        return
    raise NotAllowed(f"用户 {actor.username} 不能查看或办理企业 {uscc} 的事项"
                     + (f"（本账号只能办理 {actor.uscc} 的事项）" if actor.uscc else "（需要“查看任一企业信息”权限）")
                     + "。")


def require_department(actor: User, department: str,
                       permission: Permission = Permission.REVIEW_DEPARTMENT_ITEMS) -> None:
    """Acting on a department's items: only with the permission and only in one's own department
    (no one, not even an administrator, decides another department's items)."""
    require(actor, permission)
    if actor.department != department:
        raise NotAllowed(f"用户 {actor.username} 属于{actor.department or '（未分配部门）'}，"
                         f"不能办理部门 {department} 的事项；请由该部门的审核人员办理。")


def department_scope(actor: User) -> str | None:
    """Which departments' items the actor may see: `None` for all (staff with `view_dashboards`:
    leader, administrator, policy officer, finance), its own department's code for a reviewer;
    `NotAllowed` for anyone else."""
    if can(actor, Permission.VIEW_DASHBOARDS):
        return None
    if can(actor, Permission.REVIEW_DEPARTMENT_ITEMS) and actor.department:
        return actor.department
    raise NotAllowed(f"用户 {actor.username} 不能查看部门事项（需要“{Permission.REVIEW_DEPARTMENT_ITEMS.label}”"
                     f"或“{Permission.VIEW_DASHBOARDS.label}”权限）；请联系管理员授权。")


def require_reader(actor: User, *, what: str, uscc: str, department: str) -> None:
    """Reading one firm's item that a department handles (an offer, an application, a 诉求): the
    firm itself, that department's reviewers, or oversight roles (`department_scope`)."""
    if actor.uscc == uscc and actor.active and can(actor, Permission.VIEW_OWN_ENTERPRISE):
        return
    if actor.uscc and not (actor.permissions - {Permission.VIEW_OWN_ENTERPRISE}):
        raise NotAllowed(f"{what}属于企业 {uscc}；本账号只能查看本企业的事项。")
    scope = department_scope(actor)
    if scope is not None and scope != department:
        raise NotAllowed(f"{what}由部门 {department} 办理；用户 {actor.username} 属于{scope}，不能查看。")


def reader_scope(actor: User) -> Scope:
    """The rows a reader's transaction is narrowed to (zhida.db.scope.restrict, row-level security
    on PostgreSQL): the actor's own firm, its department's items, or everything for oversight."""
    if actor.uscc and actor.active and can(actor, Permission.VIEW_OWN_ENTERPRISE):
        return Scope(uscc=actor.uscc)
    department = department_scope(actor)
    return Scope(department=department) if department else Scope(everything=True)
