"""The compiled-pack cache: a pack read back from disk behaves exactly like a fresh compile.

The cache lives in pytest's tmp_path; everything else (packs, populations) is built in memory.
"""

from __future__ import annotations

import gc
import pickle
import random
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from ruamel.yaml import YAML

from zhida import catalog
from zhida.packs.cache import SUFFIX, PackCache, load_or_compile, load_or_compile_files
from zhida.policygen import generate_pack
from zhida.rules.check.cases import cases_of
from zhida.rules.evaluate.engine import CompiledPolicies, compile_policies
from zhida.rules.explanation.explain import explain_frame
from zhida.rules.lang import frame
from zhida.rules.lang.errors import PolicyError
from zhida.rules.lang.schema import Field, Schema
from zhida.rules.model.facts import build_frame
from zhida.rules.model.policy import load_policies, parse_policy, policy_files

POLICIES = Path(__file__).resolve().parents[3] / "policies"
AS_OF = date(2024, 6, 30)
SCHEMA = catalog.load_schema()


def real_docs() -> tuple[list[dict[str, Any]], list[str]]:
    """The documents of policies/ as plain dicts, as a loader hands them over."""
    files = policy_files([POLICIES])
    yaml = YAML(typ="safe")
    return [yaml.load(f.read_text(encoding="utf-8")) for f in files], [str(f) for f in files]


REAL_DOCS, REAL_SOURCES = real_docs()
GENERATED = list(generate_pack(120, seed=11))


def case_population(compiled: CompiledPolicies) -> pl.DataFrame:
    """Every fact document of the real pack's cases, one enterprise each."""
    docs = [dict(case.doc, uscc=f"case-{i}") for i, case in
            enumerate(c for p in compiled.policies for c in cases_of(p))]
    return build_frame(docs, compiled.requirements, SCHEMA, AS_OF)


def random_population(compiled: CompiledPolicies, schema: Schema, rows: int, seed: int) -> pl.DataFrame:
    """Random values of the right encoding in every column the pack reads, ~15% missing.
    One enterprise has money far beyond the assumed bounds (amounts are recompiled wider)."""
    rng = random.Random(seed)
    empty = build_frame([], compiled.requirements, schema, AS_OF)
    columns: dict[str, pl.Series] = {frame.ID_COLUMN: pl.Series([f"e{i}" for i in range(rows)])}
    for name, dtype in empty.schema.items():
        if name == frame.ID_COLUMN:
            continue
        field = schema.fields.get(name.split("@")[0])
        codes = list(field.codes) if field is not None and field.codes else ["330302", "330303", "C", "I", "M"]
        values: list[Any] = []
        for i in range(rows):
            if rng.random() < 0.15:
                values.append(None)
            elif dtype == pl.Int64:
                values.append(10**17 if i == 0 and field is not None and field.type == "money"
                              else rng.randrange(0, 10 ** rng.randrange(1, 11)))
            elif dtype == pl.Boolean:
                values.append(rng.random() < 0.5)
            elif dtype == pl.Date:
                values.append(date(2000, 1, 1) + timedelta(days=rng.randrange(9000)))
            else:
                values.append(rng.choice(codes))
        columns[name] = pl.Series(name, values, dtype=pl.String if dtype == pl.Categorical else dtype)
    return pl.DataFrame(columns)


def fresh(docs: list[dict[str, Any]], schema: Schema = SCHEMA, as_of: date = AS_OF,
          sources: list[str] | None = None) -> CompiledPolicies:
    return compile_policies([parse_policy(d, s) for d, s in zip(docs, sources or ["<policy>"] * len(docs),
                                                                 strict=True)], schema, as_of)


def entries(cache_dir: Path) -> list[Path]:
    return sorted(cache_dir.glob(f"*{SUFFIX}"))


