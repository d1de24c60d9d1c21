"""Fact documents (test cases, `zhida policy eval --facts`) → a population frame.

A fact document:

    {"uscc": "...",                                  # optional
     "facts": {"employees": 12, "revenue": {"2023": "3000万"}, "established": "2019-05-01"},
     "lists": {"专精特新小巨人": [{"from": "2023-07-01"}], "严重违法失信名单": []},
     "tags": ["僵尸企业"], "zones": ["封控区"],
     "received": {"wenzhou-2023-8-specialized/little-giant": [{"paid_on": "2023-08-15", "amount": "100万"}]}}

Money is written in yuan (units allowed), percentages as "5.5%" or 0.055. A list that is
absent from `lists` was never loaded, so membership is unknown; an empty list means loaded
and not a member. `received` (benefits paid, by clause key) works the same way: absent means
the received source was never loaded (unknown), `{}` means loaded and nothing received.
Periodic values are keyed by "2023" or "2024-03".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from fractions import Fraction
from typing import Any

import polars as pl

from zhida.rules.lang import frame
from zhida.rules.lang.errors import FrameError
from zhida.rules.lang.numbers import decimal_text, yuan_text
from zhida.rules.lang.periods import received_window_start
from zhida.rules.lang.schema import Field, Schema
from zhida.rules.model.policy import to_fraction

_BOOL = {True: True, False: False, "true": True, "false": False, "是": True, "否": False,
         "yes": True, "no": False}
DTYPES: dict[str, pl.DataType] = {
    "money": pl.Int64(), "count": pl.Int64(), "number": pl.Int64(), "percent": pl.Int64(),
    "bool": pl.Boolean(), "date": pl.Date(), "code": pl.Categorical(), "text": pl.String(),
}


def encode(f: Field, value: Any, where: str) -> Any:
    """One raw value → its frame encoding (see decision 0001). None stays None."""
    if value is None:
        return None
    try:
        if f.type in ("money", "count", "number", "percent"):
            scaled = to_fraction(value, where) * 10**f.numeric_scale
            if scaled.denominator != 1:
                raise ValueError(f"{where}：{f.label} 最多 {f.numeric_scale} 位小数")
            if f.type == "count" and scaled < 0:
                raise ValueError(f"{where}：{f.label} 不能为负数")
            return int(scaled)
        if f.type == "bool":
            key = value.lower() if isinstance(value, str) else value
            if key not in _BOOL:
                raise ValueError(f"{where}：{f.label} 应为 是/否（true/false）")
            return _BOOL[key]
        if f.type == "date":
            return value if isinstance(value, date) else date.fromisoformat(str(value))
        return str(value)
    except (TypeError, ValueError) as e:
        msg = str(e) if str(e).startswith(where) else f"{where}：{f.label} 的值 {value!r} 无法识别（{e}）"
        raise FrameError(msg) from e


def _field_values(f: Field, raw: Any, periods: set[str], where: str) -> dict[str | None, Any]:
    if f.period == "none":
        return {None: encode(f, raw, where)}
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise FrameError(f"{where}：{f.label} 按{'年' if f.period == 'year' else '月'}记录，"
                         f"应写成 {{\"2023\": 值}} 的形式")
    values: dict[str | None, Any] = {str(k): encode(f, v, f"{where}[{k}]") for k, v in raw.items()}
    if f.missing == "zero":
        values = {p: values.get(p, 0) for p in periods | {k for k in values if k is not None}}
    return values


def _membership(spans: Sequence[Mapping[str, Any]], as_of: date) -> tuple[bool, date | None]:
    member, first = False, None
    for s in spans:
        start = s.get("from")
        start_d = None if start is None else (start if isinstance(start, date) else date.fromisoformat(str(start)))
        end = s.get("to")
        end_d = None if end is None else (end if isinstance(end, date) else date.fromisoformat(str(end)))
        if start_d is not None and start_d > as_of:
            continue  # not known yet on as_of
        if start_d is not None and (first is None or start_d < first):
            first = start_d
        if end_d is None or as_of <= end_d:
            member = True
    return member, first


def _latest_receipt(entries: Sequence[Mapping[str, Any]], as_of: date, where: str) -> tuple[date | None, int | None]:
    """The latest payment date on or before as_of, and the amount (fen) paid on that date."""
    paid = _receipts(entries, as_of, where)
    if not paid:
        return None, None
    latest = max(on for on, _ in paid)
    return latest, sum(fen for on, fen in paid if on == latest)


def _received_total(entries: Sequence[Mapping[str, Any]], window: str, as_of: date, where: str) -> int:
    """The amount (fen) paid on or before as_of, from the window's first day on."""
    start = received_window_start(window, as_of)
    return sum(fen for on, fen in _receipts(entries, as_of, where) if start is None or on >= start)


