"""Read a feed file (CSV, XLSX, Parquet) into a DataFrame of text columns.

Anything that prevents reading the file as a whole is a `FeedStructureError`: nothing of
such a file is loaded. Cells keep their text; typing happens in `parse`.
"""

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime
from pathlib import Path

import polars as pl

from zhida.profiles.errors import FeedStructureError
from zhida.profiles.mapping import SourceMapping

ROW_COLUMN = "_row"


def detect_format(path: Path, mapping: SourceMapping) -> str:
    if mapping.format:
        return mapping.format
    suffix = path.suffix.lower().lstrip(".")
    if suffix in ("csv", "txt"):
        return "csv"
    if suffix in ("xlsx", "xlsm"):
        return "xlsx"
    if suffix in ("parquet", "pq"):
        return "parquet"
    raise FeedStructureError(
        f"{path.name}：无法识别文件格式“.{suffix}”；支持 CSV、XLSX、Parquet，或在映射中写 format。")


def read_feed(path: Path, mapping: SourceMapping) -> pl.DataFrame:
    """All columns as String, plus `_row`: the row number a spreadsheet would show (header = 1)."""
    fmt = detect_format(path, mapping)
    try:
        if fmt == "csv":
            df, first = _read_csv(path, mapping.encoding), 2
        elif fmt == "xlsx":
            df, first = _read_xlsx(path, mapping.sheet), 2
        else:
            df, first = _as_text(pl.read_parquet(path)), 1
    except FeedStructureError:
        raise
    except (pl.exceptions.PolarsError, OSError, ValueError, KeyError, IndexError, zipfile.BadZipFile) as e:
        raise FeedStructureError(
            f"{path.name}：文件无法读取（{type(e).__name__}: {str(e)[:200]}）；"
            f"请确认是完整的 {fmt.upper()} 文件、编码为 {mapping.encoding}，整份文件未导入。"
        ) from e
    df = df.rename({c: c.strip() for c in df.columns if c != ROW_COLUMN})
    missing = [c for c in mapping.required_columns() if c not in df.columns]
    if missing:
        raise FeedStructureError(
            f"{path.name}：缺少必需的列 {'、'.join(missing)}（文件中的列：{'、'.join(df.columns[:30])}）；"
            "请按映射文件补齐列名，或修改映射。整份文件未导入。"
        )
    if ROW_COLUMN in df.columns:  # the reader knew the row numbers (XLSX skips blank rows)
        return df
    return df.with_row_index(ROW_COLUMN, offset=first).with_columns(pl.col(ROW_COLUMN).cast(pl.Int64))


def _read_csv(path: Path, encoding: str) -> pl.DataFrame:
    data = path.read_bytes()
    if encoding.lower().replace("-", "") not in ("utf8", "utf8sig"):
        try:
            data = data.decode(encoding).encode("utf-8")
        except (UnicodeDecodeError, LookupError) as e:
            raise FeedStructureError(
                f"{path.name}：不能按 {encoding} 解码（{e}）；请确认文件编码并在映射中写 encoding。"
                "整份文件未导入。") from e
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise FeedStructureError(
            f"{path.name}：不是 UTF-8 编码（第 {e.start} 字节）；若为 GBK 请在映射中写 encoding: gbk。"
            "整份文件未导入。") from e
    if not data.strip():
        raise FeedStructureError(f"{path.name}：文件为空；整份文件未导入。")
    return pl.read_csv(io.BytesIO(data), infer_schema=False)


def _read_xlsx(path: Path, sheet: str | int) -> pl.DataFrame:
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True, data_only=True)
    try:
        ws = wb[sheet] if isinstance(sheet, str) else wb.worksheets[sheet]
        rows = ws.iter_rows(values_only=True)
        header = next(rows, None)
        if header is None:
            raise FeedStructureError(f"{path.name}：工作表为空；整份文件未导入。")
        names = [str(h).strip() if h is not None else f"_blank{i}" for i, h in enumerate(header)]
        cols: list[list[str | None]] = [[] for _ in names]
        numbers: list[int] = []
        for number, row in enumerate(rows, start=2):
            if all(v is None or (isinstance(v, str) and not v.strip()) for v in row):
                continue  # blank rows that spreadsheets keep at the end are not records
            numbers.append(number)
            for i in range(len(names)):
                cols[i].append(_cell_text(row[i]) if i < len(row) else None)
    finally:
        wb.close()
    df = pl.DataFrame({n: pl.Series(n, c, dtype=pl.String) for n, c in zip(names, cols, strict=True)})
    return df.with_columns(pl.Series(ROW_COLUMN, numbers, dtype=pl.Int64))


def _cell_text(v: object) -> str | None:
    if v is None:
        return None
    if isinstance(v, datetime):
        return v.date().isoformat() if v.time() == datetime.min.time() else v.isoformat(sep=" ")
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _as_text(df: pl.DataFrame) -> pl.DataFrame:
    return df.with_columns(pl.all().cast(pl.String))
