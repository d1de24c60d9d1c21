"""Published policy versions: records, one in force per policy, and runs over the published set."""

import shutil
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest
import sqlalchemy as sa

from zhida.accounts import NotAllowed, Role, User
from zhida.db import tables as t
from zhida.matching.errors import EnterpriseNotFound, UnpublishedVersions
from zhida.matching.incremental import rematch_enterprises
from zhida.matching.results import pack_cache_dir
from zhida.matching.run import run_match, run_results
from zhida.packs.cache import load_or_compile
from zhida.profiles.datause import record_use
from zhida.published import PublishError, publish, published_pack, published_set, versions
from zhida.rules.model.policy import load_policies, load_policy_file

from .conftest import AS_OF, POLICIES

POLICY = "cn-mof-sat-2023-12-small-low-profit"
CLOCK = iter(datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=h) for h in range(1000))


OFFICER1 = User(id=1, username="officer1", display_name="政策科", roles=frozenset({Role.POLICY_OFFICER}))
OFFICER2 = User(id=2, username="officer2", display_name="政策科", roles=frozenset({Role.POLICY_OFFICER}))


def _publish(database, policies, actor=OFFICER1):
    return publish(database.uow(), policies, actor=actor, clock=lambda: next(CLOCK))


def _published_run(database, setup, store):
    documents, mapping = published_pack(database.uow())
    pack = load_or_compile(documents, setup.schema, AS_OF, pack_cache_dir(setup.data_dir))
    return run_match(database.uow(), setup, store, pack, AS_OF, published=mapping)


@pytest.fixture
def pack_dir(tmp_path):
    target = tmp_path / "policies"
    shutil.copytree(POLICIES, target)
    return target


def _stricter(path):
    """Edit the policy file: the relief needs at least 20 employees (some firms lose it)."""
    text = path.read_text(encoding="utf-8")
    edited = text.replace("when: |", "when: |\n      employees[last_year] >= 20 and", 1)
    assert edited != text
    path.write_text(edited, encoding="utf-8")


def test_the_same_bytes_twice_are_one_version_and_a_change_retires_the_old_one(database, pack_dir):
    first = _publish(database, load_policies([pack_dir]))
    assert len(first.published) == 11 and not first.unchanged
    again = _publish(database, load_policies([pack_dir]))
    assert not again.published and len(again.unchanged) == 11
    assert len(versions(database.uow())) == 11

    _stricter(pack_dir / f"{POLICY}.yaml")
    changed = _publish(database, [load_policy_file(pack_dir / f"{POLICY}.yaml")], actor=OFFICER2)
    [new], [old] = changed.published, changed.retired
    assert new.policy_id == old.policy_id == POLICY and new.content_hash != old.content_hash
    assert old.retired_by == "officer2" and old.retired_at is not None and new.in_force
    history = versions(database.uow(), POLICY)
    assert [v.content_hash for v in history] == [new.content_hash, old.content_hash]
    assert [v.policy_id for v in published_set(database.uow())].count(POLICY) == 1


def test_only_a_policy_officer_publishes(database, pack_dir):
    reviewer = User(id=3, username="rev", display_name="审核员", roles=frozenset({Role.REVIEWER}), department="hrss")
    with pytest.raises(NotAllowed, match="发布政策"):
        _publish(database, load_policies([pack_dir]), actor=reviewer)
    assert versions(database.uow()) == []


def test_publishing_nothing_or_one_policy_twice_is_refused(database, pack_dir):
    with pytest.raises(PublishError, match="没有可发布"):
        _publish(database, [])
    p = load_policy_file(pack_dir / f"{POLICY}.yaml")
    with pytest.raises(PublishError, match=POLICY):
        _publish(database, [p, p])
    assert versions(database.uow()) == []


