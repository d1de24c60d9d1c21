"""Small hand-written department feeds for store tests: mapping files and a loader."""

from datetime import date
from pathlib import Path

from zhida.profiles.load import load_feed
from zhida.profiles.store import ProfileStore

MARKET = "source: market\nkey: 代码\nfields:\n  status: 状态\n  district_code: 区县\n  industry_code: 行业\n"
TAX = "source: tax\nkey: 代码\nperiod: year\nperiod_column: 年度\nfields:\n  employees: 人数\n  revenue: 营收\n"
STATS = ("source: stats\nkey: 代码\nperiod: year\nperiod_column: 年度\n"
         "fields:\n  employees: 从业人员\n  industry_code: 行业\n")


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def load(store: ProfileStore, tmp_path: Path, mapping: str, name: str, csv: str, known_on: date) -> None:
    """Load `csv` (the feed file's text, saved as `name`) with a mapping given as YAML text."""
    source = mapping.split("\n", 1)[0].removeprefix("source: ")
    load_feed(store, source, write(tmp_path, name, csv), mapping_path=write(tmp_path, f"{name}.yaml", mapping),
              known_on=known_on)
