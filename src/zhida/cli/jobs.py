"""`zhida jobs …`: 后台任务：提醒、逾期处理、批量生成兑现事项、银行代发。

Thin shells over `zhida.workflow.jobs` (the runner) and `zhida.workflow.jobkinds` (the kinds and
the day's schedule). A worker is safe to stop with Ctrl-C: the job it was running is rolled back
and put back in the queue; a worker that is killed outright leaves its job to another worker
once its lease lapses.
"""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from zhida.cli.context import app as make_app
from zhida.cli.errors import parse_date, translate_errors
from zhida.cli.offer import As, ConfirmBy, DataDir, Department, Period, RunId, Today, acting

app = typer.Typer(no_args_is_help=True)
console = Console(soft_wrap=True)


def _at(moment: object) -> str:
    return "" if moment is None else f"{moment:%Y-%m-%d %H:%M:%S}"


@app.command("list", help="列出后台任务（最新在前）。")
@translate_errors
def list_(state: Annotated[str | None, typer.Option("--state", help="只列某状态：queued、running、done、failed")]
          = None,
          limit: Annotated[int, typer.Option("--limit", help="最多列出几条")] = 100,
          username: As = None, data_dir: DataDir = None) -> None:
    from zhida.workflow.jobs import STATE_LABELS, list_jobs

    a = make_app(data_dir)
    rows = list_jobs(a.uow(), actor=acting(a.uow(), username), state=state, limit=limit)
    t = Table("编号", "类型", "状态", "尝试", "执行账号", "计划时间（UTC）", "完成时间（UTC）", "最近错误")
    for j in rows:
        t.add_row(str(j.id), j.kind, f"{STATE_LABELS[j.state]}（{j.state}）", f"{j.attempts}/{j.max_attempts}",
                  j.actor, _at(j.run_at), _at(j.finished_at), j.last_error or "")
    console.print(t)
    console.print(f"共 {len(rows)} 条。")


@app.command("work", help="运行后台任务（Ctrl-C 可安全停止：正在执行的任务回滚并放回队列）。")
@translate_errors
def work(once: Annotated[bool, typer.Option("--once", help="执行完当前到期的任务后退出")] = False,
         max_jobs: Annotated[int | None, typer.Option("--max-jobs", help="最多执行几个任务后退出")] = None,
         poll: Annotated[float, typer.Option("--poll", help="无任务时每隔几秒查看一次")] = 5.0,
         data_dir: DataDir = None) -> None:
    from zhida.workflow.jobkinds import CHECKPOINT, checkpointing, worker
    from zhida.workflow.jobs import STATE_LABELS, Job

    a = make_app(data_dir)
    w = worker(a.uow, extra={CHECKPOINT: checkpointing(a.audit_signer(), a.settings.audit_origin)},
               data_dir=a.data_dir)
    counts = {"done": 0, "queued": 0, "failed": 0, "running": 0}

    def progress(job: Job) -> None:
        counts[job.state] += 1
        tail = f"：{job.last_error}" if job.last_error and job.state != "done" else ""
        console.print(f"任务 {job.id} {job.kind}（第 {job.attempts} 次）{STATE_LABELS[job.state]}{tail}"
                      f" —— 累计完成 {counts['done']}，待重试 {counts['queued']}，失败 {counts['failed']}",
                      markup=False)

    def idle() -> bool:
        time.sleep(poll)
        return True

    console.print(f"执行者 {w.name} 开始运行" + ("（执行完到期任务后退出）" if once else "（Ctrl-C 停止）"),
                  markup=False)
    try:
        ran = w.run(max_jobs=max_jobs, until_idle=once, on_job=progress, idle=idle)
    except KeyboardInterrupt:
        console.print(f"已停止：执行了 {sum(counts.values())} 个任务；正在执行的任务已回滚并放回队列。")
        raise typer.Exit(130) from None
    console.print(f"执行了 {ran} 个任务：完成 {counts['done']}，待重试 {counts['queued']}，失败 {counts['failed']}。")


@app.command("schedule", help="安排某日的提醒与逾期处理（本部门；同一天重复安排不会重复执行）。")
@translate_errors
def schedule(today: Today = None,
             days_before: Annotated[int, typer.Option("--days-before", help="截止前几天开始提醒")] = 3,
             username: As = None, data_dir: DataDir = None) -> None:
    from zhida.workflow.jobkinds import schedule_day

    a = make_app(data_dir)
    made = schedule_day(a.uow(), parse_date(today), actor=acting(a.uow(), username), days_before=days_before)
    for m in made:
        console.print(f"任务 {m.job.id} {m.job.kind}：" + ("已安排" if m.created else "此前已安排，未重复添加")
                      + f"（{m.job.payload['today']}，部门 {m.job.payload['department']}）。", markup=False)
    console.print("用 zhida jobs work --once 执行。")


@app.command("offers", help="安排后台任务：按匹配批次的名单生成条款的兑现事项"
                            "（默认最近一次匹配；重复安排不会重复生成）。")
@translate_errors
def offers(clause: Annotated[str, typer.Argument(help="条款键，如 cn-hrss-2024-40-job-retention/refund-sme")],
           department: Department,
           run_id: RunId = None,
           confirm_by: ConfirmBy = None,
           period: Period = None,
           username: As = None, data_dir: DataDir = None) -> None:
    from zhida.matching.run import load_run
    from zhida.workflow.jobkinds import schedule_offers

    a = make_app(data_dir)
    run = load_run(a.uow(), run_id)
    m = schedule_offers(a.uow(), run.id, clause, department=department, actor=acting(a.uow(), username),
                        confirm_by=parse_date(confirm_by) if confirm_by else None, period=period)
    console.print(f"任务 {m.job.id} {m.job.kind}：" + ("已安排" if m.created else "此前已安排，未重复添加")
                  + f"（匹配批次 {run.id}，条款 {clause}，部门 {department}）；用 zhida jobs work --once 执行。",
                  markup=False)


@app.command("retry", help="重试失败的任务（尝试次数清零）。")
@translate_errors
def retry(job_id: Annotated[int, typer.Argument(help="任务编号（见 zhida jobs list）")],
          username: As = None, data_dir: DataDir = None) -> None:
    from zhida.workflow.jobs import retry as retry_job

    a = make_app(data_dir)
    job = retry_job(a.uow(), job_id, actor=acting(a.uow(), username))
    console.print(f"任务 {job.id} {job.kind} 已重新排队。")
