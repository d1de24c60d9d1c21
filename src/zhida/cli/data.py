"""`zhida data`: generate a synthetic city, load department feeds, data quality, lineage, data uses."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from zhida.cli.context import app as make_app
from zhida.cli.errors import parse_date
from zhida.errors import ZhidaError
from zhida.profiles.store import ProfileStore

app = typer.Typer(no_args_is_help=True)
console = Console()
err = Console(stderr=True)

DataDir = Annotated[Path | None, typer.Option("--data-dir", help="数据目录（默认 ./.zhida 或 $ZHIDA_DATA_DIR）")]
AsOf = Annotated[str | None, typer.Option("--as-of", help="评估日 YYYY-MM-DD（默认今天）")]



@contextmanager
def _errors() -> Iterator[None]:
    """The CLI's one error translator: a ZhidaError becomes a message and an exit code."""
    try:
        yield
    except ZhidaError as e:
        err.print(f"[bold red]错误：[/]{e}")
        raise typer.Exit(e.exit_code) from None


@contextmanager
def _progress(total: int, title: str) -> Iterator[Callable[[str], None]]:
    with Progress(SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(),
                  TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(),
                  console=err, transient=False) as bar:
        task = bar.add_task(title, total=total)

        def step(msg: str) -> None:
            bar.update(task, advance=1, description=f"{title}：{msg}")

        yield step
        bar.update(task, completed=total, description=f"{title}：完成")


def _store(data_dir: Path | None) -> ProfileStore:
    return make_app(data_dir).profile_store()


@app.command("generate", help="生成合成城市：每个部门一份数据，使用该部门自己的列名与格式。")
def generate(
    out: Annotated[Path, typer.Option("--out", help="输出目录")],
    enterprises: Annotated[int, typer.Option("--enterprises", min=10)] = 10_000,
    seed: Annotated[int, typer.Option("--seed")] = 1,
    as_of: AsOf = None,
    defect_rate: Annotated[float, typer.Option("--defect-rate", min=0.0, max=0.5)] = 0.001,
) -> None:
    from zhida.profiles.generate import FEEDS, generate_city

    with _errors(), _progress(3 + len(FEEDS), "生成") as step:
        m = generate_city(out, enterprises, seed, parse_date(as_of), defect_rate, progress=step)
    t = Table("来源", "文件", "行数", "故意缺陷")
    for source, f in m.feeds.items():
        t.add_row(source, f["file"], f"{f['rows']:,}", str(len(f["defects"])))
    console.print(t)
    console.print(f"已写出 {out}/manifest.json（种子 {seed}，截止日 {m.as_of}，缺陷率 {defect_rate}）")


@app.command("load", help="导入一个部门数据文件（CSV/XLSX/Parquet）。坏行隔离并全部报告，好行一次性提交。")
def load(
    source: Annotated[str, typer.Argument(help="来源：market/tax/hrss/stats/sci/econ/ip/credit/geo/bank/lease")],
    file: Annotated[Path, typer.Argument(exists=False)],
    mapping: Annotated[str | None, typer.Option(
        "--mapping", help="映射文件路径，或内置映射名（如 hrss-year）；默认为与来源同名的内置映射")] = None,
    known_on: Annotated[str | None, typer.Option("--known-on", help="数据截止日（默认今天）")] = None,
    report: Annotated[Path | None, typer.Option("--report", help="把全部被拒记录写成 CSV")] = None,
    data_dir: DataDir = None,
) -> None:
    from zhida.profiles.load import load_feed

    with _errors():
        store = _store(data_dir)
        with _progress(4, f"导入 {file.name}") as step:
            as_path = mapping is not None and (mapping.endswith((".yaml", ".yml")) or Path(mapping).exists())
            r = load_feed(store, source, file, mapping_path=Path(mapping) if as_path and mapping else None,
                          mapping_name=None if as_path else mapping,
                          known_on=parse_date(known_on) if known_on else None, progress=step)
    if report is None and r.batch.rows_rejected and not r.already_loaded:
        report = make_app(data_dir).data_dir / "reports" / f"{r.batch.id}-rejects.csv"
        report.parent.mkdir(parents=True, exist_ok=True)
    _print_load(r, report)


def _print_load(r, report: Path | None) -> None:
    b = r.batch
    if r.already_loaded:
        console.print(f"{b.file_name} 已于 {b.loaded_at} 导入（批次 {b.id}），本次未做任何更改。")
        return
    console.print(f"{b.file_name}：共 {b.rows_total:,} 行，导入 {b.rows_loaded:,} 行、{b.facts:,} 条事实、"
                  f"{b.list_entries:,} 条名单记录；隔离 {b.rows_rejected:,} 行（批次 {b.id}）")
    if b.rows_rejected:
        t = Table("行号", "列", "字段", "值", "原因", title="被拒记录（前 50 条；请更正源数据后重新导入这些行）")
        for row in r.rejects.head(50).iter_rows(named=True):
            t.add_row(str(row["row"]), row["column"], row["field"], str(row["value"] or ""), row["reason"])
        console.print(t)
        for reason, n in b.rejects_by_reason.items():
            console.print(f"  {n:>6,} × {reason}")
    if r.warnings.height:
        console.print(f"[yellow]警告 {r.warnings.height} 条（已导入）[/]：{r.warnings['reason'][0]}")
    if report is not None and not r.already_loaded:
        r.rejects.write_csv(report)
        console.print(f"全部 {r.rejects.height:,} 条被拒记录已写入 {report}")