def assert_same_pack(cached: CompiledPolicies, compiled: CompiledPolicies, df: pl.DataFrame,
                     explain_rows: int = 0, diagnose_rows: int = 60) -> None:
    assert cached.keys == compiled.keys
    assert cached.policies == compiled.policies
    assert [p.content_hash for p in cached.policies] == [p.content_hash for p in compiled.policies]
    assert [p.id for p in cached.skipped] == [p.id for p in compiled.skipped]
    assert cached.requirements == compiled.requirements
    want = compiled.evaluate(df)
    assert want.height > 0
    assert cached.evaluate(df).equals(want)
    if diagnose_rows:  # the missing facts of unknown pairs: slow to compute, so on a few rows
        few = df.head(diagnose_rows)
        assert cached.evaluate(few, diagnose=True).equals(compiled.evaluate(few, diagnose=True))
    for i in range(explain_rows):
        assert ([e.to_dict() for e in explain_frame(cached, df, i)]
                == [e.to_dict() for e in explain_frame(compiled, df, i)])


def test_cached_real_pack_evaluates_and_explains_like_a_fresh_compile(tmp_path):
    compiled = fresh(REAL_DOCS, sources=REAL_SOURCES)
    first = PackCache(tmp_path)
    first.load_or_compile(REAL_DOCS, SCHEMA, AS_OF, sources=REAL_SOURCES)
    again = PackCache(tmp_path)
    cached = again.load_or_compile(REAL_DOCS, SCHEMA, AS_OF, sources=REAL_SOURCES)
    assert (first.misses, again.hits) == (1, 1)
    assert [p.source for p in cached.policies] == REAL_SOURCES
    df = case_population(compiled)
    assert_same_pack(cached, compiled, df, explain_rows=df.height)


def test_cached_generated_pack_evaluates_like_a_fresh_compile(tmp_path):
    compiled = fresh(GENERATED)
    load_or_compile(GENERATED, SCHEMA, AS_OF, tmp_path)
    cache = PackCache(tmp_path)
    cached = cache.load_or_compile(GENERATED, SCHEMA, AS_OF)
    assert cache.hits == 1
    df = random_population(compiled, SCHEMA, 1000, seed=5)
    assert_same_pack(cached, compiled, df, explain_rows=10, diagnose_rows=0)
    # the data exceed the assumed bounds, so cached clauses recompiled their amounts too
    assert any(len(c._raw_cache) > 1 for c in cached.clauses)


def test_parsed_policies_hit_the_entry_their_documents_wrote(tmp_path):
    policies = [parse_policy(d, s) for d, s in zip(REAL_DOCS, REAL_SOURCES, strict=True)]
    load_or_compile(REAL_DOCS, SCHEMA, AS_OF, tmp_path)
    cache = PackCache(tmp_path)
    cached = cache.load_or_compile(policies, SCHEMA, AS_OF)
    assert cache.hits == 1
    assert all(a is b for a, b in zip(cached.policies, policies, strict=True))
    compiled = compile_policies(policies, SCHEMA, AS_OF)
    assert_same_pack(cached, compiled, case_population(compiled))


