"""即申即办 / 申报审批 applications: a pre-filled form, the facts a firm adds, an instant or a
reviewed decision, and the award going straight to payment (DESIGN.md §6).

    a = start(uow, facts, clause, actor=firm, today=…)          # pre-filled from the profile
    form(uow, facts, a.id, actor=firm)                          # each fact with its source
    declare(uow, facts, a.id, {"graduate_si_employer_paid@2023": "36000"}, actor=firm)
    attach(uow, a.id, material_id, actor=firm)                  # from the 材料银行
    submit(uow, facts, a.id, actor=firm, account=…, pledge=True)

The form holds exactly the facts the clause reads, each with where it came from. The firm
supplies only what the profile lacks, and what it supplies is marked self-declared: it is kept
on the application, never written into the profile, so it can never make a 免申即享 payment.
A 即申即办 (`instant`) clause whose conditions all hold on verified data is decided at
submission and its award is ready for payment at once; an application that leans on a
self-declared fact, or a 申报审批 (`reviewed`) clause, goes to the responsible department's
queue with a time limit. A rejection names its reason; the firm may change the application and
submit it again, its history kept as events.

The award of an approved application is an offer (zhida.workflow.offers) already confirmed:
it joins the same payment batches, ledger and once-only guarantee as a 免申即享 award.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import sqlalchemy as sa

from zhida.accounts import (
    Role,
    User,
    department_scope,
    reader_scope,
    require_department,
    require_enterprise,
    require_reader,
)
from zhida.accounts.errors import NotAllowed
from zhida.accounts.service import department_named
from zhida.audit import log as audit_log
from zhida.calculator import answer_facts
from zhida.db.scope import Scope, restrict
from zhida.db.tables import (
    application_events,
    application_materials,
    applications,
    offer_events,
    offers,
    policy_versions,
)
from zhida.db.uow import UnitOfWork
from zhida.errors import ZhidaError
from zhida.matching.errors import EnterpriseNotFound
from zhida.matching.run import population_frame
from zhida.profiles.datause import record_use, requirement_fields
from zhida.profiles.profile import list_entries, trace
from zhida.profiles.registry import Registry
from zhida.profiles.store import ProfileStore
from zhida.published import published_set
from zhida.rules.evaluate.clause import CompiledClause
from zhida.rules.evaluate.engine import CompiledPolicies, compile_policies
from zhida.rules.explanation.explain import ClauseExplanation, explain_frame
from zhida.rules.lang.schema import Schema
from zhida.rules.model.document import ClauseSpec
from zhida.rules.model.facts import build_frame
from zhida.rules.model.policy import Policy, parse_policy
from zhida.workflow import materials as bank
from zhida.workflow.notices import yuan
from zhida.workflow.notifications import notify
from zhida.workflow.offers import seal_account
from zhida.workflow.states import (
    EDITABLE,
    ApplicationAction,
    ApplicationState,
    OfferState,
    TransitionNotAllowed,
    next_application_state,
)

Clock = Callable[[], datetime]
A, S = ApplicationAction, ApplicationState
APPLY_MODES = {"instant": "即申即办", "reviewed": "申报审批"}
REVIEW_DAYS = 10          # the department's time limit for a decision, in calendar days
SELF = "企业自报（待审核核实）"
PURPOSE = "企业申报：预填申报表"


class ApplicationError(ZhidaError):
    """An application that cannot be started, changed or decided as asked."""


@dataclass(frozen=True)
class ProfileFacts:
    """Where an application's facts come from: the profile store as loaded now."""

    store: ProfileStore
    schema: Schema
    registry: Registry
    zones_dir: Path | None = None


@dataclass(frozen=True)
class Application:
    id: int
    clause: str
    policy_id: str
    uscc: str
    period: str
    department: str
    mode: str
    state: ApplicationState
    as_of: date
    declared: dict[str, str]
    amount_fen: int | None
    due_by: datetime | None
    offer_id: int | None
    account_no: str | None          # masked (****1234)

    def overdue(self, now: datetime) -> bool:
        return self.state is S.IN_REVIEW and self.due_by is not None and now > self.due_by