@app.command("load-city", help="按 manifest.json 导入 `zhida data generate` 生成的全部数据文件。")
def load_city(city: Annotated[Path, typer.Argument()], data_dir: DataDir = None) -> None:
    from zhida.profiles.demo import load_city as load_all
    from zhida.profiles.generate import LOAD_ORDER, CityManifest

    with _errors():
        store = _store(data_dir)
        m = CityManifest.read(city)
        with _progress(len(LOAD_ORDER), "导入合成城市") as step:
            reports = load_all(store, m, step)
    t = Table("来源", "文件", "导入行", "事实", "名单", "隔离行", "说明")
    for r in reports.values():
        b = r.batch
        t.add_row(b.source, b.file_name, f"{b.rows_loaded:,}", f"{b.facts:,}", f"{b.list_entries:,}",
                  f"{b.rows_rejected:,}", "已导入过，未更改" if r.already_loaded else "")
    console.print(t)


@app.command("quality", help="数据质量：各来源的新鲜度、导入/拒收行数及原因、字段覆盖率。")
def quality(as_of: AsOf = None, data_dir: DataDir = None) -> None:
    from zhida.profiles.quality import source_quality
    from zhida.profiles.registry import load_registry

    with _errors():
        qs = source_quality(_store(data_dir), load_registry(), parse_date(as_of))
    t = Table("来源", "批次", "数据截止日", "距今(天)", "新鲜", "总行", "导入", "拒收", title="各来源新鲜度与导入情况")
    for q in qs:
        fresh = "—" if q.fresh is None else ("是" if q.fresh else "[red]过期[/]")
        t.add_row(q.label, str(q.batches), q.known_on or "未导入", "" if q.age_days is None else str(q.age_days),
                  fresh, f"{q.rows_total:,}", f"{q.rows_loaded:,}", f"{q.rows_rejected:,}")
    console.print(t)
    reasons = Table("来源", "拒收原因", "条数", title="拒收原因")
    coverage = Table("来源", "字段", "覆盖率", title="字段覆盖率（占全部企业的比例）")
    for q in qs:
        for reason, n in q.rejects_by_reason.items():
            reasons.add_row(q.label, reason, f"{n:,}")
        for fid, pct in q.coverage.items():
            coverage.add_row(q.label, fid, f"{pct:.1f}%")
    console.print(reasons)
    console.print(coverage)


@app.command("show", help="查看一家企业的画像及每个值的来源（查看即记录一次数据使用）。")
def show(
    uscc: Annotated[str, typer.Argument()],
    purpose: Annotated[str, typer.Option("--purpose", help="用途")] = "数据核查",
    basis: Annotated[str, typer.Option("--basis", help="法律依据或授权")] = "数据局数据治理职责",
    whole: Annotated[bool, typer.Option("--whole", help="显示完整的个人信息（须有工作需要并写明用途；另记入审计日志）")]
    = False,
    as_of: AsOf = None,
    data_dir: DataDir = None,
) -> None:
    from zhida.accounts import SYSTEM
    from zhida.profiles.profile import view_profile
    from zhida.profiles.registry import load_registry

    with _errors():
        df = view_profile(make_app(data_dir).uow(), _store(data_dir), load_registry(), uscc.upper(),
                          parse_date(as_of), actor=SYSTEM, purpose=purpose, legal_basis=basis, whole=whole)
        if df.is_empty():
            raise typer.BadParameter(f"画像库中没有企业 {uscc}")
    t = Table("字段", "所属期", "值", "来源", "记录", "文件", "导入时间", "采用", title=f"企业画像 {uscc}")
    for r in df.iter_rows(named=True):
        t.add_row(r["label"], r["period"] or "", r["value"], r["source"], str(r["record_id"]), r["file"],
                  r["loaded_at"][:16].replace("T", " "), "✓" if r["chosen"] else "")
    console.print(t)


@app.command("uses", help="列出一家企业的全部数据使用记录。")
def uses(uscc: Annotated[str, typer.Argument()], data_dir: DataDir = None) -> None:
    from zhida.profiles.datause import uses_of_enterprise

    with _errors():
        rows = uses_of_enterprise(make_app(data_dir).uow(), uscc.upper())
    t = Table("时间", "范围", "用途", "使用人", "依据/授权", "字段")
    for u in rows:
        t.add_row(f"{u.used_at:%Y-%m-%d %H:%M}", "全体企业" if u.scope == "population" else "本企业",
                  u.purpose, u.actor, u.legal_basis or u.consent_ref or "", "、".join(u.fields))
    console.print(t if rows else f"企业 {uscc} 没有数据使用记录。")


@app.command("fields", help="列出字段注册表。")
def fields() -> None:
    from zhida.profiles.registry import load_registry

    reg = load_registry()
    from zhida.profiles.registry import LEVEL_LABELS

    t = Table("id", "中文名", "类型", "周期", "来源", "分级")
    for f in reg.fields.values():
        src = "派生" if f.derived else reg.sources[f.source].label
        t.add_row(f.id, f.label, f.type, f.period, src, LEVEL_LABELS[f.classification])
    console.print(t)
