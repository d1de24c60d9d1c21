"""Tables in and out as CSV (UTF-8 with BOM, so spreadsheet software shows Chinese) or XLSX.

Everything is text: amounts are formatted before writing and parsed exactly after reading, so
no spreadsheet float ever touches money.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

from zhida.errors import ZhidaError

FORMATS = (".csv", ".xlsx")


class SheetError(ZhidaError):
    """A file that cannot be written or read as a table."""


def check_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise SheetError(f"文件 {path.name} 的格式应为 .csv 或 .xlsx（按扩展名判断）；请改用其中一种扩展名。")
    return suffix


def write_table(path: Path, headers: Sequence[str], rows: Sequence[Sequence[str]], *, title: str = "Sheet1") -> Path:
    """Write a header row and text rows; the format follows the file's extension."""
    suffix = check_format(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    if suffix == ".csv":
        with tmp.open("w", encoding="utf-8-sig", newline="") as f:
            w = csv.writer(f)
            w.writerow(headers)
            w.writerows(rows)
    else:
        from openpyxl import Workbook

        wb = Workbook()
        ws = wb.active
        assert ws is not None
        ws.title = title[:31]
        ws.append(list(headers))
        for row in rows:
            ws.append(list(row))
        for cell in ws[1]:
            cell.number_format = "@"
        wb.save(tmp)
    tmp.replace(path)
    return path


def read_table(path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header and the data rows (with their 1-based row numbers in the file), as text;
    blank rows are skipped."""
    suffix = check_format(path)
    if not path.is_file():
        raise SheetError(f"找不到文件 {path}；请核对路径。")
    lines: list[tuple[int, list[str]]] = []
    if suffix == ".csv":
        try:
            with path.open(encoding="utf-8-sig", newline="") as f:
                for n, row in enumerate(csv.reader(f), start=1):
                    lines.append((n, [c.strip() for c in row]))
        except UnicodeDecodeError as e:
            raise SheetError(f"文件 {path.name} 不是 UTF-8 编码（{e.reason}）；请另存为 UTF-8 CSV 或 XLSX。") from e
        except csv.Error as e:
            raise SheetError(f"文件 {path.name} 不是合法的 CSV（{e}）；请核对引号与分隔符。") from e
    else:
        from openpyxl import load_workbook

        try:
            wb = load_workbook(path, read_only=True, data_only=True)
        except Exception as e:  # openpyxl raises many kinds for a broken file
            raise SheetError(f"文件 {path.name} 不是可读的 XLSX（{e}）；请用表格软件重新保存。") from e
        ws = wb.worksheets[0]
        for n, values in enumerate(ws.iter_rows(values_only=True), start=1):
            lines.append((n, [_cell(v) for v in values]))
        wb.close()
    lines = [(n, row) for n, row in lines if any(c for c in row)]
    if not lines:
        raise SheetError(f"文件 {path.name} 是空的；第一行应为表头。")
    (_, header), *data = lines
    return header, data


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()