@dataclass(frozen=True)
class Fact:
    """One line of the form: a fact the clause reads, its value and where it came from."""

    column: str
    label: str
    value: str | None           # as shown (personal values masked); None: not known
    source: str                 # department and load, or 企业自报
    declared: bool              # supplied by the firm on this application
    declarable: bool            # the firm may supply it (a profile field, not a list or a zone)


@dataclass
class Form:
    application: Application
    title: str
    policy_title: str
    mode_label: str
    facts: list[Fact]
    verified: ClauseExplanation            # on the profile alone
    result: ClauseExplanation              # with the firm's declared facts
    materials_required: list[str]
    materials: list[bank.Material]
    missing_materials: list[str] = field(default_factory=list)
    ceiling: bool = False                  # “不超过”: the amount is the most; the department fixes it

    @property
    def to_supply(self) -> list[Fact]:
        """The facts still unknown that the firm may declare."""
        return [f for f in self.facts if f.value is None and f.declarable]

    @property
    def decision(self) -> str:
        """What submitting would do, in words."""
        if self.result.status == "ineligible":
            return "按现有数据不符合条件：" + "；".join(self.result.reasons or ["见逐条说明"])
        if self.result.status != "eligible":
            return "还缺少以下事实，补充后才能提交：" + "、".join(f.label for f in self.to_supply or self.facts
                                                        if f.value is None)
        if self.application.mode == "instant" and self.verified.status == "eligible":
            return f"数据齐全且已核验：提交后即时办结，{yuan(self.result.amount_fen or 0)} 元转入拨付。"
        why = "含企业自报事实，" if self.application.declared else ""
        most = f"金额最高 {yuan(self.result.amount_fen or 0)} 元，由审核部门核定；" if self.ceiling else ""
        return f"{why}{most}提交后转 {self.application.department} 审核，{REVIEW_DAYS} 日内办结。"


def _now() -> datetime:
    return datetime.now(UTC)


# --- the firm ----------------------------------------------------------------------------


def start(uow: UnitOfWork, facts: ProfileFacts, clause: str, *, actor: User, today: date | None = None,
          clock: Clock = _now) -> Application:
    """Open the acting firm's application for a clause one applies for (即申即办 or 申报审批),
    evaluated on `today`; the same firm, clause and year give the same application back."""
    uscc = _own_firm(actor)
    at = clock()
    today = today or at.date()
    with uow:
        version, policy = _published(uow, clause.split("/")[0])
        spec = _spec(policy, clause)
        if spec.mode not in APPLY_MODES:
            raise ApplicationError(f"条款 {clause} 的兑现方式为“{_mode_label(spec.mode)}”，不需要申报"
                                   + ("：符合条件的企业会收到兑现通知，确认即可。" if spec.mode == "exempt" else "。"))
        closes = min(d for d in (spec.deadline, policy.spec.valid_to) if d) if spec.deadline or policy.spec.valid_to \
            else None
        if closes is not None and today > closes:
            raise ApplicationError(f"条款 {clause} 的申报已于 {closes} 截止。")
        if today < policy.spec.valid_from:
            raise ApplicationError(f"条款 {clause} 自 {policy.spec.valid_from} 起才可申报。")
        period = str(today.year)
        found = uow.conn.execute(sa.select(applications.c.id).where(
            (applications.c.clause == clause) & (applications.c.uscc == uscc)
            & (applications.c.period == period))).scalar()
        if found is not None:
            return get_application(uow, int(found), actor=actor)
        department = responsible_department(uow, spec.department or policy.spec.department)
        _evaluate(facts, policy, clause, uscc, today, {})      # the firm is in the profile store
        new_id = int(uow.conn.execute(sa.insert(applications).values(
            clause=clause, policy_id=policy.id, version_id=version, uscc=uscc, period=period,
            department=department, mode=spec.mode, state=S.DRAFT.value, as_of=today, declared={},
            created_at=at, updated_at=at).returning(applications.c.id)).scalar_one())
        _event(uow, new_id, actor, "start", None, S.DRAFT, at, {"as_of": today.isoformat()})
        application = get_application(uow, new_id, actor=actor)
        uow.commit()
    return application


