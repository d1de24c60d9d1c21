"""Write a feed in its department's container: CSV (UTF-8 with BOM, or GBK), XLSX, Parquet."""

from __future__ import annotations

import contextlib
from datetime import date
from pathlib import Path

import polars as pl

GBK_FEEDS = {"tax"}
DATE_CELLS = {"credit": ("列入日期", "移出日期", "公示截止日期")}


def write_feed(path: Path, feed: str, df: pl.DataFrame) -> None:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        text = df.write_csv()
        if feed in GBK_FEEDS:
            path.write_bytes(text.encode("gbk"))
        else:
            path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    elif suffix == ".parquet":
        numeric = [c for c in ("lng", "lat") if c in df.columns]
        df.with_columns([pl.col(c).cast(pl.Float64) for c in numeric]).write_parquet(path)
    elif suffix == ".xlsx":
        _write_xlsx(path, df, DATE_CELLS.get(feed, ()))
    else:
        raise ValueError(f"unsupported feed container {suffix}")


def _write_xlsx(path: Path, df: pl.DataFrame, date_cols: tuple[str, ...]) -> None:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Sheet1")
    ws.append(df.columns)
    date_idx = {df.columns.index(c) for c in date_cols if c in df.columns}
    for row in df.cast(pl.String).iter_rows():
        cells: list[object] = list(row)
        for i in date_idx:
            v = cells[i]
            if isinstance(v, str) and v:
                with contextlib.suppress(ValueError):  # an impossible date stays text, as exported
                    cells[i] = date.fromisoformat(v)
        ws.append(cells)
    wb.save(path)
