"""`zhida match`: match runs, reproduction, enterprise reports, whitelists (thin shells over
zhida.matching)."""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import polars as pl
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from zhida.bootstrap import App
from zhida.cli.context import app as make_app
from zhida.cli.errors import parse_date, translate_errors
from zhida.profiles.store import ProfileStore
from zhida.rules.lang.numbers import yuan_text
from zhida.rules.model.policy import Policy

if TYPE_CHECKING:
    from zhida.matching.incremental import Update
    from zhida.matching.run import Engine, MatchRun

app = typer.Typer(no_args_is_help=True)
console = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True)

DataDir = Annotated[Path | None, typer.Option("--data-dir", help="数据目录（默认 ./.zhida 或 $ZHIDA_DATA_DIR）")]
AsOf = Annotated[str | None, typer.Option("--as-of", help="评估日 YYYY-MM-DD（默认今天）")]
Demo = Annotated[int | None, typer.Option("--demo", help="使用 N 家企业的演示城市（默认：数据目录中的画像库）")]
Seed = Annotated[int, typer.Option("--seed", help="演示城市随机种子")]
RunId = Annotated[str | None, typer.Option("--run", help="匹配批次编号（默认最近一次）")]
PHASES = {"compile": "编译政策", "frame": "读取画像", "match": "逐条匹配", "near_miss": "计算差一点符合",
          "write": "写出结果"}
ENGINES = ("embedded", "spark")



def _app(data_dir: Path | None) -> App:
    return make_app(data_dir)


def _store(a: App, demo: int | None, seed: int, on: date) -> ProfileStore:
    from zhida.profiles.demo import demo_store

    return demo_store(on, base=a.data_dir, enterprises=demo, seed=seed) if demo else a.profile_store()


def _policies(a: App) -> list[Policy]:
    from zhida.rules.model.policy import load_policies

    return load_policies([a.policies_dir])


@contextmanager
def _bar() -> Iterator[Callable[[str, int, int], None]]:
    with Progress(SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(),
                  TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(),
                  console=err, transient=True) as bar:
        task = bar.add_task("匹配", total=1)

        def step(what: str, done: int, total: int) -> None:
            bar.update(task, description=PHASES.get(what, what), completed=done, total=max(total, 1))

        yield step