def form(uow: UnitOfWork, facts: ProfileFacts, application_id: int, *, actor: User,
         clock: Clock = _now) -> Form:
    """The application as a form: every fact the clause reads with its value and source, the
    result on verified data and with what the firm declared, the materials asked for and
    attached. Reading it is a recorded data use."""
    with uow:
        a = get_application(uow, application_id, actor=actor)
        _, policy = _published(uow, a.policy_id, version_of=a)
        compiled = _compiled(policy, facts.schema, a.as_of)
        c = _clause(policy, a.clause, compiled)
        verified, result = _evaluate(facts, policy, a.clause, a.uscc, a.as_of, a.declared, compiled)
        lines = _facts(facts, c.requirements.columns(), verified, a)
        record_use(uow, uscc=a.uscc, fields=requirement_fields(c.requirements.columns()), purpose=PURPOSE,
                   actor=actor.username, legal_basis="企业申报，本企业授权", used_at=clock(), as_of=a.as_of)
        attached = bank.attached(uow, a.id)
        required = list(c.clause.spec.materials)
        kinds = {m.kind for m in attached}
        missing = [r for r in required if bank.classify(r) != "other" and bank.classify(r) not in kinds]
        out = Form(a, c.clause.spec.title, policy.spec.title, APPLY_MODES[a.mode], lines, verified, result,
                   required, attached, missing, ceiling=c.clause.spec.amount_is == "ceiling")
        uow.commit()
    return out


def declare(uow: UnitOfWork, facts: ProfileFacts, application_id: int, answers: Mapping[str, str], *,
            actor: User, clock: Clock = _now) -> Application:
    """The firm supplies facts its profile lacks (an empty answer withdraws one). Only facts
    the clause reads, that are unknown in the profile, and that are profile fields (a list or a
    zone comes from its department) may be declared; every answer is checked like a loaded value."""
    with uow:
        a = get_application(uow, application_id, actor=actor)
        _firm_may_edit(actor, a)
        _, policy = _published(uow, a.policy_id, version_of=a)
        compiled = _compiled(policy, facts.schema, a.as_of)
        c = _clause(policy, a.clause, compiled)
        verified, _ = _evaluate(facts, policy, a.clause, a.uscc, a.as_of, {}, compiled)
        lines = {f.column: f for f in _facts(facts, c.requirements.columns(), verified, a)}
        declared = dict(a.declared)
        problems = []
        for column, text in answers.items():
            line, text = lines.get(column), text.strip()
            if line is None:
                problems.append(f"{column}：不是本条款需要的事实")
            elif not line.declarable:
                problems.append(f"{line.label}：须由数据来源部门提供，企业不能自报")
            elif line.value is not None and not line.declared:
                problems.append(f"{line.label}：画像中已有核验数据（{line.value}），不能自报覆盖；如有误请联系{line.source}")
            elif not text:
                declared.pop(column, None)
            else:
                declared[column] = text
        _, _, errors = answer_facts(facts.schema, a.as_of, {k: v for k, v in declared.items() if k in answers})
        problems += [f"{lines[col].label}“{declared[col]}”：{why}" for col, why in errors.items()]
        if problems:
            raise ApplicationError("自报事实未保存：" + "；".join(problems) + "。请修改后重新填写。")
        at = clock()
        uow.conn.execute(sa.update(applications).where(applications.c.id == a.id)
                         .values(declared=declared, updated_at=at))
        _event(uow, a.id, actor, "declare", a.state, a.state, at,
               {"declared": sorted(k for k in answers if k in declared), "withdrawn":
                sorted(k for k in answers if k not in declared)})
        a = get_application(uow, a.id, actor=actor)
        uow.commit()
    return a


