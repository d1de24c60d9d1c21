"""The data officer's view (zhida.profiles.dataoffice): every source's loads, freshness and
quality on a date; one source's quarantined rows, each defect the load reported, paged; only for
a user who may manage department data."""

from datetime import timedelta

import polars as pl
import pytest

from zhida.accounts import NotAllowed, Role, User
from zhida.profiles.dataoffice import UnknownSource, source_detail, sources_overview
from zhida.profiles.registry import load_registry
from zhida.profiles.store import Batch, ProfileStore
from zhida.profiles.validate import REJECT_SCHEMA

from .conftest import CITY_AS_OF

REG = load_registry()
OFFICER = User(id=1, username="data", display_name="数据局", roles=frozenset({Role.DATA_OFFICER}))
FIRM = User(id=2, username="firm1", display_name="企业", roles=frozenset({Role.ENTERPRISE}),
            uscc="91330300100058592B")
REVIEWER = User(id=3, username="reviewer", display_name="人社审核", roles=frozenset({Role.REVIEWER}),
                department="hrss")
LATER = CITY_AS_OF + timedelta(days=10)


def test_the_overview_lists_every_registered_source_with_its_latest_loads_and_figures(loaded_city, city):
    store, _ = loaded_city
    o = sources_overview(store, REG, LATER, actor=OFFICER)
    assert o.as_of == LATER
    assert [s.source.id for s in o.sources] == list(REG.sources)
    by_id = {s.source.id: s for s in o.sources}
    market, feed = by_id["market"], city.feeds["market"]
    assert market.source.department == "市场监督管理局"
    assert market.state == "正常" and market.quality.age_days == 10
    [load] = market.loads
    assert load.file_name == feed["file"] and load.counted and load.known_on == CITY_AS_OF
    assert load.rows_rejected == len(feed["defects"]) > 0
    assert load.rows_loaded == feed["rows"] - len(feed["defects"])
    assert market.reject_rate == round(100 * len(feed["defects"]) / feed["rows"], 2)
    assert market.mean_coverage is not None and 0 < market.mean_coverage <= 100
    assert {x.file_name for x in by_id["tax"].loads} == {city.feeds["tax"]["file"], city.feeds["tax-month"]["file"]}
    received = by_id["received"]                        # published by the ledger, never loaded here
    assert received.state == "未导入" and received.loads == () and received.reject_rate is None
    assert o.count("未导入") == 1 and o.count("过期") == 0
    assert o.rows_rejected == sum(b.rows_rejected for b in store.batches()) > 0
    assert [x.loaded_at for _, x in o.latest_loads] == sorted((x.loaded_at for _, x in o.latest_loads), reverse=True)


def test_a_source_older_than_its_freshness_days_is_stale(loaded_city):
    store, _ = loaded_city
    by_id = {s.source.id: s for s in sources_overview(store, REG, CITY_AS_OF + timedelta(days=36),
                                                      actor=OFFICER).sources}
    assert by_id["market"].state == "过期"             # 35 days for 市场监管
    assert by_id["tax"].state == "正常"                # 400 days for 税务


def test_a_load_extracted_after_the_date_is_listed_but_not_counted(loaded_city):
    store, _ = loaded_city
    market = next(s for s in sources_overview(store, REG, CITY_AS_OF - timedelta(days=1), actor=OFFICER).sources
                  if s.source.id == "market")
    assert market.state == "未导入" and market.quality.rows_total == 0
    assert [x.counted for x in market.loads] == [False]


