"""A firm's match report as the pages serve it: computed once per run and kept (zhida.reportstore),
each view recorded as a data use, and made ahead of the first view for firms with accounts.

    firm_report(uow, schema, zones_dir, uscc, actor=…, purpose=…, reports=…, uses=…)
    warm_reports(wired.uow, schema, zones_dir, reports, actor=SYSTEM)   # what zhida.web.warm runs

Decision 0022 says why, and what a view's data use guarantees.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache, partial
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from zhida.accounts import User, require_enterprise
from zhida.db.tables import policy_versions, users
from zhida.db.uow import UnitOfWork
from zhida.errors import ZhidaError
from zhida.matching.errors import EnterpriseNotFound
from zhida.matching.report import EnterpriseReport, ReportCache, enterprise_report
from zhida.matching.run import DATA_USE_BASIS, MatchRun, load_run
from zhida.profiles.datause import record_use
from zhida.profiles.datause_writer import DataUseWriter
from zhida.profiles.registry import load_registry
from zhida.profiles.store import ProfileStore
from zhida.published import published_set
from zhida.reportstore import ReportStore, code_version, report_key
from zhida.rules.lang.schema import Schema
from zhida.rules.model.policy import Policy, parse_policy

_PARSED: dict[str, Policy] = {}   # content hash → parsed policy: a published version never changes


def published_policies(uow: UnitOfWork) -> list[Policy]:
    """The published versions, parsed: their documents are read only when a version is new
    (every request asks; most of them find the same versions)."""
    t = policy_versions
    with uow:
        current = uow.conn.execute(sa.select(t.c.policy_id, t.c.content_hash).where(t.c.retired_at.is_(None))
                                   .order_by(t.c.policy_id)).all()
    if all(h in _PARSED for _, h in current):
        return [_PARSED[h] for _, h in current]
    out = []
    for v in published_set(uow):
        if v.content_hash not in _PARSED:
            _PARSED[v.content_hash] = parse_policy(v.document, source=f"published:{v.policy_id}")
        out.append(_PARSED[v.content_hash])
    return out


REPORT_PURPOSE = "企业查看本企业匹配报告"
WARM_PURPOSE = "匹配批次完成后预先生成企业匹配报告"
_MEMORY = ReportStore()     # when the caller keeps no store of its own (the assistant, tests)
_CODE = [code_version()]    # the version of the code that computes reports, part of their key


def code() -> str:
    return _CODE[0]


def use_code(version: str) -> None:
    """Key reports by another process's code version (a worker computing for the server)."""
    _CODE[0] = version


def _batches(store: ProfileStore, as_of: date) -> list[str]:
    """The ids of the batches visible on `as_of` (the catalog re-read only when it changed)."""
    try:
        st = store.catalog_path.stat()
        seen = (str(store.catalog_path), st.st_ino, st.st_size, st.st_mtime_ns, as_of)
    except OSError:
        seen = None
    if seen is not None and seen in _CATALOGS:
        return _CATALOGS[seen]
    ids = [b.id for b in store.batches(known_by=as_of)]
    if seen is not None:
        _CATALOGS.clear()
        _CATALOGS[seen] = ids
    return ids


_CATALOGS: dict[tuple[object, ...], list[str]] = {}


@dataclass(frozen=True)
class _Inputs:
    """What every firm's report on the latest run reads besides the firm."""

    run: MatchRun
    store: ProfileStore
    policies: list[Policy]

    def key(self, uscc: str, zones_dir: Path | None) -> str:
        code = _CODE[0] + ("" if zones_dir is None else "+" + _zones_version(zones_dir))
        return report_key(code=code, run=self.run.id, as_of=self.run.as_of.isoformat(),
                          policies=[p.content_hash for p in self.policies],
                          batches=_batches(self.store, self.run.as_of), store=str(self.store.root), uscc=uscc)


@lru_cache(maxsize=8)
def _zones_version(zones_dir: Path) -> str:
    return code_version(zones_dir, (".",))


def _inputs(uow: UnitOfWork) -> _Inputs:
    run = load_run(uow)
    return _Inputs(run, ProfileStore(Path(run.snapshot.root)), published_policies(uow))


def prepare(uow: UnitOfWork) -> None:
    """Load what every report view needs once per process (the published policies, parsed; the
    registry), so that the first views after a start do not each wait for it."""
    load_registry()
    with contextlib.suppress(ZhidaError):
        published_policies(uow)


def firm_report(uow: UnitOfWork, schema: Schema, zones_dir: Path | None, uscc: str, *, actor: User, purpose: str,
                reports: ReportStore | None = None, uses: DataUseWriter | None = None,
                inputs: _Inputs | None = None) -> tuple[EnterpriseReport, bool]:
    """A firm's report on the latest run, from `reports` when it was computed for the same
    inputs, else computed and kept there; True when this call computed it. Either way the read
    is a data use by `actor`, committed before this returns: recorded with the computation, or
    through `uses` (group commit; None: its own transaction)."""
    reports = reports or _MEMORY
    require_enterprise(actor, uscc)
    i = inputs or _inputs(uow)
    run, store, policies, key = i.run, i.store, i.policies, i.key(uscc, zones_dir)

    def compute() -> tuple[EnterpriseReport, list[str]]:
        kept = _Kept()
        enterprise_report(uow, store, policies, schema, run.as_of, uscc, actor=actor, purpose=purpose,
                          zones_dir=zones_dir, cache=kept)
        assert kept.value is not None
        return kept.value

    (report, fields), computed = reports.get_or_compute(run.id, key, compute)
    if not computed:     # a report already made: this view is a use of its data all the same
        record = uses.record if uses is not None else partial(record_use, uow)
        record(uscc=uscc, fields=fields, purpose=purpose, actor=actor.username, legal_basis=DATA_USE_BASIS,
               used_at=datetime.now(UTC), as_of=run.as_of)
    return report, computed


class _Kept(ReportCache):
    """Catches what `enterprise_report` computed (report and fields) without keeping it."""

    def __init__(self) -> None:
        super().__init__(size=1)
        self.value: tuple[EnterpriseReport, list[str]] | None = None

    def get(self, key: Any) -> None:
        return None

    def put(self, key: Any, value: tuple[EnterpriseReport, list[str]]) -> None:
        self.value = value


def warm_reports(uow: Callable[[], UnitOfWork], schema: Schema, zones_dir: Path | None, reports: ReportStore, *,
                 actor: User, stop: Callable[[], bool] = lambda: False) -> int:
    """Compute and keep the latest run's report of every firm with an active enterprise
    account that has none yet (each computation a data use by `actor`); the number computed.
    Stops early when `stop()` says so."""
    with uow() as u:
        firms = u.conn.execute(sa.select(users.c.uscc).distinct().where(users.c.uscc.is_not(None)
                                                                        & users.c.active).order_by(users.c.uscc)
                               ).scalars().all()
    inputs = _inputs(uow())
    made = 0
    for uscc in firms:
        if stop():
            break
        if reports.has(inputs.run.id, inputs.key(uscc, zones_dir)):
            continue
        try:
            made += firm_report(uow(), schema, zones_dir, uscc, actor=actor, purpose=WARM_PURPOSE, reports=reports,
                                inputs=inputs)[1]
        except EnterpriseNotFound:
            continue      # an account for a firm the run does not know
    return made


