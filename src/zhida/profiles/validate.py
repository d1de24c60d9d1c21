"""Validate a raw feed against its mapping: typed rows to load, every defect to report.

A row with any defect is quarantined whole (never half-loaded); every defect of every row is
reported with its row number, column, field, value and reason. Vectorised throughout.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import polars as pl

from zhida.profiles import uscc as uscc_rules
from zhida.profiles.mapping import ColumnSpec, ListSpec, SourceMapping
from zhida.profiles.parse import as_integer, clean, numeric_exponent, parse_date, parse_field
from zhida.profiles.read import ROW_COLUMN
from zhida.profiles.registry import Registry

NUMERIC = ("money", "count", "number", "percent")
REJECT_SCHEMA = {"row": pl.Int64, "column": pl.String, "field": pl.String, "value": pl.String,
                 "reason": pl.String}
LIST_COLUMNS = ("list", "uscc", "listed_on", "expires_on", "removed_on", "kind", "reason", "ref")
MONTH_FORMATS = {"%Y%m": r"^\d{6}$", "%Y-%m": r"^\d{4}-\d{2}$", "%Y年%m月": r"^\d{4}年\d{1,2}月$"}


@dataclass
class Validated:
    data: pl.DataFrame       # uscc, period, _row, _record_id, one column per field (frame encoding)
    lists: pl.DataFrame      # LIST_COLUMNS + _row, _record_id
    rejects: pl.DataFrame    # REJECT_SCHEMA, defects of quarantined rows
    warnings: pl.DataFrame   # REJECT_SCHEMA, defects that did not stop the row (warn mode)
    rows_total: int


def validate(raw: pl.DataFrame, mapping: SourceMapping, registry: Registry, latest: date) -> Validated:
    checks: dict[str, tuple[str, str, pl.Expr, pl.Expr]] = {}  # name -> column, field, value, problem
    key = clean(pl.col(mapping.key)).str.to_uppercase()
    missing_key = pl.when(pl.col("v:uscc").is_null()).then(pl.lit("缺少统一社会信用代码"))
    checks["uscc"] = (mapping.key, "uscc", key, missing_key)
    if mapping.period != "none":
        checks["period"] = (mapping.period_column or "", "period", *_period(mapping, latest))
    for fid, spec in mapping.fields.items():
        f = registry.fields[fid]
        checks[fid] = (spec.column, fid, *parse_field(pl.col(spec.column), pl.col(f"v:{fid}"), spec, f,
                                                      registry.codes_of(f), latest))
    for i, ls in enumerate(mapping.lists):
        checks.update(_list_checks(i, ls, latest))
    # two stages: values first, then problems that read the value columns
    typed = raw.with_columns([v.alias(f"v:{n}") for n, (_, _, v, _) in checks.items()])
    typed = typed.with_columns([p.alias(f"p:{n}") for n, (_, _, _, p) in checks.items()])
    numeric = {fid: numeric_exponent(registry.fields[fid], spec) for fid, spec in mapping.fields.items()
               if registry.fields[fid].type in NUMERIC}
    typed = typed.with_columns([as_integer(pl.col(f"v:{fid}"), e).alias(f"v:{fid}") for fid, e in numeric.items()])
    typed = typed.with_columns(pl.col("v:uscc").alias("uscc"))
    rejects = [_defects(typed, n, col, fld) for n, (col, fld, _, _) in checks.items()]
    rejects += _uscc_defects(typed, mapping, strict=True)
    warnings = _uscc_defects(typed, mapping, strict=False)
    rejects += _duplicates(typed, mapping)
    rej = pl.concat(rejects, how="vertical") if rejects else pl.DataFrame(schema=REJECT_SCHEMA)
    rej = rej.sort("row", "column")
    keep = ["uscc", ROW_COLUMN, *[c for c in typed.columns if c.startswith("v:")],
            *([mapping.record_id] if mapping.record_id else []), *[ls.present for ls in mapping.lists if ls.present]]
    bad_rows = rej.get_column("row").unique().implode()
    good = typed.select(list(dict.fromkeys(keep))).filter(~pl.col(ROW_COLUMN).is_in(bad_rows))
    record_id = pl.col(mapping.record_id).cast(pl.String) if mapping.record_id else pl.col(ROW_COLUMN).cast(pl.String)
    data = good.select(
        "uscc",
        (pl.col("v:period") if mapping.period != "none" else pl.lit(None, pl.String)).alias("period"),
        pl.col(ROW_COLUMN),
        record_id.alias("_record_id"),
        *[pl.col(f"v:{fid}").alias(fid) for fid in mapping.fields],
    )
    lists = _list_rows(good, mapping, record_id)
    warn = pl.concat(warnings, how="vertical") if warnings else pl.DataFrame(schema=REJECT_SCHEMA)
    return Validated(data, lists, rej, warn.join(rej.select("row"), on="row", how="anti"), raw.height)


def _defects(typed: pl.DataFrame, name: str, column: str, field: str) -> pl.DataFrame:
    src = pl.col(column).cast(pl.String) if column in typed.columns else pl.lit(None, pl.String)
    return typed.filter(pl.col(f"p:{name}").is_not_null()).select(
        pl.col(ROW_COLUMN).alias("row"), pl.lit(column).alias("column"), pl.lit(field).alias("field"),
        src.alias("value"), pl.col(f"p:{name}").cast(pl.String).alias("reason"),
    )


def _uscc_defects(typed: pl.DataFrame, mapping: SourceMapping, strict: bool) -> list[pl.DataFrame]:
    """strict=True: defects that reject the row; strict=False: warnings (warn mode, check digit only)."""
    codes = typed.get_column("uscc").drop_nulls().unique()
    shape_ok = codes.str.contains(uscc_rules.PATTERN.pattern)
    digit_ok = uscc_rules.valid_mask(codes)
    if strict:
        bad = codes.filter(~shape_ok | (~digit_ok & (mapping.uscc_check == "strict")))
    else:
        bad = codes.filter(shape_ok & ~digit_ok) if mapping.uscc_check == "warn" else codes.clear()
    if bad.is_empty():
        return []
    if strict:
        why = pl.when(pl.col("uscc").str.contains(uscc_rules.PATTERN.pattern)).then(
            pl.lit("统一社会信用代码校验位错误（GB 32100-2015）；若为合法的早期试点代码，请在映射中写 uscc_check: warn")
        ).otherwise(pl.lit("统一社会信用代码格式错误（应为18位，不含 I、O、Z、S、V）"))
    else:
        why = pl.lit("校验位未通过（按 warn 模式视为早期试点代码，已导入）")
    return [typed.filter(pl.col("uscc").is_in(bad.implode())).select(
        pl.col(ROW_COLUMN).alias("row"), pl.lit(mapping.key).alias("column"), pl.lit("uscc").alias("field"),
        pl.col("uscc").alias("value"), why.alias("reason"),
    )]


def _duplicates(typed: pl.DataFrame, mapping: SourceMapping) -> list[pl.DataFrame]:
    keys = ["uscc"] + (["v:period"] if mapping.period != "none" else [])
    if not mapping.fields:
        # a list entry is identified by list, date and (when the feed has one) its reference number
        keys += [c for c in typed.columns if c.startswith("v:list") and c.endswith((":name", ":listed_on", ":ref"))]
    present = typed.filter(pl.all_horizontal([pl.col(k).is_not_null() for k in keys]))
    dup = present.filter(~pl.struct(keys).is_first_distinct())
    if dup.is_empty():
        return []
    return [dup.select(
        pl.col(ROW_COLUMN).alias("row"), pl.lit(mapping.key).alias("column"), pl.lit("uscc").alias("field"),
        pl.col("uscc").alias("value"),
        pl.lit("重复记录：同一企业同一所属期在前面的行已出现（首次出现的行已导入）").alias("reason"),
    )]


def _period(mapping: SourceMapping, latest: date) -> tuple[pl.Expr, pl.Expr]:
    """Value "2024" or "2024-03"; problem if missing, malformed, or after the extract date."""
    s = clean(pl.col(mapping.period_column or ""))
    if mapping.period == "year":
        ok = s.str.contains(r"^\d{4}$")
        year_problem = (pl.when(s.is_null()).then(pl.lit("缺少所属期"))
                        .when(~ok).then(pl.lit("所属年度应为四位年份，如 2024"))
                        .when(s.cast(pl.Int64, strict=False) > latest.year)
                        .then(pl.lit(f"所属年度晚于数据截止日 {latest}")))
        return pl.when(ok).then(s), year_problem
    fmt = mapping.period_format or "%Y%m"
    day = (s + pl.lit("|01")).str.strptime(pl.Date, fmt + "|%d", strict=False)
    problem = (pl.when(s.is_null()).then(pl.lit("缺少所属期"))
               .when(day.is_null()).then(pl.lit(f"所属期应为 {fmt} 格式的月份"))
               .when(day > latest).then(pl.lit(f"所属期晚于数据截止日 {latest}")))
    return day.dt.strftime("%Y-%m"), problem


def _list_checks(i: int, ls: ListSpec, latest: date) -> dict[str, tuple[str, str, pl.Expr, pl.Expr]]:
    out: dict[str, tuple[str, str, pl.Expr, pl.Expr]] = {}
    p = f"list{i}"
    if ls.name_column:
        s = clean(pl.col(ls.name_column))
        name = s.replace_strict(dict(ls.names), default=None, return_dtype=pl.String)
        out[f"{p}:name"] = (ls.name_column, "list", name, pl.when(name.is_null()).then(
            pl.format("未知的名单类型“{}”（可选：{}）", s, pl.lit("、".join(ls.names)))))
    else:
        out[f"{p}:name"] = ("", "list", pl.lit(ls.name), pl.lit(None, pl.String))
    parsed: dict[str, pl.Expr] = {}
    for attr in ("listed_on", "expires_on", "removed_on"):
        spec: ColumnSpec | None = getattr(ls, attr)
        if spec is None:
            continue
        v, prob = parse_date(pl.col(spec.column), pl.col(f"v:{p}:{attr}"), spec.formats)
        vcol = pl.col(f"v:{p}:{attr}")
        if attr == "listed_on":
            prob = pl.coalesce(prob, pl.when(vcol.is_null() & prob.is_null()).then(pl.lit("缺少列入日期")),
                               pl.when(vcol > latest).then(pl.lit(f"列入日期晚于数据截止日 {latest}")))
        if attr == "removed_on" and "listed_on" in parsed:
            prob = pl.coalesce(prob, pl.when(vcol < parsed["listed_on"]).then(pl.lit("移出日期早于列入日期")))
        parsed[attr] = vcol
        out[f"{p}:{attr}"] = (spec.column, attr, v, prob)
    for attr in ("kind", "reason", "ref"):
        spec = getattr(ls, attr)
        if spec is not None:
            text = clean(pl.col(spec.column).cast(pl.String))
            out[f"{p}:{attr}"] = (spec.column, attr, text, pl.lit(None, pl.String))
    return out


def _list_rows(good: pl.DataFrame, mapping: SourceMapping, record_id: pl.Expr) -> pl.DataFrame:
    frames = []
    for i, ls in enumerate(mapping.lists):
        p = f"v:list{i}"

        def col(attr: str, dtype: type[pl.DataType], p: str = p) -> pl.Expr:
            name = f"{p}:{attr}"
            return pl.col(name).cast(dtype) if name in good.columns else pl.lit(None, dtype)

        expires = col("expires_on", pl.Date)
        if ls.valid_years and ls.expires_on is None:
            expires = col("listed_on", pl.Date).dt.offset_by(f"{ls.valid_years}y") - timedelta(days=1)
        rows = good.filter(clean(pl.col(ls.present)).is_not_null()) if ls.present else good
        frames.append(rows.select(
            col("name", pl.String).alias("list"), pl.col("uscc"), col("listed_on", pl.Date).alias("listed_on"),
            expires.alias("expires_on"), col("removed_on", pl.Date).alias("removed_on"),
            col("kind", pl.String).alias("kind"), col("reason", pl.String).alias("reason"),
            col("ref", pl.String).alias("ref"), pl.col(ROW_COLUMN), record_id.alias("_record_id"),
        ))
    if not frames:
        return pl.DataFrame(schema={**dict.fromkeys(LIST_COLUMNS, pl.String), "listed_on": pl.Date,
                                    "expires_on": pl.Date, "removed_on": pl.Date,
                                    ROW_COLUMN: pl.Int64, "_record_id": pl.String})
    # a periodic feed repeats an entry on every period's row: keep it once
    return pl.concat(frames, how="vertical").unique(subset=list(LIST_COLUMNS), keep="first", maintain_order=True)
