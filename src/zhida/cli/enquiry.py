"""`zhida enquiry …`: 诉求 — a firm's requests and questions, answered by departments.

Thin shells over zhida.workflow.enquiries; `--as 用户名` names the acting account.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from zhida.cli.context import app as make_app
from zhida.cli.errors import translate_errors
from zhida.cli.offer import As, DataDir, acting

app = typer.Typer(no_args_is_help=True)
console = Console(soft_wrap=True)
EnquiryId = Annotated[int, typer.Argument(help="诉求编号（见 zhida enquiry list）")]


@app.command("submit", help="企业提交诉求：按内容转给主管部门，限时答复。")
@translate_errors
def submit(text: Annotated[str, typer.Argument(help="诉求内容")],
           department: Annotated[str, typer.Option("--department", help="建议的承办部门（名称），可不填")] = "",
           username: As = None, data_dir: DataDir = None) -> None:
    from zhida.workflow.enquiries import submit as submit_enquiry

    a = make_app(data_dir)
    e = submit_enquiry(a.uow(), actor=acting(a.uow(), username), text=text, department_hint=department,
                       source="cli")
    console.print(f"诉求 {e.id} 已提交（{e.topic_label}），转 {e.department} 办理，"
                  f"答复时限 {e.due_by:%Y-%m-%d %H:%M}。", markup=False)


@app.command("list", help="企业：本企业的诉求；部门人员：本部门待答复的诉求（--overdue 只看超时的）。")
@translate_errors
def list_(overdue: Annotated[bool, typer.Option("--overdue", help="只列已超过答复时限的")] = False,
          username: As = None, data_dir: DataDir = None) -> None:
    from zhida.accounts import Role
    from zhida.workflow.enquiries import mine, queue

    a = make_app(data_dir)
    actor = acting(a.uow(), username)
    now = datetime.now(UTC)
    rows = mine(a.uow(), actor=actor) if Role.ENTERPRISE in actor.roles else \
        queue(a.uow(), actor=actor, overdue_at=now if overdue else None)
    t = Table("编号", "企业", "主题", "部门", "状态", "答复时限", "督办次数", "内容")
    for e in rows:
        late = "（已超时）" if e.overdue(now) else ""
        t.add_row(str(e.id), e.uscc, e.topic_label, e.department, e.state_label, f"{e.due_by:%Y-%m-%d}{late}",
                  str(e.escalations), e.text[:40])
    console.print(t)
    console.print(f"共 {len(rows)} 条。")


@app.command("reply", help="部门答复诉求（企业会收到消息）。")
@translate_errors
def reply(enquiry_id: EnquiryId, text: Annotated[str, typer.Option("--text", help="答复内容")],
          username: As = None, data_dir: DataDir = None) -> None:
    from zhida.workflow.enquiries import reply as reply_enquiry

    a = make_app(data_dir)
    e = reply_enquiry(a.uow(), enquiry_id, text, actor=acting(a.uow(), username))
    console.print(f"诉求 {e.id} 已答复。", markup=False)


@app.command("close", help="企业办结诉求并评价满意度（1–5 分）。")
@translate_errors
def close(enquiry_id: EnquiryId, rating: Annotated[int, typer.Option("--rating", help="满意度 1–5")],
          note: Annotated[str, typer.Option("--note", help="评价（可不填）")] = "",
          username: As = None, data_dir: DataDir = None) -> None:
    from zhida.workflow.enquiries import close as close_enquiry

    a = make_app(data_dir)
    e = close_enquiry(a.uow(), enquiry_id, rating=rating, note=note, actor=acting(a.uow(), username))
    console.print(f"诉求 {e.id} 已办结，满意度 {e.rating} 分。", markup=False)


@app.command("reopen", help="答复没有解决问题：企业重新提出，转回部门并重新计时。")
@translate_errors
def reopen(enquiry_id: EnquiryId, note: Annotated[str, typer.Option("--note", help="还有什么没有解决")],
           username: As = None, data_dir: DataDir = None) -> None:
    from zhida.workflow.enquiries import reopen as reopen_enquiry

    a = make_app(data_dir)
    e = reopen_enquiry(a.uow(), enquiry_id, note, actor=acting(a.uow(), username))
    console.print(f"诉求 {e.id} 已重新提出，答复时限 {e.due_by:%Y-%m-%d %H:%M}。", markup=False)


@app.command("escalate", help="督办：所有超过答复时限的诉求各督办一次；--schedule 改为安排当天的后台任务"
                              "（zhida jobs work 执行，同一天重复安排不会重复执行）。")
@translate_errors
def escalate(schedule: Annotated[bool, typer.Option("--schedule", help="安排为后台任务")] = False,
             username: As = None, data_dir: DataDir = None) -> None:
    from zhida.workflow.enquiries import escalate_overdue
    from zhida.workflow.jobkinds import schedule_escalation

    a = make_app(data_dir)
    now, actor = datetime.now(UTC), acting(a.uow(), username)
    if schedule:
        made = schedule_escalation(a.uow(), now, actor=actor)
        console.print(f"任务 {made.job.id} {made.job.kind}：" + ("已安排" if made.created else "今天已安排，未重复添加")
                      + "；用 zhida jobs work --once 执行。", markup=False)
        return
    done = escalate_overdue(a.uow(), now, actor=actor)
    console.print(f"已督办 {len(done)} 条诉求" + (f"：{'、'.join(map(str, done))}" if done else "。"), markup=False)
