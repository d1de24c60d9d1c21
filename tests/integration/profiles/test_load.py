"""Loading files: defects quarantined and reported, broken files load nothing, reloads change nothing."""

from datetime import date

import polars as pl
import pytest
from openpyxl import Workbook

from zhida.profiles.errors import FeedStructureError
from zhida.profiles.load import load_feed
from zhida.profiles.store import ProfileStore

GOOD = ["914403001922038216", "91440300708461136T", "91110108551385082Q"]
HEADER = "统一社会信用代码,纳税人名称,所属年度,营业收入,应纳税所得额,纳税信用等级,从业人数\n"
MAPPING = """
source: tax
key: 统一社会信用代码
period: year
period_column: 所属年度
encoding: {encoding}
fields:
  revenue: 营业收入
  taxable_income: 应纳税所得额
  tax_credit_level: 纳税信用等级
  employees: 从业人数
"""
KNOWN = date(2025, 6, 30)


def write_mapping(tmp_path, encoding="utf-8"):
    p = tmp_path / "tax.yaml"
    p.write_text(MAPPING.format(encoding=encoding), encoding="utf-8")
    return p


def tax_csv(tmp_path, lines, encoding="utf-8", name="tax.csv"):
    p = tmp_path / name
    p.write_bytes((HEADER + "".join(line + "\n" for line in lines)).encode(encoding))
    return p


DEFECTIVE = [
    f"{GOOD[0]},甲,2024,1000.00,10.00,A,10",        # 2 ok
    "914403001922038217,乙,2024,1000.00,10.00,A,10",  # 3 check digit
    f"{GOOD[1]},丙,2024,一千,10.00,A,10",            # 4 not a number
    f"{GOOD[1]},丙,2024,1000.00,10.00,E,10",         # 5 unknown code
    f"{GOOD[2]},丁,2024,1000.00,10.00,B,-3",         # 6 out of range
    f"{GOOD[2]},丁,2027,1000.00,10.00,B,3",          # 7 period after the extract date
    f"{GOOD[0]},甲,2024,2000.00,10.00,A,10",         # 8 duplicate key of row 2
    f"{GOOD[2]},丁,2023,500.00,-20.00,M,3",          # 9 ok (negative taxable income is legal)
]


def test_feed_with_five_kinds_of_defects_reports_each_and_loads_only_valid_rows(tmp_path):
    store = ProfileStore(tmp_path / "store")
    r = load_feed(store, "tax", tax_csv(tmp_path, DEFECTIVE), mapping_path=write_mapping(tmp_path),
                  known_on=KNOWN)
    assert sorted(set(r.rejects["row"].to_list())) == [3, 4, 5, 6, 7, 8]
    assert r.batch.rows_loaded == 2 and r.batch.rows_rejected == 6
    facts = store.facts(r.batch).collect().sort("_row")
    assert facts["_row"].to_list() == [2, 9]
    assert facts["revenue"].to_list() == [100000, 50000]
    assert facts["taxable_income"].to_list() == [1000, -2000]
    for row, word in [(3, "校验位"), (4, "数值"), (5, "代码表"), (6, "最小值"), (7, "晚于"), (8, "重复")]:
        assert word in r.rejects.filter(pl.col("row") == row)["reason"][0]
    assert sum(r.batch.rejects_by_reason.values()) == r.rejects.height


def test_loading_the_same_file_twice_changes_nothing(tmp_path):
    store = ProfileStore(tmp_path / "store")
    feed, mapping = tax_csv(tmp_path, DEFECTIVE), write_mapping(tmp_path)
    first = load_feed(store, "tax", feed, mapping_path=mapping, known_on=KNOWN)
    catalog = store.catalog_path.read_bytes()
    files = sorted(p.name for p in (tmp_path / "store").rglob("*"))
    second = load_feed(store, "tax", feed, mapping_path=mapping, known_on=date(2025, 7, 1))
    assert second.already_loaded and second.batch.id == first.batch.id and second.facts == 0
    assert store.catalog_path.read_bytes() == catalog
    assert sorted(p.name for p in (tmp_path / "store").rglob("*")) == files


