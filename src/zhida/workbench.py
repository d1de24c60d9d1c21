"""The policy officer's workbench: edit a policy's YAML, see lint findings and case results at
once, see what changes against the published version, and publish.

    check = check_text(text, schema, actor=officer)              # nothing stored
    publish_text(uow, text, schema, actor=officer)               # lint errors or failing cases refuse

Checking is pure (the same lint and case runner as `zhida policy lint/test`); publishing goes
through zhida.published.publish, so a version published here is like any other.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from ruamel.yaml import YAML

from zhida.accounts import Permission, User, require
from zhida.db.uow import UnitOfWork
from zhida.errors import ZhidaError
from zhida.matching.sandbox import Simulation, simulate
from zhida.profiles.store import ProfileStore
from zhida.published import PolicyVersion, Publication, publish, published_set
from zhida.rules.check.cases import CaseResult, run_cases
from zhida.rules.check.lint import lint_policies
from zhida.rules.lang.errors import PolicyError, Problem
from zhida.rules.lang.schema import Schema
from zhida.rules.model.policy import Policy, load_policy_text, parse_policy


@dataclass
class Check:
    policy: Policy | None
    problems: list[Problem] = field(default_factory=list)
    cases: list[CaseResult] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)     # against the published version

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def failed(self) -> list[CaseResult]:
        return [c for c in self.cases if not c.ok]

    @property
    def publishable(self) -> bool:
        return self.policy is not None and not self.errors and not self.failed


def source_text(uow: UnitOfWork, policy_id: str, policies_dir: Path, *, actor: User) -> str:
    """The YAML to start editing from: the pack's file (with its comments) when it is the
    published version's source, else the published document written out."""
    require(actor, Permission.PUBLISH_POLICY)
    current = _published(uow, policy_id)
    source = Path(current.source_file) if current.source_file else None
    for candidate in [source, policies_dir / f"{policy_id}.yaml"]:
        if candidate is not None and candidate.is_file():
            return candidate.read_text(encoding="utf-8")
    out = io.StringIO()
    YAML().dump(current.document, out)
    return out.getvalue()


def check_text(uow: UnitOfWork, text: str, schema: Schema, *, actor: User) -> Check:
    require(actor, Permission.PUBLISH_POLICY)
    try:
        policy = load_policy_text(text, "编辑中的政策")
    except PolicyError as e:
        return Check(policy=None, problems=e.problems)
    check = Check(policy=policy, problems=lint_policies([policy], schema), cases=run_cases([policy], schema))
    try:
        current = _published(uow, policy.id)
    except ZhidaError:
        check.changes = ["新政策：尚未发布过"]
        return check
    check.changes = _changes(current, policy)
    return check


def publish_text(uow: UnitOfWork, text: str, schema: Schema, *, actor: User) -> Publication:
    check = check_text(uow, text, schema, actor=actor)
    if not check.publishable:
        raise ZhidaError(f"未发布：{len(check.errors)} 个校验错误，{len(check.failed)} 个用例未通过；请先修正。")
    assert check.policy is not None
    return publish(uow, [check.policy], actor=actor)


def sandbox_text(uow: UnitOfWork, text: str, store: ProfileStore, schema: Schema, as_of: date, *, actor: User,
                 zones_dir: Path | None = None) -> Simulation:
    """政策沙盘 of the text being edited: reach and cost against the budget, by district /
    industry / size, and who gains or loses against the version in force. Nothing is stored."""
    require(actor, Permission.PUBLISH_POLICY)
    try:
        draft = load_policy_text(text, "编辑中的政策")
    except PolicyError as e:
        raise ZhidaError("草稿有错误，无法试算：" + "；".join(str(x) for x in e.problems[:3])) from None
    try:
        current = parse_policy(_published(uow, draft.id).document, source=f"published:{draft.id}")
    except ZhidaError:
        current = None
    return simulate(store, schema, as_of, draft, current, zones_dir=zones_dir)


def _published(uow: UnitOfWork, policy_id: str) -> PolicyVersion:
    for v in published_set(uow):
        if v.policy_id == policy_id:
            return v
    raise ZhidaError(f"政策 {policy_id} 没有在用的发布版本。")


def _changes(current: PolicyVersion, edited: Policy) -> list[str]:
    """What the edit changes, clause by clause, in words an officer reads."""
    if current.content_hash == edited.content_hash:
        return []
    before = {c["id"]: c for c in current.document.get("clauses", [])}
    after = {c.spec.id: c.spec.model_dump(mode="json") for c in edited.clauses}
    out = [f"新增条款 {k}" for k in after if k not in before] + [f"删除条款 {k}" for k in before if k not in after]
    for k in after.keys() & before.keys():
        changed = [name for name in ("when", "amount", "cap", "mode", "title")
                   if after[k].get(name) != before[k].get(name)]
        if changed:
            out.append(f"条款 {k}：修改了 {'、'.join(changed)}")
    header = [name for name in ("title", "valid_from", "valid_to", "parameters", "budget")
              if edited.spec.model_dump(mode="json").get(name) != current.document.get(name)]
    if header:
        out.append(f"政策：修改了 {'、'.join(header)}")
    return out or ["仅说明文字或测试用例有变化"]
