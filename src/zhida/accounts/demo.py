"""Demo accounts for the demo city: one per role, with printed demo-only passwords."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from zhida.accounts.roles import Role
from zhida.accounts.service import add_department, add_user, list_departments
from zhida.accounts.users import SYSTEM
from zhida.db.tables import users
from zhida.db.uow import UnitOfWork

DEMO_PASSWORD = "zhida-demo-2026"   # demo only: printed on screen, never for a real deployment
DEPARTMENTS = [("hrss", "人力资源和社会保障局"), ("sti", "科学技术局"), ("eco", "经济和信息化局"),
               ("fin", "财政局"), ("data", "大数据发展管理局"), ("tax", "税务局")]


@dataclass(frozen=True)
class DemoAccount:
    username: str
    password: str
    role: Role
    bound_to: str   # firm or department, for printing


def create_demo_accounts(uow: UnitOfWork, *, usccs: Sequence[str],
                         clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> list[DemoAccount]:
    """Departments and one account per role (two enterprise accounts for the first firms);
    accounts that exist are kept as they are (calling again changes nothing)."""
    staff = [("policy", "政策主管（演示）", Role.POLICY_OFFICER, None),
             ("reviewer", "人社局审核员（演示）", Role.REVIEWER, "hrss"),
             ("finance", "财政局经办（演示）", Role.FINANCE, "fin"),
             ("data", "数据局（演示）", Role.DATA_OFFICER, "data"),
             ("leader", "领导（演示）", Role.LEADER, None),
             ("admin", "管理员（演示）", Role.ADMIN, None)]
    with uow:
        existing = set(uow.conn.execute(users.select().with_only_columns(users.c.username)).scalars())
        have = {c for c, _ in list_departments(uow)}
        for code, name in DEPARTMENTS:
            if code not in have:
                add_department(uow, code, name, actor=SYSTEM, clock=clock)
        out = []
        for i, uscc in enumerate(usccs[:2], start=1):
            name = f"firm{i}"
            if name not in existing:
                add_user(uow, username=name, display_name=f"演示企业{i}", password=DEMO_PASSWORD,
                         roles=[Role.ENTERPRISE], uscc=uscc, actor=SYSTEM, clock=clock)
            out.append(DemoAccount(name, DEMO_PASSWORD, Role.ENTERPRISE, uscc))
        for name, display, role, dept in staff:
            if name not in existing:
                add_user(uow, username=name, display_name=display, password=DEMO_PASSWORD, roles=[role],
                         department=dept, actor=SYSTEM, clock=clock)
            out.append(DemoAccount(name, DEMO_PASSWORD, role, dept or ""))
        uow.commit()
    return out
