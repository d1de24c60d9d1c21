"""`zhida apply …`: 即申即办 / 申报审批：企业申报、材料银行、部门审核。

Thin shells over zhida.workflow.applications and zhida.workflow.materials: each command
resolves the acting account (`--as 用户名`), calls one service and prints the result.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from zhida.cli.context import app as make_app
from zhida.cli.errors import fail, parse_date, translate_errors
from zhida.cli.offer import As, DataDir, Today, acting

app = typer.Typer(no_args_is_help=True)
console = Console(soft_wrap=True)

Clause = Annotated[str, typer.Argument(help="条款键，如 cn-mof-2017-164-graduate-social-insurance/graduate-si-subsidy")]
AppId = Annotated[int, typer.Argument(help="申报编号（见 zhida apply list）")]


def _yuan(fen: int | None) -> str:
    from zhida.workflow.notices import yuan

    return "—" if fen is None else yuan(fen)


@app.command("start", help="企业开始申报：按条款预填本企业画像中的事实（重复执行得到同一份申报）。")
@translate_errors
def start(clause: Clause, today: Today = None, username: As = None, data_dir: DataDir = None) -> None:
    from zhida.workflow.applications import start as start_application

    a = make_app(data_dir)
    x = start_application(a.uow(), a.profile_facts(), clause, actor=acting(a.uow(), username),
                          today=parse_date(today))
    console.print(f"申报 {x.id}（{x.state.label}），受理部门 {x.department}。"
                  f"下一步：zhida apply show {x.id} 查看预填的申报表。", markup=False)


@app.command("show", help="查看申报表：每项事实的数值与来源、还需补充的事实、材料、提交后会怎样。")
@translate_errors
def show(application_id: AppId, username: As = None, data_dir: DataDir = None) -> None:
    from zhida.workflow.applications import form

    a = make_app(data_dir)
    f = form(a.uow(), a.profile_facts(), application_id, actor=acting(a.uow(), username))
    x = f.application
    console.print(f"申报 {x.id}：{f.policy_title} — {f.title}（{f.mode_label}）", markup=False)
    console.print(f"企业 {x.uscc}，评估日 {x.as_of}，状态：{x.state.label}", markup=False)
    t = Table("事实（字段）", "数值", "来源")
    for line in f.facts:
        t.add_row(f"{line.label}\n{line.column}", line.value if line.value is not None else "（缺）",
                  line.source + ("" if line.value is not None or not line.declarable else "；可企业自报"))
    console.print(t)
    if f.materials_required:
        console.print("所需材料：" + "、".join(f.materials_required), markup=False)
    for m in f.materials:
        console.print(f"  已附材料 {m.id}：{m.file_name}（{m.kind_label}）", markup=False)
    console.print(f"测算金额：{_yuan(f.result.amount_fen)} 元。{f.decision}", markup=False)


@app.command("declare", help="企业自报画像中缺少的事实：列名=数值（可多项；留空=撤回），标记为自报，经审核后使用。")
@translate_errors
def declare(application_id: AppId,
            facts: Annotated[list[str], typer.Argument(help="如 graduate_si_employer_paid@2023=36000")],
            username: As = None, data_dir: DataDir = None) -> None:
    from zhida.workflow.applications import declare as declare_facts

    answers = {}
    for item in facts:
        column, sep, value = item.partition("=")
        if not sep:
            raise typer.BadParameter(f"“{item}”应写成 列名=数值，如 graduate_si_employer_paid@2023=36000")
        answers[column.strip()] = value
    a = make_app(data_dir)
    x = declare_facts(a.uow(), a.profile_facts(), application_id, answers, actor=acting(a.uow(), username))
    console.print(f"已保存申报 {x.id} 的自报事实：{'、'.join(f'{k}={v}' for k, v in x.declared.items()) or '（无）'}",
                  markup=False)


@app.command("upload", help="上传材料到本企业的材料银行（PDF、图片、OFD、Word、Excel；一次上传，多次使用）。")
@translate_errors
def upload(file: Annotated[Path, typer.Argument(help="文件路径", exists=True, dir_okay=False)],
           kind: Annotated[str | None, typer.Option("--kind", help="材料类别（默认按文件名识别）")] = None,
           username: As = None, data_dir: DataDir = None) -> None:
    from zhida.workflow.materials import upload as upload_material

    a = make_app(data_dir)
    m = upload_material(a.uow(), a.data_dir, actor=acting(a.uow(), username), file_name=file.name,
                        content=file.read_bytes(), kind=kind)
    console.print(f"材料 {m.id}：{m.file_name}（{m.kind_label}，{m.size} 字节）已在材料银行中。", markup=False)


@app.command("materials", help="列出本企业材料银行中的材料。")
@translate_errors
def materials(username: As = None, data_dir: DataDir = None) -> None:
    from zhida.workflow.materials import find

    a = make_app(data_dir)
    t = Table("编号", "文件", "类别", "大小（字节）", "上传时间")
    for m in find(a.uow(), actor=acting(a.uow(), username)):
        t.add_row(str(m.id), m.file_name, m.kind_label, str(m.size), f"{m.uploaded_at:%Y-%m-%d %H:%M}")
    console.print(t)


@app.command("attach", help="把材料银行中的材料附到申报上。")
@translate_errors
def attach(application_id: AppId, material_id: Annotated[int, typer.Argument(help="材料编号")],
           username: As = None, data_dir: DataDir = None) -> None:
    from zhida.workflow.applications import attach as attach_material

    a = make_app(data_dir)
    done = attach_material(a.uow(), application_id, material_id, actor=acting(a.uow(), username))
    console.print(f"申报 {application_id} 已附材料：{'、'.join(m.file_name for m in done)}", markup=False)


@app.command("submit", help="提交申报（或被退回后重新提交）：即申即办且数据齐全的当即办结，否则转部门审核。")
@translate_errors
def submit(application_id: AppId,
           account_name: Annotated[str, typer.Option("--account-name", help="开户名称")],
           account_bank: Annotated[str, typer.Option("--account-bank", help="开户银行")],
           account_no: Annotated[str, typer.Option("--account-no", help="银行账号")],
           pledge: Annotated[bool, typer.Option("--pledge", help="签署承诺：所报信息真实，不重复享受")] = False,
           username: As = None, data_dir: DataDir = None) -> None:
    from zhida.workflow.applications import submit as submit_application

    a = make_app(data_dir)
    x = submit_application(a.uow(), a.profile_facts(), application_id, actor=acting(a.uow(), username),
                           account_name=account_name, account_bank=account_bank, account_no=account_no,
                           pledge=pledge)
    if x.offer_id is not None:
        console.print(f"申报 {x.id} 已即时办结：{_yuan(x.amount_fen)} 元转入拨付（兑现事项 {x.offer_id}）。",
                      markup=False)
    else:
        console.print(f"申报 {x.id} 已提交，转 {x.department} 审核，办结时限 {x.due_by:%Y-%m-%d %H:%M}。", markup=False)


@app.command("list", help="企业：本企业的申报；审核人员：本部门待审核的申报（--overdue 只看超时的）。")
@translate_errors
def list_(overdue: Annotated[bool, typer.Option("--overdue", help="只列已超过办结时限的")] = False,
          username: As = None, data_dir: DataDir = None) -> None:
    from zhida.accounts import Role
    from zhida.workflow.applications import applications_of, review_queue

    a = make_app(data_dir)
    actor = acting(a.uow(), username)
    now = datetime.now(UTC)
    rows = (applications_of(a.uow(), actor=actor) if Role.ENTERPRISE in actor.roles
            else review_queue(a.uow(), actor=actor, overdue_at=now if overdue else None))
    t = Table("编号", "条款", "企业", "金额（元）", "状态", "办结时限")
    for x in rows:
        limit = "" if x.due_by is None else f"{x.due_by:%Y-%m-%d}" + ("（已超时）" if x.overdue(now) else "")
        t.add_row(str(x.id), x.clause, x.uscc, _yuan(x.amount_fen), x.state.label, limit)
    console.print(t)
    console.print(f"共 {len(rows)} 件。")


@app.command("decide", help="审核人员办结申报：--approve 通过（转入拨付）或 --reject 不予通过（须写理由）。")
@translate_errors
def decide(application_id: AppId,
           approve: Annotated[bool, typer.Option("--approve", help="通过")] = False,
           reject: Annotated[bool, typer.Option("--reject", help="不予通过")] = False,
           reason: Annotated[str, typer.Option("--reason", help="理由（不予通过时必填）")] = "",
           amount: Annotated[str | None, typer.Option(
               "--amount", help="核定金额（元，如 80000.50；仅“不超过”上限的条款，由审核核定）")] = None,
           username: As = None, data_dir: DataDir = None) -> None:
    from zhida.workflow.applications import decide as decide_application
    from zhida.workflow.bankfiles import parse_yuan

    if approve == reject:
        raise typer.BadParameter("请二选一：--approve（通过）或 --reject（不予通过）")
    fen = None if amount is None else parse_yuan(amount)
    if amount is not None and fen is None:
        fail(f"金额“{amount}”无法识别", "写成元，至多两位小数，如 80000.50")
    a = make_app(data_dir)
    x = decide_application(a.uow(), application_id, approve=approve, reason=reason, amount_fen=fen,
                           actor=acting(a.uow(), username))
    console.print(f"申报 {x.id}：{x.state.label}" + (f"，兑现事项 {x.offer_id}" if x.offer_id else ""), markup=False)
