"""Whitelists (白名单): the eligible enterprises of one clause in one run, with the facts
that decided it, a summary by district / industry / size, and total cost against budget.

The facts are read again from the run's profile snapshot (the batches it read), so a
whitelist exported later shows exactly the values the run saw.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import polars as pl

from zhida.matching import results as files
from zhida.matching.errors import MatchError
from zhida.matching.run import MatchRun, run_enterprises
from zhida.profiles.frame import build_population_frame
from zhida.profiles.industry import section
from zhida.profiles.registry import Registry, load_registry
from zhida.rules.evaluate.clause import CompiledClause
from zhida.rules.evaluate.engine import compile_policies
from zhida.rules.lang.frame import received_total_parts
from zhida.rules.lang.numbers import yuan_text
from zhida.rules.lang.schema import Schema
from zhida.rules.model.facts import display
from zhida.rules.model.policy import money_fen

FIXED_COLUMNS = ["统一社会信用代码", "企业名称", "所属区县", "行业门类", "企业规模", "金额（元）"]
SUMMARY_COLUMNS = ["维度", "分组", "企业数", "金额（元）"]
DIMENSIONS = {"district": "所属区县", "industry": "行业门类", "size": "企业规模"}


@dataclass(frozen=True)
class Whitelist:
    run_id: str
    clause: str
    title: str
    policy_title: str
    policy_version: str
    rows: pl.DataFrame          # FIXED_COLUMNS + one column per deciding fact (as an officer reads it)
    amounts_fen: pl.Series      # exact amounts, aligned with rows
    summary: pl.DataFrame       # SUMMARY_COLUMNS (amount as integer fen in 金额（分）)
    total_fen: int
    policy_total_fen: int       # every paid clause of the policy in this run
    budget_fen: int | None

    @property
    def over_budget(self) -> bool:
        return self.budget_fen is not None and self.policy_total_fen > self.budget_fen


def _fen_decimal(fen: int | None) -> Decimal | None:
    return None if fen is None else Decimal(fen).scaleb(-2)


def summarize_groups(eligible: pl.DataFrame, registry: Registry) -> pl.DataFrame:
    """Enterprises and amounts by district, industry section and size (columns district,
    industry, size, amount_fen in `eligible`)."""
    labelled = eligible.with_columns(
        district=pl.col("district").replace_strict(dict(registry.code_lists["district_code"]),
                                                   default=pl.col("district")),
        industry=section(pl.col("industry")).replace_strict(dict(registry.code_lists["industry_section"]),
                                                            default=None),
        size=pl.col("size").replace_strict(dict(registry.code_lists["enterprise_size"]), default=pl.col("size")),
    )
    parts = []
    for dim, label in DIMENSIONS.items():
        parts.append(labelled.group_by(pl.col(dim).fill_null("未知").alias("分组")).agg(
            企业数=pl.col("uscc").n_unique(), 金额分=pl.col("amount_fen").sum()).sort("分组")
            .with_columns(维度=pl.lit(label)))
    return pl.concat(parts).select("维度", "分组", "企业数", pl.col("金额分").alias("金额（分）"))


def whitelist(run: MatchRun, clause_key: str, results: pl.DataFrame, *, schema: Schema, data_dir: Path,
              registry: Registry | None = None, zones_dir: Path | None = None) -> Whitelist:
    """The whitelist of `clause_key` from a run's (current) results."""
    registry = registry or load_registry()
    versions = dict(run.policies)
    policy_id = clause_key.split("/")[0]
    if policy_id not in versions:
        raise MatchError(f"匹配批次 {run.id} 中没有政策 {policy_id}；用 zhida match runs 查看批次包含的政策。")
    policy = files.archived_policy(data_dir, versions[policy_id])
    compiled = compile_policies([policy], schema, run.as_of)
    clause: CompiledClause | None = next((c for c in compiled.clauses if c.key == clause_key), None)
    if clause is None:
        raise MatchError(f"条款 {clause_key} 不存在或在评估日 {run.as_of} 不在有效期内；"
                         f"可选条款：{'、'.join(c.key for c in compiled.clauses)}")
    mine = results.filter((pl.col("clause") == clause_key) & (pl.col("status") == "eligible"))
    eligible = (mine.select("uscc", "amount_fen").join(run_enterprises(run, data_dir), on="uscc", how="left")
                .sort("uscc"))
    facts = build_population_frame(run.snapshot.open(), clause.requirements, run.as_of, schema,
                                   zones_dir=zones_dir).join(eligible.select("uscc"), on="uscc", how="semi")
    facts = eligible.select("uscc").join(facts, on="uscc", how="left")
    fact_cols = {}
    for col in clause.requirements.columns():
        kind, _, name = col.partition("@")
        f = schema.fields.get(kind)
        if f is not None:
            label = f.label + (f"[{name}]" if name else "")
            fact_cols[label] = [display(f, v) for v in facts.get_column(col).to_list()]
        elif kind in ("received_total", "received_fen"):  # money already paid under a clause, in yuan
            key, window = received_total_parts(col) if kind == "received_total" else (name, "")
            label = (f"已获资金“{key}”{window_text(window)}累计" if kind == "received_total"
                     else f"最近一次获得金额“{key}”")
            fact_cols[label] = ["缺失" if v is None else yuan_text(int(v)) for v in facts.get_column(col).to_list()]
        else:
            what = {"list": "名单", "list_since": "首次列入", "tag": "标签", "zone": "区域",
                    "received": "已获资金", "received_on": "最近获得资金日期"}.get(kind, kind)
            fact_cols[f"{what}“{name}”"] = ["缺失" if v is None else "是" if v is True else "否" if v is False
                                          else str(v) for v in facts.get_column(col).to_list()]
    district_names = dict(registry.code_lists["district_code"])
    sections = dict(registry.code_lists["industry_section"])
    sizes = dict(registry.code_lists["enterprise_size"])
    rows = pl.DataFrame({
        "统一社会信用代码": eligible.get_column("uscc"),
        "企业名称": eligible.get_column("name"),
        "所属区县": [district_names.get(d, d) if d else "未知" for d in eligible.get_column("district").to_list()],
        "行业门类": eligible.select(section(pl.col("industry"))).to_series().replace_strict(
            sections, default=None).fill_null("未知"),
        "企业规模": [sizes.get(s, s) if s else "未知" for s in eligible.get_column("size").to_list()],
        "金额（元）": [yuan_text(int(a)).removesuffix("元") for a in eligible.get_column("amount_fen").to_list()],
        **fact_cols,
    }, schema_overrides={k: pl.String for k in fact_cols})
    paid = results.filter((pl.col("policy") == policy_id) & (pl.col("status") == "eligible")
                          & pl.col("clause").is_in([c.key for c in compiled.clauses
                                                    if c.clause.spec.mode != "report_only"]))
    budget = None if policy.spec.budget is None else money_fen(policy.spec.budget, "budget")
    return Whitelist(run.id, clause_key, clause.clause.spec.title, policy.spec.title, policy.content_hash, rows,
                     eligible.get_column("amount_fen"), summarize_groups(eligible, registry),
                     int(eligible.get_column("amount_fen").sum() or 0), int(paid.get_column("amount_fen").sum() or 0),
                     budget)