def attach(uow: UnitOfWork, application_id: int, material_id: int, *, actor: User, clock: Clock = _now
           ) -> list[bank.Material]:
    """Attach one of the firm's own materials to its application (again: no change)."""
    with uow:
        a = get_application(uow, application_id, actor=actor)
        _firm_may_edit(actor, a)
        own = {m.id: m for m in bank.find(uow, actor=actor)}
        if material_id not in own:
            raise ApplicationError(f"材料 {material_id} 不在本企业的材料银行中；请先上传，或在材料银行中核对编号。")
        already = uow.conn.execute(sa.select(application_materials.c.material_id).where(
            (application_materials.c.application_id == a.id)
            & (application_materials.c.material_id == material_id))).scalar()
        if already is None:
            uow.conn.execute(sa.insert(application_materials).values(application_id=a.id, material_id=material_id))
            _event(uow, a.id, actor, "attach", a.state, a.state, clock(),
                   {"material": material_id, "file": own[material_id].file_name})
        out = bank.attached(uow, a.id)
        uow.commit()
    return out


def submit(uow: UnitOfWork, facts: ProfileFacts, application_id: int, *, actor: User, account_name: str,
           account_bank: str, account_no: str, pledge: bool, clock: Clock = _now,
           review_days: int = REVIEW_DAYS) -> Application:
    """Submit (or resubmit after a rejection). Decided at once when the clause is 即申即办 and
    every condition holds on verified data; otherwise queued for the department with a time
    limit. Refused, with the reason, while a condition fails, a fact is missing, a material
    asked for is not attached, or the account or the 承诺 is not given."""
    problems = [label for label, value in (("开户名称", account_name), ("开户银行", account_bank),
                                           ("银行账号", account_no)) if not value.strip()]
    if problems:
        raise ApplicationError(f"请填写收款账户的{'、'.join(problems)}后再提交。")
    number = account_no.replace(" ", "")
    if not number.isdigit():
        raise ApplicationError(f"银行账号“{account_no}”应只含数字；请核对后重填。")
    if not pledge:
        raise ApplicationError("提交前须签署承诺（所报信息真实，自报事实可供核查，不重复享受同类资金）。")
    with uow:
        f = form(uow, facts, application_id, actor=actor, clock=clock)
        a = f.application
        _firm_may_edit(actor, a)
        if f.result.status != "eligible":
            raise ApplicationError(f"申报 {a.id} 暂不能提交：{f.decision}")
        if f.missing_materials:
            raise ApplicationError(f"申报 {a.id} 还缺少材料：{'、'.join(f.missing_materials)}；"
                                   "请先上传到材料银行并附上。")
        instant = a.mode == "instant" and f.verified.status == "eligible"
        at = clock()
        uow.conn.execute(sa.update(applications).where(applications.c.id == a.id).values(
            account_name=account_name.strip(), account_bank=account_bank.strip(),
            account_no=seal_account(uow, number), amount_fen=f.result.amount_fen,
            due_by=None if instant else at + timedelta(days=review_days)))
        detail = {"amount_fen": f.result.amount_fen, "account": "****" + number[-4:], "pledge": True,
                  "declared": sorted(a.declared), "verified_status": f.verified.status}
        if instant:
            a = _move(uow, a, A.SUBMIT_INSTANT, actor, at, detail)
            a = _grant(uow, a, actor, at)
        else:
            a = _move(uow, a, A.SUBMIT, actor, at, detail)
        uow.commit()
    return a


def withdraw(uow: UnitOfWork, application_id: int, *, actor: User, clock: Clock = _now) -> Application:
    with uow:
        a = get_application(uow, application_id, actor=actor)
        _own_firm(actor)
        a = _move(uow, a, A.WITHDRAW, actor, clock(), {})
        uow.commit()
    return a


def applications_of(uow: UnitOfWork, *, actor: User) -> list[Application]:
    """The acting firm's applications, newest first."""
    uscc = _own_firm(actor)
    with uow:
        restrict(uow, Scope(uscc=uscc))
        ids = uow.conn.execute(sa.select(applications.c.id).where(applications.c.uscc == uscc)
                               .order_by(applications.c.id.desc())).scalars().all()
        return [_load(uow, i) for i in ids]


# --- the department ----------------------------------------------------------------------