def _receipts(entries: Sequence[Mapping[str, Any]], as_of: date, where: str) -> list[tuple[date, int]]:
    """(date paid, fen) of every payment on or before as_of."""
    paid: list[tuple[date, int]] = []
    for e in entries:
        raw = e.get("paid_on")
        if raw is None:
            raise FrameError(f"{where}：received 的每条记录需要 paid_on（到账日期）")
        on = raw if isinstance(raw, date) else date.fromisoformat(str(raw))
        amount = e.get("amount")
        fen = 0 if amount is None else int(to_fraction(amount, where) * 100)
        if on <= as_of:
            paid.append((on, fen))
    return paid


def build_frame(docs: Sequence[Mapping[str, Any]], requirements: frame.Requirements, schema: Schema,
                as_of: date) -> pl.DataFrame:
    """One frame row per fact document, with exactly the columns `requirements` names."""
    data: dict[str, list[Any]] = {frame.ID_COLUMN: []}
    needed_fields: dict[str, set[str]] = {}
    for fid, period in requirements.fields:
        needed_fields.setdefault(fid, set())
        if period is not None:
            needed_fields[fid].add(period)
    for col in requirements.columns():
        data[col] = []
    for i, doc in enumerate(docs):
        where = f"第 {i + 1} 个企业"
        facts = dict(doc.get("facts") or {})
        unknown = [k for k in facts if schema.resolve(k) is None]
        if unknown:
            raise FrameError(f"{where}：未知字段 {', '.join(unknown)}；请使用字段注册表中的字段名或中文名称")
        by_id = {}
        for k, v in facts.items():
            f = schema.resolve(k)
            assert f is not None
            by_id[f.id] = (f, v)
        data[frame.ID_COLUMN].append(str(doc.get("uscc", f"case-{i + 1}")))
        for fid, periods in needed_fields.items():
            entry = by_id.get(fid)
            if entry is None:
                f = schema.fields[fid]
                values: dict[str | None, Any] = {}
            else:
                f, raw = entry
                values = _field_values(f, raw, periods, where)
            if f.period == "none":
                data[frame.field_column(fid)].append(values.get(None))
            for p in periods:
                data[frame.field_column(fid, p)].append(values.get(p))
        lists = doc.get("lists")
        for name in requirements.lists | requirements.list_since:
            spans = None if lists is None else lists.get(name)
            member, first = (None, None) if spans is None else _membership(spans, as_of)
            if name in requirements.lists:
                data[frame.list_column(name)].append(member)
            if name in requirements.list_since:
                data[frame.list_since_column(name)].append(first)
        tags, zones = doc.get("tags"), doc.get("zones")
        for name in requirements.tags:
            data[frame.tag_column(name)].append(None if tags is None else name in tags)
        for name in requirements.zones:
            data[frame.zone_column(name)].append(None if zones is None else name in zones)
        received = doc.get("received")
        for key in requirements.received:
            on, fen = (None, None) if received is None else _latest_receipt(received.get(key) or [], as_of, where)
            data[frame.received_column(key)].append(None if received is None else on is not None)
            data[frame.received_on_column(key)].append(on)
            data[frame.received_fen_column(key)].append(fen)
        for key, window in requirements.received_totals:
            data[frame.received_total_column(key, window)].append(
                None if received is None else _received_total(received.get(key) or [], window, as_of, where))
    return pl.DataFrame(data, schema={frame.ID_COLUMN: pl.String(), **frame_schema(requirements, schema)})


def frame_schema(requirements: frame.Requirements, schema: Schema) -> dict[str, pl.DataType]:
    """The type of every frame column the requirements name (decision 0001)."""
    schema_out: dict[str, pl.DataType] = {}
    for fid, period in requirements.fields:
        schema_out[frame.field_column(fid, period)] = DTYPES[schema.fields[fid].type]
    for name in requirements.lists:
        schema_out[frame.list_column(name)] = pl.Boolean()
    for name in requirements.list_since:
        schema_out[frame.list_since_column(name)] = pl.Date()
    for name in requirements.tags:
        schema_out[frame.tag_column(name)] = pl.Boolean()
    for name in requirements.zones:
        schema_out[frame.zone_column(name)] = pl.Boolean()
    for key in requirements.received:
        schema_out[frame.received_column(key)] = pl.Boolean()
        schema_out[frame.received_on_column(key)] = pl.Date()
        schema_out[frame.received_fen_column(key)] = pl.Int64()
    for key, window in requirements.received_totals:
        schema_out[frame.received_total_column(key, window)] = pl.Int64()
    return schema_out


def display(f: Field, raw: Any) -> str:
    """A frame value as an officer reads it: 1,234.56元, 5.5%, 是/否."""
    if raw is None:
        return "缺失"
    if f.type == "money":
        return yuan_text(int(raw))
    if f.type in ("number", "percent"):
        v = Fraction(int(raw), 10**f.numeric_scale)
        if f.type == "percent":
            return f"{decimal_text(v * 100)}%"
        return decimal_text(v)
    if f.type == "bool":
        return "是" if raw else "否"
    return f.name_of(raw)