def test_a_source_shows_every_quarantined_row_with_file_row_column_value_and_reason(loaded_city, city):
    store, _ = loaded_city
    d = source_detail(store, REG, "market", LATER, actor=OFFICER)
    feed = city.feeds["market"]
    assert d.status.source.label == "市场监管" and d.status.state == "正常"
    assert d.rows_quarantined == len(feed["defects"])
    assert d.quarantined_total == len(d.quarantined) >= len(feed["defects"])   # a row may have several defects
    assert {(q.row, q.column) for q in d.quarantined} >= {(x["row"], x["column"]) for x in feed["defects"]}
    assert all(q.file_name == feed["file"] and q.reason for q in d.quarantined)
    assert [q.row for q in d.quarantined] == sorted(q.row for q in d.quarantined)
    shown = {q.field: q.label for q in d.quarantined}
    assert all(label == REG.fields[fid].label for fid, label in shown.items() if fid in REG.fields)
    assert sum(n for _, n in d.reasons) == d.quarantined_total
    assert [n for _, n in d.reasons] == sorted((n for _, n in d.reasons), reverse=True)
    assert d.coverage and [pct for _, _, pct in d.coverage] == sorted(pct for _, _, pct in d.coverage)
    assert d.next_offset is None and d.previous_offset is None


def test_quarantined_rows_come_a_page_at_a_time(loaded_city):
    store, _ = loaded_city
    whole = source_detail(store, REG, "tax", LATER, actor=OFFICER)
    assert whole.quarantined_total > 3
    first = source_detail(store, REG, "tax", LATER, actor=OFFICER, limit=2)
    assert first.quarantined == whole.quarantined[:2] and first.quarantined_total == whole.quarantined_total
    assert first.next_offset == 2 and first.previous_offset is None
    second = source_detail(store, REG, "tax", LATER, actor=OFFICER, offset=2, limit=2)
    assert second.quarantined == whole.quarantined[2:4] and second.previous_offset == 0
    assert len({q.file_name for q in whole.quarantined}) == 2          # both 税务 feeds, newest load first
    capped = source_detail(store, REG, "tax", LATER, actor=OFFICER, limit=10_000)
    assert capped.limit == 200
    beyond = source_detail(store, REG, "tax", LATER, actor=OFFICER, offset=10_000, limit=2)
    assert beyond.quarantined == whole.quarantined[-1:] and beyond.next_offset is None


def test_a_quarantined_personal_value_is_masked(tmp_path):
    store = ProfileStore(tmp_path / "store")
    rejects = pl.DataFrame({"row": [2], "column": ["收款账号"], "field": ["bank_account"],
                            "value": ["6222020200112233445"], "reason": ["示例：不是有效的账号"]}, schema=REJECT_SCHEMA)
    facts = pl.DataFrame(schema={"uscc": pl.String, "period": pl.String, "_row": pl.Int64, "_record_id": pl.String})
    store.commit(Batch(id="b1", source="bank", file_name="账户.csv", file_sha256="0" * 64, mapping_digest="m",
                       loaded_at="2025-06-30T02:00:00+00:00", known_on=CITY_AS_OF.isoformat(), period="none",
                       fields=[], lists=[], rows_total=1, rows_loaded=0, rows_rejected=1, facts=0, list_entries=0,
                       warnings=0, rejects_by_reason={"示例：不是有效的账号": 1}),
                 {"facts": facts, "rejects": rejects, "warnings": rejects.clear()})
    [q] = source_detail(store, REG, "bank", CITY_AS_OF, actor=OFFICER).quarantined
    assert q.value == "6222 **** **** 3445" and q.label == "收款账号"
    assert q.file_name == "账户.csv"


def test_an_unknown_source_is_named_with_the_choices(loaded_city):
    store, _ = loaded_city
    with pytest.raises(UnknownSource, match=r"未在字段注册表中登记.*market"):
        source_detail(store, REG, "nope", LATER, actor=OFFICER)


@pytest.mark.parametrize("actor", [FIRM, REVIEWER], ids=["enterprise", "reviewer"])
def test_only_a_data_officer_may_read_the_sources(loaded_city, actor):
    store, _ = loaded_city
    with pytest.raises(NotAllowed, match="管理部门数据"):
        sources_overview(store, REG, LATER, actor=actor)
    with pytest.raises(NotAllowed, match="管理部门数据"):
        source_detail(store, REG, "market", LATER, actor=actor)
    with pytest.raises(NotAllowed):                     # refused before the source is even looked up
        source_detail(store, REG, "nope", LATER, actor=actor)