def review_queue(uow: UnitOfWork, *, actor: User, state: ApplicationState | None = S.IN_REVIEW,
                 clause: str | None = None, overdue_at: datetime | None = None) -> list[Application]:
    """Applications waiting for the actor's department (all departments' for oversight roles),
    the earliest time limit first; `overdue_at`: only those past their limit at that moment."""
    department = department_scope(actor)
    q = sa.select(applications.c.id).order_by(applications.c.due_by, applications.c.id)
    if state is not None:
        q = q.where(applications.c.state == state.value)
    if clause:
        q = q.where(applications.c.clause == clause)
    if department is not None:
        q = q.where(applications.c.department == department)
    if overdue_at is not None:
        q = q.where(applications.c.due_by < overdue_at)
    with uow:
        restrict(uow, Scope(department=department) if department else Scope(everything=True))
        return [_load(uow, i) for i in uow.conn.execute(q).scalars()]


def decide(uow: UnitOfWork, application_id: int, *, approve: bool, actor: User, reason: str = "",
           amount_fen: int | None = None, clock: Clock = _now) -> Application:
    """The department's decision: approve (the award goes to payment) or reject with a reason.
    For a “不超过 X” clause (amount_is: ceiling) the approval fixes the amount, at most the
    ceiling the rules computed, with a reason when it is less."""
    if not approve and not reason.strip():
        raise ApplicationError("不予通过须写明理由（企业据此修改后可重新提交）。")
    with uow:
        a = get_application(uow, application_id, actor=actor)
        require_department(actor, a.department)
        at = clock()
        if approve:
            detail: dict[str, Any] = {"reason": reason.strip()} if reason.strip() else {}
            detail |= _fixed_amount(uow, a, amount_fen, reason)
            a = _move(uow, a, A.APPROVE, actor, at, detail)
            a = _grant(uow, a, actor, at)
        else:
            a = _move(uow, a, A.REJECT, actor, at, {"reason": reason.strip()})
            notify(uow, uscc=a.uscc, kind="application_rejected", title="申报未通过",
                   body=f"您的申报（{a.clause}）未通过：{reason.strip()}。可修改后重新提交。",
                   application_id=a.id, clock=lambda: at)
        uow.commit()
    return a


def _fixed_amount(uow: UnitOfWork, a: Application, amount_fen: int | None, reason: str) -> dict[str, Any]:
    """Check the amount a reviewer fixes and store it on the application; the event's detail."""
    _, policy = _published(uow, a.policy_id, version_of=a)
    ceiling = _spec(policy, a.clause).amount_is == "ceiling"
    if amount_fen is None:
        if ceiling:
            raise ApplicationError(f"条款 {a.clause} 的金额为“不超过 {yuan(a.amount_fen or 0)} 元”，"
                                   "通过时须核定具体金额（不超过上限）。")
        return {}
    if not ceiling:
        raise ApplicationError(f"条款 {a.clause} 的金额由规则确定（{yuan(a.amount_fen or 0)} 元），审核不能改动；"
                               "只有“不超过”上限的条款（amount_is: ceiling）由审核核定金额。")
    most = a.amount_fen or 0
    if amount_fen <= 0 or amount_fen > most:
        raise ApplicationError(f"核定金额 {yuan(amount_fen)} 元不在 0 至上限 {yuan(most)} 元之间（不含 0）；"
                               "请在上限以内核定，不予支持时请选择不予通过。")
    if amount_fen < most and not reason.strip():
        raise ApplicationError(f"核定金额 {yuan(amount_fen)} 元低于上限 {yuan(most)} 元，须写明核定理由。")
    uow.conn.execute(sa.update(applications).where(applications.c.id == a.id).values(amount_fen=amount_fen))
    return {"amount_fen": amount_fen, "ceiling_fen": most}


# --- reading ------------------------------------------------------------------------------


def get_application(uow: UnitOfWork, application_id: int, *, actor: User) -> Application:
    """One application: for the firm itself, its department's reviewers, and oversight roles."""
    with uow:
        a = _load(uow, application_id)
    require_reader(actor, what=f"申报 {application_id} ", uscc=a.uscc, department=a.department)
    return a