@pytest.mark.parametrize("breakage", ["missing_column", "wrong_encoding", "ragged", "empty", "not_xlsx"])
def test_a_structurally_broken_file_loads_nothing(tmp_path, breakage):
    store = ProfileStore(tmp_path / "store")
    load_feed(store, "tax", tax_csv(tmp_path, DEFECTIVE[:1], name="ok.csv"),
              mapping_path=write_mapping(tmp_path), known_on=KNOWN)
    before = store.catalog_path.read_bytes()
    mapping = write_mapping(tmp_path)
    if breakage == "missing_column":
        path = tmp_path / "b.csv"
        path.write_text(HEADER.replace(",从业人数", "") + f"{GOOD[0]},甲,2024,1,1,A\n", encoding="utf-8")
    elif breakage == "wrong_encoding":
        path = tax_csv(tmp_path, DEFECTIVE, encoding="gbk", name="b.csv")  # mapping says utf-8
    elif breakage == "ragged":
        path = tax_csv(tmp_path, [*DEFECTIVE, f"{GOOD[0]},甲,2024,1,1,A,1,extra,columns"], name="b.csv")
    elif breakage == "empty":
        path = tmp_path / "b.csv"
        path.write_bytes(b"")
    else:
        path = tmp_path / "b.xlsx"
        path.write_bytes(b"PK\x03\x04 truncated zip")
    with pytest.raises(FeedStructureError) as e:
        load_feed(store, "tax", path, mapping_path=mapping, known_on=KNOWN)
    assert path.name in str(e.value)
    assert store.catalog_path.read_bytes() == before
    assert not (tmp_path / "store" / "staging").exists() or not any((tmp_path / "store" / "staging").iterdir())


def test_gbk_csv_xlsx_and_parquet_feeds_load_the_same_facts(tmp_path):
    rows = DEFECTIVE[:1] + DEFECTIVE[-1:]
    results = {}
    gbk = load_feed(ProfileStore(tmp_path / "s1"), "tax", tax_csv(tmp_path, rows, encoding="gbk"),
                    mapping_path=write_mapping(tmp_path, "gbk"), known_on=KNOWN)
    results["gbk"] = gbk
    df = pl.read_csv(tax_csv(tmp_path, rows, name="u.csv"), infer_schema=False)
    xlsx = tmp_path / "tax.xlsx"
    wb = Workbook()
    ws = wb.active
    ws.append(df.columns)
    for r in df.iter_rows():
        ws.append([float(v) if i in (3, 4) else (int(v) if i in (2, 6) else v) for i, v in enumerate(r)])
    wb.save(xlsx)
    results["xlsx"] = load_feed(ProfileStore(tmp_path / "s2"), "tax", xlsx,
                                mapping_path=write_mapping(tmp_path), known_on=KNOWN)
    pq = tmp_path / "tax.parquet"
    df.with_columns(pl.col("营业收入").cast(pl.Float64), pl.col("从业人数").cast(pl.Int64)).write_parquet(pq)
    results["parquet"] = load_feed(ProfileStore(tmp_path / "s3"), "tax", pq,
                                   mapping_path=write_mapping(tmp_path), known_on=KNOWN)
    stores = {"gbk": "s1", "xlsx": "s2", "parquet": "s3"}
    for name, r in results.items():
        assert r.rejects.is_empty(), (name, r.rejects)
        facts = ProfileStore(tmp_path / stores[name]).facts(r.batch).collect().sort("uscc")
        assert facts["uscc"].to_list() == [GOOD[2], GOOD[0]], name
        assert facts["revenue"].to_list() == [50000, 100000], name
        assert facts["employees"].to_list() == [3, 10], name


def test_xlsx_row_numbers_are_the_spreadsheet_rows_even_after_blank_rows(tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.append(["统一社会信用代码", "纳税人名称", "所属年度", "营业收入", "应纳税所得额", "纳税信用等级", "从业人数"])
    ws.append([GOOD[0], "甲", 2024, 1000, 10, "A", 10])           # row 2
    ws.append([None] * 7)                                          # row 3: blank, not a record
    ws.append([GOOD[1], "乙", 2024, 1000, 10, "E", 10])           # row 4: unknown code
    ws.append([None, None, None, None, None, None, None])         # trailing blank rows
    path = tmp_path / "tax.xlsx"
    wb.save(path)
    r = load_feed(ProfileStore(tmp_path / "s"), "tax", path, mapping_path=write_mapping(tmp_path), known_on=KNOWN)
    assert r.batch.rows_total == 2 and r.batch.rows_loaded == 1
    assert r.rejects["row"].to_list() == [4]