def test_an_edited_file_changes_nothing_until_published_and_runs_name_their_versions(database, setup, store,
                                                                                       pack_dir):
    _publish(database, load_policies([pack_dir]))
    before = _published_run(database, setup, store)
    assert not before.drafts
    _stricter(pack_dir / f"{POLICY}.yaml")                            # edited, not published

    unchanged = _published_run(database, setup, store)
    assert unchanged.policies == before.policies and unchanged.results_sha256 == before.results_sha256

    _publish(database, [load_policy_file(pack_dir / f"{POLICY}.yaml")])
    after = _published_run(database, setup, store)
    assert dict(after.policies)[POLICY] != dict(before.policies)[POLICY]
    assert after.results_sha256 != before.results_sha256
    relief = f"{POLICY}/income-tax-relief"
    eligible = [run_results(r, setup.data_dir).filter((pl.col("clause") == relief) & (pl.col("status") == "eligible"))
                .height for r in (before, after)]
    assert eligible[1] < eligible[0]

    in_force = {v.content_hash: v.id for v in published_set(database.uow())}
    with database.uow() as uow:
        used = uow.conn.execute(sa.select(t.match_run_versions.c.version_id)
                                .where(t.match_run_versions.c.run_id == after.id)).scalars().all()
    assert sorted(used) == sorted(in_force[h] for _, h in after.policies)
    results = run_results(after, setup.data_dir)
    assert set(results.get_column("policy_version")) <= set(in_force)  # every result names its version


def test_a_run_of_drafts_says_so_and_an_unpublished_version_is_refused(database, setup, store, policies):
    drafts = run_match(database.uow(), setup, store, policies, AS_OF)
    assert drafts.drafts
    with database.uow() as uow:
        assert uow.conn.execute(sa.select(sa.func.count()).select_from(t.match_run_versions)).scalar_one() == 0
    _publish(database, policies[1:])
    _, mapping = published_pack(database.uow())
    with pytest.raises(UnpublishedVersions, match=policies[0].id):
        run_match(database.uow(), setup, store, policies, AS_OF, published=mapping)


def test_rematching_an_unknown_enterprise_is_refused_and_records_nothing(database, setup, store, policies):
    run = run_match(database.uow(), setup, store, policies, AS_OF)
    known = run_results(run, setup.data_dir).get_column("uscc")[0]
    with pytest.raises(EnterpriseNotFound, match="91330300MA00000000"):
        rematch_enterprises(database.uow(), setup, run, store, [known, "91330300MA00000000"])
    with database.uow() as uow:
        assert uow.conn.execute(sa.select(sa.func.count()).select_from(t.match_updates)).scalar_one() == 0
        assert uow.conn.execute(sa.select(sa.func.count()).select_from(t.match_events)).scalar_one() == 0


def _count(database, table):
    with database.uow() as uow:
        return uow.conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def test_a_run_records_one_population_wide_data_use(database, setup, store, policies):
    run = run_match(database.uow(), setup, store, policies, AS_OF, actor="tester")
    with database.uow() as uow:
        [use] = uow.conn.execute(sa.select(t.data_use)).mappings().all()
    assert use["scope"] == "population" and use["uscc"] is None and use["actor"] == "tester"
    assert use["enterprises"] == run.enterprises and use["as_of"] == AS_OF and use["fields"]
    assert use["legal_basis"] or use["consent_ref"]


def test_a_run_and_its_data_use_commit_together(database, setup, store, policies, monkeypatch):
    from zhida.matching import run as run_module

    def broken_use(*args, **kwargs):
        raise RuntimeError("the data-use write failed")

    monkeypatch.setattr(run_module, "record_use", broken_use)
    with pytest.raises(RuntimeError, match="data-use write failed"):
        run_match(database.uow(), setup, store, policies, AS_OF)
    assert _count(database, t.match_runs) == 0 and _count(database, t.match_run_versions) == 0

    def use_then_fail(uow, **kwargs):  # the use is written, then the run's transaction fails
        record_use(uow, **kwargs)
        raise RuntimeError("the run record failed after its data use")

    monkeypatch.setattr(run_module, "record_use", use_then_fail)
    with pytest.raises(RuntimeError, match="after its data use"):
        run_match(database.uow(), setup, store, policies, AS_OF)
    assert _count(database, t.data_use) == 0 and _count(database, t.match_runs) == 0
