"""`zhida run`: the main job on embedded defaults — demo city → publish the pack → match run → summary.

The same services as `zhida policy publish` and `zhida match run`, in one command: the run is
recorded (with the published versions it used) and can be reproduced, reported and updated
like any other.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import date
from typing import Annotated

import polars as pl
import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from zhida.accounts import SYSTEM
from zhida.accounts.demo import DemoAccount, create_demo_accounts
from zhida.cli.context import app as make_app
from zhida.cli.errors import translate_errors
from zhida.matching.results import pack_cache_dir, run_dir
from zhida.matching.run import run_match, run_results
from zhida.matching.summary import PolicySummary, summarize
from zhida.packs.cache import load_or_compile
from zhida.profiles.demo import DEMO_ENTERPRISES, DEMO_SEED, demo_store
from zhida.published import publish, published_pack
from zhida.rules.lang.numbers import yuan_text
from zhida.rules.model.document import MODE_LABELS
from zhida.rules.model.policy import load_policies

console = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 140)
DEMO_AS_OF = "2024-06-30"
PHASES = {"compile": "编译政策……", "frame": "读取画像……", "match": "逐条匹配……", "near_miss": "计算差一点符合……",
          "write": "写出结果……"}


@translate_errors
def run(
    as_of: Annotated[str, typer.Option("--as-of", help="评估日期（默认为演示政策包多数有效的日期）")] = DEMO_AS_OF,
    enterprises: Annotated[int, typer.Option(help="演示城市企业数")] = DEMO_ENTERPRISES,
    seed: Annotated[int, typer.Option(help="演示城市随机种子")] = DEMO_SEED,
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出批次与各政策摘要")] = False,
) -> None:
    on = date.fromisoformat(as_of)
    a = make_app()
    started = time.perf_counter()
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console,
                  transient=True, disable=as_json) as progress:
        task = progress.add_task("准备演示城市……")

        def step(message: str) -> None:
            progress.update(task, description=message)

        store = demo_store(on, base=a.data_dir, enterprises=enterprises, seed=seed, progress=step)
        step("发布政策包……")
        publication = publish(a.uow(), load_policies([a.policies_dir]), actor=SYSTEM)
        documents, published = published_pack(a.uow())
        pack = load_or_compile(documents, a.schema, on, pack_cache_dir(a.data_dir))
        step(f"匹配 {len(pack.policies)} 份政策 × {enterprises:,} 家企业……")
        r = run_match(a.uow(), a.match_setup, store, pack, on, published=published, actor="zhida run",
                      progress=lambda what, _done, _total: step(PHASES.get(what, what)))
    results = run_results(r, a.data_dir)
    summaries = summarize(r, results, pack.policies)
    firms = results.filter(pl.col("status") == "eligible").get_column("uscc").unique().sort().to_list()
    accounts = create_demo_accounts(a.uow(), usccs=firms)
    target = run_dir(a.data_dir, r.id) / "summary.json"
    target.write_text(json.dumps([s.to_dict() for s in summaries], ensure_ascii=False, indent=2), encoding="utf-8")
    if as_json:
        sys.stdout.write(json.dumps({"run": r.id, "as_of": on.isoformat(), "enterprises": r.enterprises,
                                     "policies": [s.to_dict() for s in summaries],
                                     "accounts": [{"username": d.username, "role": d.role.value, "bound_to": d.bound_to}
                                                  for d in accounts]}, ensure_ascii=False) + "\n")
        return
    _print(summaries, r.enterprises, on)
    console.print(f"政策发布：新版本 {len(publication.published)} 个，未变化 {len(publication.unchanged)} 个"
                  f"（zhida policy versions 查看）")
    console.print(f"匹配批次 {r.id}：{r.eligible + r.unknown + r.near_miss:,} 条（企业, 条款）结果，"
                  f"用时 {time.perf_counter() - started:.1f} 秒；摘要已写入 {target}")
    _print_accounts(accounts)
    console.print("下一步：zhida match report <统一社会信用代码> --as-of 2024-06-30 查看单个企业的匹配报告；"
                  "zhida match whitelist <条款> 导出白名单")


def _print(summaries: list[PolicySummary], enterprises: int, on: date) -> None:
    table = Table(title=f"政策直达 · 演示城市（温州，{enterprises:,} 家企业）· 评估日 {on}", show_lines=False)
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


def _print_accounts(accounts: list[DemoAccount]) -> None:
    t = Table(title="演示账号（仅供演示，密码勿用于正式环境）", show_lines=False)
    for col in ("用户名", "密码", "角色", "企业 / 部门"):
        t.add_column(col)
    for d in accounts:
        t.add_row(d.username, d.password, d.role.label, d.bound_to)
    console.print(t)