def _totals(wl: Whitelist) -> list[tuple[str, str]]:
    out = [("本条款合计", yuan_text(wl.total_fen)), ("本政策合计（全部兑付条款）", yuan_text(wl.policy_total_fen))]
    if wl.budget_fen is not None:
        out += [("政策预算", yuan_text(wl.budget_fen)),
                ("预算余额", yuan_text(wl.budget_fen - wl.policy_total_fen)
                 + ("（超出预算）" if wl.over_budget else ""))]
    else:
        out += [("政策预算", "未设定")]
    return out


def _stem(wl: Whitelist) -> str:
    return f"whitelist-{wl.clause.replace('/', '--')}"


def write_csv(wl: Whitelist, out_dir: Path) -> list[Path]:
    """`<stem>.csv` (the whitelist) and `<stem>-summary.csv`, UTF-8 with BOM (opens in Excel)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    main, summary = out_dir / f"{_stem(wl)}.csv", out_dir / f"{_stem(wl)}-summary.csv"
    main.write_text(wl.rows.write_csv(), encoding="utf-8-sig")
    with summary.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(SUMMARY_COLUMNS)
        for dim, group, n, fen in wl.summary.iter_rows():
            w.writerow([dim, group, n, str(_fen_decimal(fen))])
        for label, value in _totals(wl):
            w.writerow(["合计", label, "", value])
    return [main, summary]


def write_xlsx(wl: Whitelist, out_dir: Path) -> Path:
    """One workbook: sheet 白名单 (amounts as numbers, exact to the fen) and sheet 汇总."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{_stem(wl)}.xlsx"
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "白名单"
    sheet.append(wl.rows.columns)
    amount_at = wl.rows.columns.index("金额（元）")
    for values, fen in zip(wl.rows.iter_rows(), wl.amounts_fen.to_list(), strict=True):
        row: list[object] = list(values)
        row[amount_at] = _fen_decimal(fen)
        sheet.append(row)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row_cells in sheet.iter_rows(min_row=2, min_col=amount_at + 1, max_col=amount_at + 1):
        for cell in row_cells:
            cell.number_format = "#,##0.00"
    summary = book.create_sheet("汇总")
    summary.append([f"{wl.policy_title} · {wl.title}", f"匹配批次 {wl.run_id}", f"政策版本 {wl.policy_version[:12]}"])
    summary.append(SUMMARY_COLUMNS)
    for dim, group, n, fen in wl.summary.iter_rows():
        summary.append([dim, group, n, _fen_decimal(fen)])
    for label, value in _totals(wl):
        summary.append(["合计", label, None, value])
    book.save(path)
    return path


def window_text(window: str) -> str:
    """A received-amount window (frame.received_total_column) for a clerk: 近3年内,
    近36个月内, 2023-01-01以来, or "" for every payment."""
    kind, _, value = window.partition("=")
    if kind == "within":
        return f"近{value[:-1]}年内" if value.endswith("y") else f"近{value[:-1]}个月内"
    return f"{value}以来" if kind == "since" else ""