def events_of(uow: UnitOfWork, application_id: int, *, actor: User) -> list[dict[str, Any]]:
    get_application(uow, application_id, actor=actor)
    with uow:
        restrict(uow, reader_scope(actor))          # PostgreSQL: the history is read in the reader's scope
        return [dict(r) for r in uow.conn.execute(
            sa.select(application_events).where(application_events.c.application_id == application_id)
            .order_by(application_events.c.id)).mappings()]


def responsible_department(uow: UnitOfWork, text: str) -> str:
    """The department code a clause's department wording names (e.g. “人力资源和社会保障局（就业服务）”
    → hrss)."""
    code = department_named(uow, text)
    if code is None:
        raise ApplicationError(f"找不到受理部门：条款的责任部门为“{text}”，部门表中没有名称包含于其中的部门；"
                               "请先用 zhida user dept-add 登记该部门。")
    return code


# --- inside -------------------------------------------------------------------------------


def _own_firm(actor: User) -> str:
    if Role.ENTERPRISE not in actor.roles or not actor.uscc or not actor.active:
        raise NotAllowed("只有企业账号可以申报，且只能为本企业申报。")
    require_enterprise(actor, actor.uscc)
    return actor.uscc


def _firm_may_edit(actor: User, a: Application) -> None:
    if _own_firm(actor) != a.uscc:
        raise NotAllowed(f"申报 {a.id} 属于企业 {a.uscc}，只有该企业的账号可以修改或提交。")
    if a.state not in EDITABLE:
        raise TransitionNotAllowed(f"申报 {a.id} 当前为“{a.state.label}”，不能再修改或提交。")


def _published(uow: UnitOfWork, policy_id: str, version_of: Application | None = None) -> tuple[int, Policy]:
    """The version an application is judged by: the one it started on, else the one in force."""
    if version_of is not None:
        row = uow.conn.execute(sa.select(policy_versions.c.id, policy_versions.c.document).where(
            policy_versions.c.id == sa.select(applications.c.version_id).where(
                applications.c.id == version_of.id).scalar_subquery())).one()
        return int(row.id), parse_policy(row.document, source=f"published:{policy_id}")
    for v in published_set(uow):
        if v.policy_id == policy_id:
            return v.id, parse_policy(v.document, source=f"published:{policy_id}")
    raise ApplicationError(f"政策 {policy_id} 不存在或未发布；请在政策库中选择。")


def _compiled(policy: Policy, schema: Schema, as_of: date) -> CompiledPolicies:
    return compile_policies([policy], schema, as_of)


def _spec(policy: Policy, key: str) -> ClauseSpec:
    for c in policy.clauses:
        if c.key == key:
            return c.spec
    raise ApplicationError(f"政策 {policy.id} 中没有条款 {key}；请核对条款键（政策编号/条款编号）。")


def _clause(policy: Policy, key: str, compiled: CompiledPolicies) -> CompiledClause:
    _spec(policy, key)
    return next(c for c in compiled.clauses if c.key == key)


def _evaluate(facts: ProfileFacts, policy: Policy, clause: str, uscc: str, as_of: date, declared: Mapping[str, str],
              compiled: CompiledPolicies | None = None) -> tuple[ClauseExplanation, ClauseExplanation]:
    """The clause for one firm on the profile alone, and with its declared facts filling gaps."""
    compiled = compiled or _compiled(policy, facts.schema, as_of)
    one = population_frame(facts.store, compiled.requirements, as_of, facts.schema, facts.zones_dir, usccs=[uscc])
    if one.is_empty():
        raise EnterpriseNotFound(f"画像库中没有统一社会信用代码为 {uscc} 的企业（{as_of}）；"
                                 "请联系数据局核对企业登记信息。")
    verified = _pick(explain_frame(compiled, one), clause)
    if not declared:
        return verified, verified
    doc, overrides, _ = answer_facts(facts.schema, as_of, declared)
    supplied = build_frame([doc], compiled.requirements, facts.schema, as_of)
    filled = one.with_columns([pl.coalesce(pl.col(col), pl.lit(supplied[col][0], dtype=one.schema[col])).alias(col)
                               for col in declared if col in one.columns and col in supplied.columns])
    filled = filled.with_columns([pl.lit(v, dtype=pl.Boolean()).alias(col) for col, v in overrides.items()
                                  if col in filled.columns])
    return verified, _pick(explain_frame(compiled, filled), clause)