def changed_clause(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    doc = dict(docs[0])
    first = dict(doc["clauses"][0])
    first["amount"] = f"({first['amount']}) * 2"
    doc["clauses"] = [first, *doc["clauses"][1:]]
    return [doc, *docs[1:]]


def test_a_changed_policy_schema_or_date_misses_the_cache(tmp_path):
    cache = PackCache(tmp_path)
    cache.load_or_compile(GENERATED, SCHEMA, AS_OF)
    wider = Schema.build([*SCHEMA.fields.values(), Field("extra_flag", "额外标志", "bool")], SCHEMA.lists.values(),
                         SCHEMA.tags, SCHEMA.zones, SCHEMA.region_field)
    changed = changed_clause(GENERATED)
    cache.load_or_compile(changed, SCHEMA, AS_OF)
    cache.load_or_compile(GENERATED, wider, AS_OF)
    cache.load_or_compile(GENERATED, SCHEMA, AS_OF + timedelta(days=1))
    assert (cache.hits, cache.misses) == (0, 4)
    assert len(entries(tmp_path)) == 4
    got = cache.load_or_compile(changed, SCHEMA, AS_OF)
    assert cache.hits == 1
    df = random_population(got, SCHEMA, 500, seed=2)
    assert got.evaluate(df).equals(fresh(changed).evaluate(df))


def test_policy_order_is_part_of_the_key(tmp_path):
    cache = PackCache(tmp_path)
    cache.load_or_compile(REAL_DOCS, SCHEMA, AS_OF)
    reordered = cache.load_or_compile(REAL_DOCS[::-1], SCHEMA, AS_OF)
    assert (cache.hits, cache.misses) == (0, 2)
    assert reordered.keys == fresh(REAL_DOCS[::-1]).keys


def damage_truncate(data: bytes) -> bytes:
    return data[: len(data) // 2]


def damage_flip_a_byte(data: bytes) -> bytes:
    i = len(data) - 1000
    return data[:i] + bytes([data[i] ^ 0xFF]) + data[i + 1:]


def damage_empty(data: bytes) -> bytes:
    return b""


def damage_foreign_payload(data: bytes) -> bytes:
    """A well-formed entry (right header and checksum) holding something else."""
    import hashlib

    head = data[: len(b"zhida-pack\n") + 64]
    payload = pickle.dumps({"not": "a pack"})
    return head + hashlib.sha256(payload).hexdigest().encode() + payload


@pytest.mark.parametrize("damage", [damage_truncate, damage_flip_a_byte, damage_empty, damage_foreign_payload])
def test_a_damaged_entry_is_recompiled_and_rewritten(tmp_path, damage):
    load_or_compile(REAL_DOCS, SCHEMA, AS_OF, tmp_path)
    [entry] = entries(tmp_path)
    entry.write_bytes(damage(entry.read_bytes()))
    cache = PackCache(tmp_path)
    got = cache.load_or_compile(REAL_DOCS, SCHEMA, AS_OF)
    assert (cache.hits, cache.misses) == (0, 1)
    compiled = fresh(REAL_DOCS)
    assert_same_pack(got, compiled, case_population(compiled))
    cache.load_or_compile(REAL_DOCS, SCHEMA, AS_OF)
    assert cache.hits == 1  # the entry was rewritten whole
    assert entries(tmp_path) == [entry]


def test_only_the_most_recently_used_entries_are_kept(tmp_path):
    cache = PackCache(tmp_path, keep=2)
    days = [AS_OF + timedelta(days=d) for d in range(3)]
    cache.load_or_compile(REAL_DOCS, SCHEMA, days[0])
    cache.load_or_compile(REAL_DOCS, SCHEMA, days[1])
    cache.load_or_compile(REAL_DOCS, SCHEMA, days[0])  # a hit: day 0 is now the most recently used
    cache.load_or_compile(REAL_DOCS, SCHEMA, days[2])  # day 1 is pruned
    assert len(entries(tmp_path)) == 2
    cache.load_or_compile(REAL_DOCS, SCHEMA, days[0])
    cache.load_or_compile(REAL_DOCS, SCHEMA, days[1])
    assert (cache.hits, cache.misses) == (2, 4)


def test_without_a_cache_directory_every_call_compiles(tmp_path):
    got = load_or_compile(REAL_DOCS, SCHEMA, AS_OF, None)
    compiled = fresh(REAL_DOCS)
    assert_same_pack(got, compiled, case_population(compiled))
    assert list(tmp_path.iterdir()) == []


def test_invalid_documents_report_every_problem_and_write_nothing(tmp_path):
    bad_field = changed_clause(REAL_DOCS)[0] | {"region": "浙江"}
    bad_expr = dict(REAL_DOCS[1])
    bad_expr["clauses"] = [dict(bad_expr["clauses"][0], when="employees >= ")]
    with pytest.raises(PolicyError) as raised:
        load_or_compile([bad_field, bad_expr, *REAL_DOCS[2:]], SCHEMA, AS_OF, tmp_path, sources=[
            "a.yaml", "b.yaml", *REAL_SOURCES[2:]])
    assert {p.file for p in raised.value.problems} == {"a.yaml", "b.yaml"}
    assert entries(tmp_path) == []


def test_an_unwritable_cache_only_costs_time(tmp_path):
    blocker = tmp_path / "cache"
    blocker.write_text("a file where the directory should be")
    got = load_or_compile(REAL_DOCS, SCHEMA, AS_OF, blocker)
    assert got.keys == fresh(REAL_DOCS).keys


def test_a_frozen_load_is_the_same_pack_and_hidden_from_the_collector(tmp_path):
    load_or_compile(REAL_DOCS, SCHEMA, AS_OF, tmp_path)
    try:
        cached = PackCache(tmp_path, freeze=True).load_or_compile(REAL_DOCS, SCHEMA, AS_OF)
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
    compiled = fresh(REAL_DOCS)
    assert_same_pack(cached, compiled, case_population(compiled))


def test_a_load_leaves_objects_the_process_froze_frozen(tmp_path):
    load_or_compile(REAL_DOCS, SCHEMA, AS_OF, tmp_path)
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        cache = PackCache(tmp_path)
        cache.load_or_compile(REAL_DOCS, SCHEMA, AS_OF)
        assert cache.hits == 1
        # neither unfrozen (the count would drop to 0) nor frozen again (the load's own objects would
        # add thousands); other threads of the test process (a Spark session's, a server's) may free
        # a few frozen objects meanwhile, which only lowers the count by those
        assert frozen * 0.99 <= gc.get_freeze_count() <= frozen
        assert gc.isenabled()
    finally:
        gc.unfreeze()


def copy_of_real_pack(directory: Path) -> Path:
    directory.mkdir()
    for f in policy_files([POLICIES]):
        (directory / f.name).write_bytes(f.read_bytes())
    return directory


def test_policy_files_hit_by_their_bytes_with_sources_and_line_numbers(tmp_path):
    pack = copy_of_real_pack(tmp_path / "policies")
    compiled = compile_policies(load_policies([pack]), SCHEMA, AS_OF)
    load_or_compile_files([pack], SCHEMA, AS_OF, tmp_path / "cache")
    cache = PackCache(tmp_path / "cache")
    cached = cache.load_or_compile_files([pack], SCHEMA, AS_OF)
    assert cache.hits == 1
    assert [p.source for p in cached.policies] == [p.source for p in compiled.policies]
    assert [dict(p.lines) for p in cached.policies] == [dict(p.lines) for p in compiled.policies]
    assert cached.policies[0].line("clauses", 0, "when") == compiled.policies[0].line("clauses", 0, "when")
    assert_same_pack(cached, compiled, case_population(compiled), explain_rows=20)


def test_an_edited_policy_file_misses_and_an_invalid_one_reports_its_problems(tmp_path):
    pack = copy_of_real_pack(tmp_path / "policies")
    cache = PackCache(tmp_path / "cache")
    cache.load_or_compile_files([pack], SCHEMA, AS_OF)
    first = sorted(pack.iterdir())[0]
    text = first.read_text(encoding="utf-8")
    first.write_text(text.replace("title:", "title: 修订版", 1), encoding="utf-8")
    edited = cache.load_or_compile_files([pack], SCHEMA, AS_OF)
    assert (cache.hits, cache.misses) == (0, 2)
    assert edited.policies[0].spec.title.startswith("修订版")
    assert edited.policies[0].content_hash != compile_policies(
        load_policies([POLICIES]), SCHEMA, AS_OF).policies[0].content_hash
    first.write_text(text.replace("valid_from:", "valid_from: 不是日期 #", 1), encoding="utf-8")
    with pytest.raises(PolicyError) as raised:
        cache.load_or_compile_files([pack], SCHEMA, AS_OF)
    assert [p.file for p in raised.value.problems] == [str(first)]
    assert len(entries(tmp_path / "cache")) == 2
