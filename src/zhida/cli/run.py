"""`zhida run`: the main job on embedded defaults — demo city × policy pack."""

from __future__ import annotations

import json
import sys
import time
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from zhida import catalog
from zhida.cli.errors import translate_errors
from zhida.matching.population import match_population, summarize
from zhida.profiles.demo import DEMO_ENTERPRISES, DEMO_SEED, demo_store
from zhida.profiles.paths import data_dir
from zhida.rules.document import MODE_LABELS
from zhida.rules.numbers import yuan_text
from zhida.rules.policy import load_policies

console = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 140)
DEMO_AS_OF = "2024-06-30"


@translate_errors
def run(
    as_of: Annotated[str, typer.Option("--as-of", help="评估日期（默认为演示政策包多数有效的日期）")] = DEMO_AS_OF,
    enterprises: Annotated[int, typer.Option(help="演示城市企业数")] = DEMO_ENTERPRISES,
    seed: Annotated[int, typer.Option(help="演示城市随机种子")] = DEMO_SEED,
    out: Annotated[Path | None, typer.Option(help="结果目录，默认 .zhida/runs/<日期>")] = None,
) -> None:
    on = date.fromisoformat(as_of)
    started = time.perf_counter()
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console,
                  transient=True) as progress:
        task = progress.add_task("准备演示城市……")

        def step(message: str) -> None:
            progress.update(task, description=message)

        store = demo_store(on, enterprises=enterprises, seed=seed, progress=step)
        step("载入政策包……")
        policies = load_policies([catalog.policies_dir()])
        step(f"匹配 {len(policies)} 份政策 × {enterprises:,} 家企业……")
        outcome = match_population(store, policies, catalog.load_schema(), on)
    summaries = summarize(outcome)
    elapsed = time.perf_counter() - started

    table = Table(title=f"政策直达 · 演示城市（温州，{outcome.enterprises:,} 家企业）· 评估日 {on}", show_lines=False)
    for col, justify in [("政策", "left"), ("方式", "left"), ("符合", "right"), ("待补充数据", "right"),
                         ("金额合计", "right"), ("预算", "right")]:
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for s in summaries:
        modes = "、".join(dict.fromkeys(MODE_LABELS[c.spec.mode] for c in s.policy.clauses))
        if not s.in_force:
            table.add_row(s.policy.spec.title, modes, "—", "—", "不在有效期内", "")
            continue
        amount = yuan_text(s.amount_fen) if s.amount_fen else "—"
        if s.report_only_fen:
            amount += f"（另预计减税 {yuan_text(s.report_only_fen)}）"
        budget = "" if s.budget_fen is None else yuan_text(s.budget_fen)
        table.add_row(s.policy.spec.title, modes, f"{s.eligible_enterprises:,}", f"{s.unknown_enterprises:,}",
                      amount, budget)
    console.print(table)

    target = out or data_dir() / "runs" / on.isoformat()
    target.mkdir(parents=True, exist_ok=True)
    outcome.with_ids().write_parquet(target / "results.parquet")
    (target / "summary.json").write_text(json.dumps([{
        "policy": s.policy.id, "title": s.policy.spec.title, "content_hash": s.policy.content_hash,
        "in_force": s.in_force, "eligible_enterprises": s.eligible_enterprises,
        "unknown_enterprises": s.unknown_enterprises, "amount_fen": s.amount_fen,
        "report_only_fen": s.report_only_fen, "budget_fen": s.budget_fen} for s in summaries],
        ensure_ascii=False, indent=2), encoding="utf-8")
    pairs = outcome.results.height
    console.print(f"共 {pairs:,} 条（企业, 条款）结果，用时 {elapsed:.1f} 秒；"
                  f"结果已写入 {target}/results.parquet 与 summary.json")
    console.print("查看单个企业的逐条解释：zhida policy eval POLICY_ID --facts FILE.json --as-of 2024-06-30")