def _pick(explained: list[ClauseExplanation], clause: str) -> ClauseExplanation:
    return next(e for e in explained if e.key == clause)


def _facts(facts: ProfileFacts, columns: list[str], verified: ClauseExplanation, a: Application) -> list[Fact]:
    """The form's lines: each column the clause reads, its value (declared where the profile has
    none) and its source."""
    seen = {f.column: f for atom in verified.atoms for f in atom.facts}
    sources = _sources(facts, a.uscc, a.as_of)
    out = []
    for column in columns:
        kind, _, _ = column.partition("@")
        if kind == "received":
            continue                                  # the ledger's own record, not a form line
        fact = seen.get(column)
        label = fact.label if fact else _label(facts, column)
        known = fact is not None and not fact.missing
        declarable = kind in facts.registry.fields and kind in facts.schema.fields
        if known:
            value = fact.value if fact else None
            out.append(Fact(column, label, value, sources.get(column) or _derived(facts, kind), False, declarable))
        elif column in a.declared:
            out.append(Fact(column, label, a.declared[column], SELF, True, declarable))
        else:
            out.append(Fact(column, label, None, _supplier(facts, kind, column), False, declarable))
    return out


def _sources(facts: ProfileFacts, uscc: str, as_of: date) -> dict[str, str]:
    """frame column → "部门（来源） 文件 导入日期" for the values the profile chose."""
    out: dict[str, str] = {}
    lineage = trace(facts.store, facts.registry, uscc, as_of)
    if not lineage.is_empty():
        for r in lineage.filter(pl.col("chosen")).iter_rows(named=True):
            column = r["field"] + (f"@{r['period']}" if r["period"] else "")
            out[column] = f"{r['source']}（{r['file']}，{str(r['loaded_at'])[:10]} 导入）"
    entries = list_entries(facts.store, facts.registry, uscc, as_of)
    if not entries.is_empty():
        for name in entries["list"].unique().to_list():
            info = facts.registry.list_or_tag(name)
            src = facts.registry.sources.get(info.source) if info and info.source else None
            where = f"{src.department}（{src.label}）" if src else "名单来源部门"
            out[f"list@{name}"] = out[f"tag@{name}"] = out[f"list_since@{name}"] = where
    return out


def _derived(facts: ProfileFacts, kind: str) -> str:
    f = facts.registry.fields.get(kind)
    if f is not None and f.source == "derived":
        return "画像计算（由其他来源数据推算）"
    return "画像"


def _supplier(facts: ProfileFacts, kind: str, column: str) -> str:
    f = facts.registry.fields.get(kind)
    src = facts.registry.sources.get(f.source) if f and f.source else None
    return f"画像中没有；来源为{src.department}（{src.label}）" if src else "画像中没有"


def _label(facts: ProfileFacts, column: str) -> str:
    kind, _, name = column.partition("@")
    f = facts.schema.fields.get(kind)
    return (f.label if f else kind) + (f"[{name}]" if name and f else f"“{name}”" if name else "")


def _mode_label(mode: str) -> str:
    return {"exempt": "免申即享", "report_only": "政策体检（不兑现）", **APPLY_MODES}.get(mode, mode)


def _move(uow: UnitOfWork, a: Application, action: ApplicationAction, actor: User, at: datetime,
          detail: dict[str, Any]) -> Application:
    target = next_application_state(a.state, action)
    changed = uow.conn.execute(sa.update(applications).where(
        (applications.c.id == a.id) & (applications.c.state == a.state.value))
        .values(state=target.value, updated_at=at)).rowcount
    if changed != 1:
        now = _load(uow, a.id).state
        raise TransitionNotAllowed(f"申报 {a.id} 已被他人同时处理（现为“{now.label}”）；请刷新后再操作。")
    _event(uow, a.id, actor, action.value, a.state, target, at, detail)
    return _load(uow, a.id)