@app.command("run", help="全量匹配：已发布的每个有效条款 × 每家企业，结果与批次记录可复现。")
@translate_errors
def run(as_of: AsOf = None, demo: Demo = None, seed: Seed = 2026, data_dir: DataDir = None,
        near: Annotated[str, typer.Option(
            "--near-misses", help="记录哪些条款的“差一点符合”：marked（政策中标注 near_misses: true 的条款，默认）、"
                                  "all（全部条款，结果会接近稠密）或 none")] = "marked",
        drafts: Annotated[bool, typer.Option(
            "--drafts", help="试算政策目录中的文件（草稿，未发布）；默认只匹配已发布的政策版本")] = False,
        engine: Annotated[str, typer.Option(
            "--engine", help="在哪里匹配：embedded（本进程，默认）或 spark（同一套编译规则在 Spark 分区上运行，"
                             "结果与批次记录相同）")] = "embedded",
        master: Annotated[str, typer.Option(
            "--master", help="--engine spark 的 Spark master：local[2]（默认）或 spark://主机:端口")] = "local[2]",
        as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出批次记录")] = False) -> None:
    from zhida.matching.results import pack_cache_dir
    from zhida.matching.run import run_match
    from zhida.packs.cache import load_or_compile, load_or_compile_files
    from zhida.published import published_pack
    from zhida.rules.evaluate.engine import NEAR_MISS_MODES

    if near not in NEAR_MISS_MODES:
        raise typer.BadParameter(f"--near-misses 只能是 {'、'.join(NEAR_MISS_MODES)}，而不是 {near}")
    if engine not in ENGINES:
        raise typer.BadParameter(f"--engine 只能是 {'、'.join(ENGINES)}，而不是 {engine}")
    on, a = parse_date(as_of), _app(data_dir)
    store = _store(a, demo, seed, on)
    if drafts:
        pack = load_or_compile_files([a.policies_dir], a.schema, on, pack_cache_dir(a.data_dir), freeze=True)
        published = None
    else:
        documents, published = published_pack(a.uow())
        pack = load_or_compile(documents, a.schema, on, pack_cache_dir(a.data_dir))
    with _engine(engine, master, a.data_dir) as matcher, _bar() as step:
        r = run_match(a.uow(), a.match_setup, store, pack, on, published=published,
                      actor=f"zhida match run ({getpass.getuser()})", progress=step, near_misses=near,
                      engine=matcher)
    if as_json:
        console.print_json(json.dumps(_run_dict(r), ensure_ascii=False))
        return
    console.print(f"匹配批次 [bold]{r.id}[/]：评估日 {r.as_of}，{r.enterprises:,} 家企业 × {r.clauses:,} 个条款，"
                  f"用时 {r.seconds:.1f} 秒" + ("（政策草稿试算）" if r.drafts else ""))
    console.print(f"符合 {r.eligible:,} · 待补充数据 {r.unknown:,} · 差一点符合 {r.near_miss:,} · "
                  f"同一事项不重复享受而排除 {r.excluded:,}（结果校验值 {r.results_sha256[:16]}）")


@contextmanager
def _engine(name: str, master: str, data_dir: Path) -> Iterator[Engine | None]:
    """None for the embedded engine; a Spark engine on its own session (stopped afterwards)."""
    if name == "embedded":
        yield None
        return
    from zhida.matching.results import match_dir
    from zhida.matching.spark import spark_engine

    with spark_engine(master, match_dir(data_dir) / "spark") as matcher:
        yield matcher


def _run_dict(r: MatchRun) -> dict[str, object]:
    return {"id": r.id, "as_of": r.as_of.isoformat(), "started_at": r.started_at.isoformat(),
            "finished_at": r.finished_at.isoformat(), "enterprises": r.enterprises, "clauses": r.clauses,
            "eligible": r.eligible, "unknown": r.unknown, "near_miss": r.near_miss, "excluded": r.excluded,
            "results_sha256": r.results_sha256, "policies": [list(p) for p in r.policies],
            "drafts": r.drafts, "batches": len(r.snapshot.batches)}


@app.command("runs", help="列出最近的匹配批次。")
@translate_errors
def runs(data_dir: DataDir = None) -> None:
    from zhida.matching.run import list_runs

    t = Table("批次", "类型", "评估日", "企业", "条款", "符合", "待补充", "差一点", "用时（秒）", "结果校验值")
    for r in list_runs(_app(data_dir).uow()):
        t.add_row(r.id, r.kind, str(r.as_of), f"{r.enterprises:,}", f"{r.clauses:,}", f"{r.eligible:,}",
                  f"{r.unknown:,}", f"{r.near_miss:,}", f"{r.seconds:.1f}", r.results_sha256[:16])
    console.print(t)


@app.command("reproduce", help="按批次记录（政策版本 + 画像快照）重新计算，逐字节核对结果。")
@translate_errors
def reproduce(run_id: Annotated[str, typer.Argument(help="匹配批次编号")], data_dir: DataDir = None) -> None:
    from zhida.matching.run import load_run, reproduce_run

    a = _app(data_dir)
    rep, _ = reproduce_run(a.match_setup, load_run(a.uow(), run_id))
    if not rep.identical:
        err.print(f"[bold red]结果不一致[/]：记录 {rep.run.results_sha256}，重算 {rep.results_sha256}")
        raise typer.Exit(1)
    console.print(f"批次 {run_id} 已复现：结果逐字节一致（SHA-256 {rep.results_sha256}）")


SECTION_TITLES = {"eligible": "符合（可享受）", "possibly_eligible": "可能符合（待补充数据）",
                  "near_misses": "差一点符合", "report_only": "政策体检（预计减免，不涉及拨付）"}


@app.command("report", help="一家企业的匹配报告：符合、可能符合（缺什么、谁能补）、差一点符合、政策体检。")
@translate_errors
def report(
    uscc: Annotated[str, typer.Argument(help="统一社会信用代码")],
    as_of: AsOf = None, demo: Demo = None, seed: Seed = 2026, data_dir: DataDir = None,
    purpose: Annotated[str, typer.Option("--purpose", help="用途（记入数据使用记录）")] = "企业匹配报告",
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出")] = False,
    username: Annotated[str | None, typer.Option("--as", help="以该用户身份查看（用户名）；默认本机操作员")] = None,
) -> None:
    from zhida.cli.offer import acting
    from zhida.matching.report import SECTIONS, enterprise_report

    on, a = parse_date(as_of), _app(data_dir)
    rep = enterprise_report(a.uow(), _store(a, demo, seed, on), _policies(a), a.schema, on, uscc.upper(),
                            actor=acting(a.uow(), username), purpose=purpose, zones_dir=a.zones_dir)
    if as_json:
        sys.stdout.write(json.dumps(rep.to_dict(), ensure_ascii=False, indent=2) + "\n")
        return
    console.print(f"[bold]{rep.name}[/]（{rep.uscc}）· 评估日 {rep.as_of} · 可享受合计 {yuan_text(rep.eligible_fen)}")
    for s in SECTIONS:
        items = getattr(rep, s)
        if not items:
            console.print(f"{SECTION_TITLES[s]}：无")
            continue
        t = Table("条款", "方式", "金额", "说明", title=f"{SECTION_TITLES[s]}（{len(items)}）", title_justify="left")
        for i in items:
            if s == "possibly_eligible":
                note = "；".join(f"{m.label}：{'或'.join(m.by) or '来源未登记'}" for m in i.missing)
            elif s == "near_misses":
                note = f"若 {i.would_qualify_if}" if i.would_qualify_if else ""
            else:
                note = (i.how_to_apply or "") + (f"（截止 {i.deadline}）" if i.deadline else "")
            t.add_row(f"{i.policy_title} · {i.title}", i.mode_label,
                      "—" if i.amount_fen is None else yuan_text(i.amount_fen), note)
        console.print(t)


@app.command("whitelist", help="导出一个条款的白名单（CSV 与 XLSX），附按区县/行业/规模的汇总与预算对比。")
@translate_errors
def whitelist(
    clause: Annotated[str, typer.Argument(help="条款键，如 cn-mof-sat-2023-12-small-low-profit/income-tax-relief")],
    run_id: RunId = None, data_dir: DataDir = None,
    out: Annotated[Path, typer.Option("--out", help="输出目录")] = Path("."),
    fmt: Annotated[str, typer.Option("--format", help="csv、xlsx 或 both")] = "both",
) -> None:
    from zhida.matching import whitelist as wl_mod
    from zhida.matching.incremental import current_results
    from zhida.matching.run import load_run

    if fmt not in ("csv", "xlsx", "both"):
        raise typer.BadParameter("--format 只能是 csv、xlsx 或 both")
    a = _app(data_dir)
    r = load_run(a.uow(), run_id)
    wl = wl_mod.whitelist(r, clause, current_results(a.uow(), r, a.data_dir, policies=[clause.split("/")[0]]),
                          schema=a.schema, data_dir=a.data_dir, zones_dir=a.zones_dir)
    written = []
    if fmt in ("csv", "both"):
        written += wl_mod.write_csv(wl, out)
    if fmt in ("xlsx", "both"):
        written.append(wl_mod.write_xlsx(wl, out))
    console.print(f"{wl.policy_title} · {wl.title}：{wl.rows.height:,} 家企业，合计 {yuan_text(wl.total_fen)}"
                  + ("" if wl.budget_fen is None else
                     f"；本政策合计 {yuan_text(wl.policy_total_fen)} / 预算 {yuan_text(wl.budget_fen)}"
                     + ("（超出预算）" if wl.over_budget else "")))
    for p in written:
        console.print(f"已写出 {p}")


@app.command("rematch", help="增量匹配：企业数据更新后，只重算这些企业（及读取所改字段的条款），变化写入事件发件箱。")
@translate_errors
def rematch(
    usccs: Annotated[list[str], typer.Argument(help="统一社会信用代码（可多个）")],
    fields: Annotated[str | None, typer.Option("--fields", help="变更的字段，逗号分隔（名单写 list:名称）")] = None,
    run_id: RunId = None, data_dir: DataDir = None,
) -> None:
    from zhida.matching.incremental import rematch_enterprises
    from zhida.matching.run import load_run

    a = _app(data_dir)
    r = load_run(a.uow(), run_id)
    update = rematch_enterprises(a.uow(), a.match_setup, r, ProfileStore(Path(r.snapshot.root)),
                                 [u.strip().upper() for u in usccs],
                                 fields=[f.strip() for f in fields.split(",")] if fields else None)
    _print_update(update)


@app.command("publish", help="发布政策新版本并增量重算：全体企业 × 该政策条款，"
                             "变化写入事件发件箱（与发布记录同一事务）。")
@translate_errors
def publish(policy_file: Annotated[Path, typer.Argument(help="政策 YAML 文件")], run_id: RunId = None,
            data_dir: DataDir = None) -> None:
    from zhida.accounts import SYSTEM
    from zhida.matching.incremental import publish_policy
    from zhida.matching.run import load_run
    from zhida.published import publish as publish_version
    from zhida.rules.model.policy import load_policy_file

    a = _app(data_dir)
    policy = load_policy_file(policy_file)
    r = load_run(a.uow(), run_id)
    uow = a.uow()
    with uow:  # the published version and the re-match commit together
        publish_version(uow, [policy], actor=SYSTEM)
        update = publish_policy(uow, a.match_setup, r, ProfileStore(Path(r.snapshot.root)), policy)
        uow.commit()
    _print_update(update)


def _print_update(update: Update) -> None:
    from zhida.matching.outbox import KIND_LABELS

    who = "全部企业" if update.enterprises is None else f"{len(update.enterprises)} 家企业"
    console.print(f"增量更新 #{update.id}（批次 {update.run_id}）：{who} × {len(update.clauses)} 个条款，"
                  f"{update.pairs:,} 条结果，{update.events.height:,} 个事件")
    for kind, n in update.events.group_by("kind").len().sort("kind").iter_rows():
        console.print(f"  {KIND_LABELS.get(kind, kind)}：{n:,}")


@app.command("events", help="列出事件发件箱中待通知的匹配变化（新符合、不再符合、金额变化）。")
@translate_errors
def events(data_dir: DataDir = None, limit: Annotated[int, typer.Option("--limit")] = 50) -> None:
    from zhida.matching.outbox import KIND_LABELS, pending_events

    t = Table("#", "时间", "企业", "条款", "变化", "原金额", "新金额")
    for e in pending_events(_app(data_dir).uow(), limit):
        t.add_row(str(e.id), e.created_at.isoformat(timespec="seconds"), e.uscc, e.clause,
                  KIND_LABELS.get(e.kind, e.kind),
                  "—" if e.old_amount_fen is None else yuan_text(e.old_amount_fen),
                  "—" if e.new_amount_fen is None else yuan_text(e.new_amount_fen))
    console.print(t)


@app.command("sandbox", help="政策沙盘：草稿对全体企业试算（不发布）：覆盖、成本与预算、分组、"
                             "与已发布版本（同一政策编号）的差异。")
@translate_errors
def sandbox(
    draft_file: Annotated[Path, typer.Argument(help="草稿政策 YAML 文件（同 id 的已发布版本取自发布记录）")],
    as_of: AsOf = None, demo: Demo = None, seed: Seed = 2026, data_dir: DataDir = None,
    top: Annotated[int, typer.Option("--top", help="列出得失最大的企业数")] = 10,
) -> None:
    from zhida.matching.sandbox import simulate
    from zhida.published import published_set
    from zhida.rules.model.policy import load_policy_file, parse_policy

    on, a = parse_date(as_of), _app(data_dir)
    draft = load_policy_file(draft_file)
    current = next((v for v in published_set(a.uow()) if v.policy_id == draft.id), None)
    published = None if current is None else parse_policy(current.document, f"已发布版本 {current.content_hash[:12]}")
    sim = simulate(_store(a, demo, seed, on), a.schema, on, draft, published, zones_dir=a.zones_dir)
    t = Table("", "草稿", "已发布", title=f"政策沙盘 · {draft.spec.title} · {sim.enterprises:,} 家企业 · 评估日 {on}")
    rows: list[tuple[str, str, Callable[[int], str]]] = [
        ("符合企业", "eligible_enterprises", str), ("待补充数据企业", "unknown_enterprises", str),
        ("兑付成本", "cost_fen", yuan_text), ("预计减免（政策体检）", "report_only_fen", yuan_text)]
    for label, attr, fmt in rows:
        t.add_row(label, fmt(getattr(sim.draft, attr)),
                  "—" if sim.published is None else fmt(getattr(sim.published, attr)))
    t.add_row("预算", "未设定" if sim.draft.budget_fen is None else yuan_text(sim.draft.budget_fen)
              + ("（超出）" if sim.draft.over_budget else ""),
              "—" if sim.published is None or sim.published.budget_fen is None else yuan_text(sim.published.budget_fen))
    console.print(t)
    g = Table("维度", "分组", "企业数", "金额", title="草稿按区县 / 行业 / 规模")
    for dim, group, n, fen in sim.draft.by_group.iter_rows():
        g.add_row(dim, group, f"{n:,}", yuan_text(int(fen or 0)))
    console.print(g)
    more = sim.changes.filter(pl.col("change") == "more").height
    less = sim.changes.filter(pl.col("change") == "less").height
    console.print(f"新增符合 {sim.gainers().height:,} 家，不再符合 {sim.losers().height:,} 家，"
                  f"金额增加 {more:,} 家、减少 {less:,} 家；成本变化 {yuan_text(sim.delta_fen)}")
    d = Table("企业", "名称", "变化", "已发布", "草稿", "差额", title=f"得失最大的 {top} 家")
    labels = {"gains": "新增符合", "loses": "不再符合", "more": "增加", "less": "减少"}
    biggest = sim.changes.sort(pl.col("delta_fen").abs(), descending=True).head(top)
    for r in biggest.iter_rows(named=True):
        d.add_row(r["uscc"], r["name"] or "", labels[r["change"]], yuan_text(r["old_fen"]), yuan_text(r["new_fen"]),
                  yuan_text(r["delta_fen"]))
    console.print(d)
