"""GB/T 4754-2017 industry codes: 门类, 三次产业, and the 划型 row, as vectorised expressions."""

from __future__ import annotations

from functools import lru_cache

import polars as pl

from zhida.profiles.registry import load_table

INDUSTRY_CODE_PATTERN = r"^\d{4}$"


@lru_cache(maxsize=1)
def _table() -> dict:
    return load_table("industry")


@lru_cache(maxsize=1)
def division_sections() -> dict[str, str]:
    """Every 2-digit 大类 (01-97) -> its 门类 letter."""
    out: dict[str, str] = {}
    for letter, (lo, hi) in _table()["sections"].items():
        for d in range(int(lo), int(hi) + 1):
            out[f"{d:02d}"] = letter
    return out


def is_known_code(code: pl.Expr) -> pl.Expr:
    """4 digits whose 大类 exists (the full 小类 list is not shipped; see docs/profiles.md)."""
    return code.str.contains(INDUSTRY_CODE_PATTERN) & code.str.slice(0, 2).is_in(
        list(division_sections())
    )


def section(code: pl.Expr) -> pl.Expr:
    return code.str.slice(0, 2).replace_strict(division_sections(), default=None, return_dtype=pl.String)


def is_industrial(code: pl.Expr) -> pl.Expr:
    """工业 = 门类 B, C, D."""
    sec = section(code)
    return pl.when(sec.is_null()).then(None).otherwise(sec.is_in(["B", "C", "D"]))


def is_service(code: pl.Expr) -> pl.Expr:
    """第三产业 per 国统设管函〔2018〕74号: outside 第一/第二产业, including A05, B11, C43."""
    t = _table()
    sec = section(code)
    div = code.str.slice(0, 2)
    non_tertiary = sec.is_in(t["primary_sections"] + t["secondary_sections"]) & ~div.is_in(
        t["tertiary_divisions"]
    )
    return pl.when(sec.is_null()).then(None).otherwise(~non_tertiary)