def _grant(uow: UnitOfWork, a: Application, actor: User, at: datetime) -> Application:
    """The approved application's award: an offer already confirmed, ready for a payment batch."""
    taken = uow.conn.execute(sa.select(offers.c.id, offers.c.state).where(
        (offers.c.clause == a.clause) & (offers.c.uscc == a.uscc) & (offers.c.period == a.period))).first()
    if taken is not None:
        raise ApplicationError(f"企业 {a.uscc} 在 {a.period} 年度已有条款 {a.clause} 的兑现事项 {taken.id}"
                               f"（{OfferState(taken.state).label}），同一事项不重复兑现。")
    row = uow.conn.execute(sa.select(applications).where(applications.c.id == a.id)).mappings().one()
    offer_id = int(uow.conn.execute(sa.insert(offers).values(
        clause=a.clause, policy_id=a.policy_id, version_id=row["version_id"], run_id=None, uscc=a.uscc,
        period=a.period, amount_fen=row["amount_fen"], department=a.department, state=OfferState.CONFIRMED.value,
        account_name=row["account_name"], account_bank=row["account_bank"], account_no=row["account_no"],
        created_at=at, updated_at=at).returning(offers.c.id)).scalar_one())
    version = _version_hash(uow, a.id)
    detail = {"application": a.id, "account": a.account_no, "pledge": True}
    uow.conn.execute(sa.insert(offer_events).values(
        offer_id=offer_id, at=at, actor=actor.username, action="grant", from_state=None,
        to_state=OfferState.CONFIRMED.value, policy_version=version, detail=detail))
    audit_log.record(uow, kind="offer.grant", actor=actor.username, subject=f"offer:{offer_id}",
                     data={"from": None, "to": OfferState.CONFIRMED.value, "policy_version": version, **detail,
                           "uscc": a.uscc, "amount_fen": int(row["amount_fen"])}, clock=lambda: at)
    uow.conn.execute(sa.update(applications).where(applications.c.id == a.id).values(offer_id=offer_id))
    notify(uow, uscc=a.uscc, kind="application_approved", title="申报已通过",
           body=f"您的申报（{a.clause}）已通过，{yuan(row['amount_fen'] or 0)} 元已转入拨付，到账后另行通知。",
           offer_id=offer_id, application_id=a.id, clock=lambda: at)
    return _load(uow, a.id)


def _version_hash(uow: UnitOfWork, application_id: int) -> str:
    return str(uow.conn.execute(sa.select(policy_versions.c.content_hash).select_from(
        applications.join(policy_versions, applications.c.version_id == policy_versions.c.id))
        .where(applications.c.id == application_id)).scalar_one())


def _event(uow: UnitOfWork, application_id: int, actor: User, action: str, source: ApplicationState | None,
           target: ApplicationState, at: datetime, detail: dict[str, Any]) -> None:
    version = _version_hash(uow, application_id)
    uow.conn.execute(sa.insert(application_events).values(
        application_id=application_id, at=at, actor=actor.username, action=action,
        from_state=None if source is None else source.value, to_state=target.value, policy_version=version,
        detail=detail or None))
    audit_log.record(uow, kind=f"application.{action}", actor=actor.username, subject=f"application:{application_id}",
                     data={"from": None if source is None else source.value, "to": target.value,
                           "policy_version": version, **detail}, clock=lambda: at)


def _load(uow: UnitOfWork, application_id: int) -> Application:
    from zhida.workflow.offers import account_of

    r = uow.conn.execute(sa.select(applications).where(applications.c.id == application_id)).mappings().first()
    if r is None:
        raise ApplicationError(f"没有编号为 {application_id} 的申报；请在“我的申报”或审核队列中核对编号。")
    return Application(
        id=r["id"], clause=r["clause"], policy_id=r["policy_id"], uscc=r["uscc"], period=r["period"],
        department=r["department"], mode=r["mode"], state=ApplicationState(r["state"]), as_of=r["as_of"],
        declared=dict(r["declared"] or {}), amount_fen=r["amount_fen"], due_by=r["due_by"], offer_id=r["offer_id"],
        account_no=None if r["account_no"] is None else "****" + account_of(uow, r["account_no"])[-4:])


