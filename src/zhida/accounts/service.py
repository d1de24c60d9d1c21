"""Users, roles and departments: the services (each owns its transaction) and their invariants.

* An enterprise user is bound to exactly one valid 统一社会信用代码 and holds no staff role.
* A reviewer belongs to exactly one existing department.
* Usernames and 统一身份认证 subjects are unique (a clear error, never an IntegrityError).
* Only a user with `manage_users` adds users, grants or revokes roles, adds departments.
* Each of those changes is a security event of the audit log (`account.add`, `account.grant`,
  `account.revoke`, `account.deactivate` / `account.activate`, `department.add`), recorded in the
  transaction that makes it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime

import sqlalchemy as sa

from zhida.accounts.authz import require
from zhida.accounts.errors import AccountError, AuthenticationFailed, NotAllowed
from zhida.accounts.passwords import (
    hash_password,
    needs_rehash,
    rehash_password,
    spend_verification_time,
    verify_password,
)
from zhida.accounts.roles import Permission, Role
from zhida.accounts.users import User
from zhida.audit import log as audit_log
from zhida.db.tables import departments, user_roles, users
from zhida.db.uow import UnitOfWork
from zhida.profiles.uscc import is_valid

Clock = Callable[[], datetime]
WRONG_LOGIN = "用户名或密码错误；请重试，或联系管理员重置密码。"


def _now() -> datetime:
    return datetime.now(UTC)


def parse_role(name: str) -> Role:
    for role in Role:
        if name in (role.value, role.label):
            return role
    valid = "、".join(f"{r.value}（{r.label}）" for r in Role)
    raise AccountError(f"没有名为“{name}”的角色；可用的角色：{valid}。")


def add_department(uow: UnitOfWork, code: str, name: str, *, actor: User, clock: Clock = _now) -> None:
    require(actor, Permission.MANAGE_USERS)
    code, name = _text(code, "部门代码", 32), _text(name, "部门名称", 100)
    with uow:
        if _department_id(uow, code, missing_ok=True) is not None:
            raise AccountError(f"部门代码 {code} 已存在；请换一个代码。")
        at = clock()
        uow.conn.execute(sa.insert(departments).values(code=code, name=name, created_at=at))
        audit_log.record(uow, kind="department.add", actor=actor.username, subject=f"department:{code}",
                         data={"name": name}, clock=lambda: at)
        uow.commit()


def department_named(uow: UnitOfWork, text: str) -> str | None:
    """The code of the department a wording names: the longest registered department name it
    contains (“人力资源和社会保障局（就业服务）” → hrss); None when it names none."""
    with uow:
        rows = uow.conn.execute(sa.select(departments.c.code, departments.c.name)).all()
    named = sorted((r for r in rows if r.name and r.name in text), key=lambda r: -len(r.name))
    return str(named[0].code) if named else None


def list_departments(uow: UnitOfWork) -> list[tuple[str, str]]:
    with uow:
        return [(r.code, r.name) for r in uow.conn.execute(
            sa.select(departments.c.code, departments.c.name).order_by(departments.c.code))]


def add_user(uow: UnitOfWork, *, username: str, display_name: str, password: str | None, roles: Iterable[Role],
             actor: User, uscc: str | None = None, department: str | None = None,
             oidc_subject: str | None = None, clock: Clock = _now) -> User:
    """A new account with its roles. `password=None`: no local password (login through OIDC)."""
    require(actor, Permission.MANAGE_USERS)
    wanted = frozenset(roles)
    username, display_name = _text(username, "用户名", 64), _text(display_name, "显示名", 100)
    uscc = _uscc(uscc)
    if not wanted:
        raise AccountError(f"用户 {username} 至少需要一个角色。")
    _check_binding(username, wanted, uscc, department)
    pw_hash = hash_password(password) if password is not None else None
    at = clock()
    with uow:
        if _user_row(uow, username) is not None:
            raise AccountError(f"用户名 {username} 已被使用；请换一个用户名。")
        if oidc_subject is not None and find_by_oidc_subject(uow, oidc_subject) is not None:
            raise AccountError(f"统一身份认证标识 {oidc_subject} 已绑定其他账号；一个身份只能绑定一个账号。")
        dept_id = _department_id(uow, department) if department else None
        try:
            user_id = int(uow.conn.execute(sa.insert(users).values(
                username=username, display_name=display_name, password_hash=pw_hash, oidc_subject=oidc_subject,
                uscc=uscc, department_id=dept_id, active=True, created_at=at, created_by=actor.username,
            ).returning(users.c.id)).scalar_one())
        except sa.exc.IntegrityError:   # added at the same moment by someone else
            raise AccountError(f"用户名 {username} 或其统一身份认证标识刚被其他操作占用；请换一个后重试。") from None
        uow.conn.execute(sa.insert(user_roles), [{"user_id": user_id, "role": r.value, "granted_at": at,
                                                  "granted_by": actor.username} for r in sorted(wanted)])
        user = get_user(uow, username)
        audit_log.record(uow, kind="account.add", actor=actor.username, subject=f"user:{username}",
                         data={"roles": sorted(r.value for r in wanted), "uscc": uscc, "department": department,
                               "password": pw_hash is not None, "oidc": oidc_subject is not None},
                         clock=lambda: at)
        uow.commit()
    return user


def grant(uow: UnitOfWork, username: str, role: Role, *, actor: User, uscc: str | None = None,
          department: str | None = None, clock: Clock = _now) -> User:
    """Give `username` a role. Nobody approves their own change: an administrator cannot grant
    a role to itself (another administrator does)."""
    require(actor, Permission.MANAGE_USERS)
    if username == actor.username:
        raise NotAllowed(f"用户 {username} 不能给自己授予角色；请由另一位管理员办理（不相容岗位分离）。")
    with uow:
        user = get_user(uow, username)
        uscc = _uscc(uscc) or user.uscc
        department = department or user.department
        if user.uscc and uscc != user.uscc:
            raise AccountError(f"用户 {username} 已绑定企业 {user.uscc}，一个企业账号只能绑定一家企业。")
        if user.department and department != user.department:
            raise AccountError(f"用户 {username} 已属于部门 {user.department}；审核人员只能属于一个部门。")
        if role in user.roles:
            return user
        _check_binding(username, user.roles | {role}, uscc, department)
        dept_id = _department_id(uow, department) if department else None
        uow.conn.execute(sa.update(users).where(users.c.id == user.id).values(uscc=uscc, department_id=dept_id))
        at = clock()
        uow.conn.execute(sa.insert(user_roles).values(user_id=user.id, role=role.value, granted_at=at,
                                                      granted_by=actor.username))
        audit_log.record(uow, kind="account.grant", actor=actor.username, subject=f"user:{username}",
                         data={"role": role.value, "uscc": uscc, "department": department}, clock=lambda: at)
        user = get_user(uow, username)
        uow.commit()
    return user


def revoke(uow: UnitOfWork, username: str, role: Role, *, actor: User, clock: Clock = _now) -> User:
    require(actor, Permission.MANAGE_USERS)
    with uow:
        user = get_user(uow, username)
        if role not in user.roles:
            raise AccountError(f"用户 {username} 没有“{role.label}”角色，无需撤销。")
        if user.roles == {role}:
            raise AccountError(f"“{role.label}”是用户 {username} 唯一的角色；如要停用账号，请停用而不是撤销全部角色。")
        uow.conn.execute(sa.delete(user_roles).where((user_roles.c.user_id == user.id)
                                                     & (user_roles.c.role == role.value)))
        audit_log.record(uow, kind="account.revoke", actor=actor.username, subject=f"user:{username}",
                         data={"role": role.value}, clock=clock)
        user = get_user(uow, username)
        uow.commit()
    return user


def set_active(uow: UnitOfWork, username: str, active: bool, *, actor: User, clock: Clock = _now) -> User:
    require(actor, Permission.MANAGE_USERS)
    with uow:
        user = get_user(uow, username)
        uow.conn.execute(sa.update(users).where(users.c.id == user.id).values(active=active))
        audit_log.record(uow, kind="account.activate" if active else "account.deactivate", actor=actor.username,
                         subject=f"user:{username}", data={"was_active": user.active}, clock=clock)
        user = get_user(uow, username)
        uow.commit()
    return user


def list_users(uow: UnitOfWork, *, actor: User) -> list[User]:
    require(actor, Permission.MANAGE_USERS)
    with uow:
        names = uow.conn.execute(sa.select(users.c.username).order_by(users.c.username)).scalars().all()
        return [get_user(uow, n) for n in names]


def get_user(uow: UnitOfWork, username: str) -> User:
    with uow:
        row = _user_row(uow, username)
        if row is None:
            raise AccountError(f"没有用户 {username}；用 zhida user list 查看已有用户。")
        return _user(uow, row)


def find_by_oidc_subject(uow: UnitOfWork, subject: str) -> User | None:
    """The account bound to a 统一身份认证 subject, if any."""
    with uow:
        row = uow.conn.execute(_select_users().where(users.c.oidc_subject == subject)).mappings().first()
        return None if row is None else _user(uow, row)


def authenticate(uow: UnitOfWork, username: str, password: str) -> User:
    """The user, when the password is right and the account active; one message otherwise."""
    with uow:
        row = _user_row(uow, username.strip())
        if row is None or not row["password_hash"]:
            spend_verification_time(password)   # as slow as a wrong password: usernames are not revealed
            raise AuthenticationFailed(WRONG_LOGIN)
        if not verify_password(row["password_hash"], password):
            raise AuthenticationFailed(WRONG_LOGIN)
        if not row["active"]:
            raise AuthenticationFailed(f"账号 {username} 已停用；请联系管理员。")
        if needs_rehash(row["password_hash"]):   # parameters raised since: store the stronger hash
            uow.conn.execute(sa.update(users).where(users.c.id == row["id"])
                             .values(password_hash=rehash_password(password)))
        user = _user(uow, row)
        uow.commit()
    return user


def _check_binding(username: str, roles: frozenset[Role], uscc: str | None, department: str | None) -> None:
    if Role.ENTERPRISE in roles:
        if len(roles) > 1:
            raise AccountError(f"企业用户 {username} 不能兼任政府工作人员角色；请为工作人员另建账号。")
        if not uscc:
            raise AccountError(f"企业用户 {username} 须绑定一家企业：请给出统一社会信用代码（--uscc）。")
        if not is_valid(uscc):
            raise AccountError(f"统一社会信用代码 {uscc} 无效（应为 18 位且校验位正确）；请核对后重试。")
    elif uscc:
        raise AccountError(f"只有企业用户才绑定企业；用户 {username} 不是企业用户，请去掉统一社会信用代码。")
    if Role.REVIEWER in roles and not department:
        raise AccountError(f"审核人员 {username} 须属于一个部门：请给出部门代码（--department）。")


def _text(value: str, what: str, limit: int) -> str:
    value = value.strip()
    if not value or len(value) > limit:
        raise AccountError(f"{what}“{value}”应为 1 到 {limit} 个字符；请修改后重试。")
    return value


def _uscc(value: str | None) -> str | None:
    """A 统一社会信用代码 as stored: upper case, no surrounding spaces (validity is checked later)."""
    if value is None:
        return None
    return value.strip().upper() or None


def _department_id(uow: UnitOfWork, code: str | None, missing_ok: bool = False) -> int | None:
    found = uow.conn.execute(sa.select(departments.c.id).where(departments.c.code == code)).scalar_one_or_none()
    if found is None and not missing_ok:
        known = "、".join(c for c, _ in list_departments(uow)) or "（尚无部门）"
        raise AccountError(f"没有部门 {code}；已有部门：{known}。可用 zhida user dept-add 新建。")
    return found


def _select_users() -> sa.Select:  # type: ignore[type-arg]
    return sa.select(users, departments.c.code.label("department_code")).select_from(
        users.outerjoin(departments, users.c.department_id == departments.c.id))


def _user_row(uow: UnitOfWork, username: str) -> sa.RowMapping | None:
    return uow.conn.execute(_select_users().where(users.c.username == username)).mappings().first()


def _user(uow: UnitOfWork, row: sa.RowMapping) -> User:
    roles = uow.conn.execute(sa.select(user_roles.c.role).where(user_roles.c.user_id == row["id"])).scalars()
    return User(id=row["id"], username=row["username"], display_name=row["display_name"],
                roles=frozenset(Role(r) for r in roles), uscc=row["uscc"], department=row["department_code"],
                active=row["active"], oidc_subject=row["oidc_subject"])
