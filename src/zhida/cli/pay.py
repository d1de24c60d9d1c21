"""`zhida pay …`: 资金拨付：预算、拨付批次、代发文件、银行回单。

Thin shells over `zhida.workflow` (payments, batches, bankfiles, books): `--as 用户名` acts as
a named finance account (a batch is approved by someone other than its preparer); without it,
the local operator.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from zhida.cli.context import app as make_app
from zhida.cli.errors import fail, translate_errors
from zhida.cli.offer import As, DataDir, acting

app = typer.Typer(no_args_is_help=True)
batch_app = typer.Typer(no_args_is_help=True)
app.add_typer(batch_app, name="batch", help="拨付批次：编制（预算内）、审批（编制人以外的财政人员）、列表。")
console = Console(soft_wrap=True)


def _yuan(fen: int) -> str:
    from zhida.workflow.notices import yuan

    return yuan(fen)


@app.command("fund", help="下达预算：政策某年度的资金（元，至多两位小数）。")
@translate_errors
def fund(policy: Annotated[str, typer.Argument(help="政策编号")], year: Annotated[int, typer.Argument(help="年度")],
         amount: Annotated[str, typer.Argument(help="金额（元），如 1000000 或 1000000.50")],
         username: As = None, data_dir: DataDir = None) -> None:
    from zhida.workflow.bankfiles import parse_yuan
    from zhida.workflow.payments import fund_budget

    fen = parse_yuan(amount)
    if fen is None:
        fail(f"金额“{amount}”无法识别", "写成正数元，至多两位小数，如 1000000.50")
    a = make_app(data_dir)
    total = fund_budget(a.uow(), policy, year, fen, actor=acting(a.uow(), username))
    console.print(f"政策 {policy} {year}年预算已下达 {_yuan(fen)} 元，累计 {_yuan(total)} 元。")


@batch_app.command("prepare", help="编制拨付批次：条款某年度全部已确认事项（预算不足则不生成并说明缺口）；"
                                    "--advance 70 预先拨付七成，--balance 拨付已清算事项的余款。")
@translate_errors
def prepare(clause: Annotated[str, typer.Argument(help="条款键")],
            year: Annotated[int, typer.Option("--year", help="资金所属年度")],
            advance: Annotated[int | None,
                               typer.Option("--advance", help="预先拨付比例（%，1–99），余款清算后拨付")] = None,
            balance: Annotated[bool, typer.Option("--balance", help="拨付已清算事项的余款")] = False,
            username: As = None, data_dir: DataDir = None) -> None:
    from zhida.workflow.batches import prepare_batch

    a = make_app(data_dir)
    b = prepare_batch(a.uow(), clause, year, actor=acting(a.uow(), username), advance_percent=advance,
                      balance=balance)
    console.print(f"拨付批次 {b.id} 已编制：{b.count} 笔，合计 {_yuan(b.total_fen)} 元（编制人 {b.prepared_by}）；"
                  f"请由另一位财政人员审批：zhida pay batch approve {b.id} --as <用户名>", markup=False)
    for offer_id, why in b.refused.items():
        console.print(f"  事项 {offer_id} 未纳入本批次：{why}", markup=False)


@app.command("settle", help="清算预先拨付的事项：核定最终金额（元）；高于预拨的余款进入下一余款批次，"
                            "低于预拨的记为应追回。")
@translate_errors
def settle(offer_id: Annotated[int, typer.Argument(help="兑现事项编号")],
           final: Annotated[str, typer.Option("--final", help="核定的最终金额（元），如 12000.50")],
           reason: Annotated[str, typer.Option("--reason", help="核定依据，如 2024年度审计报告")],
           username: As = None, data_dir: DataDir = None) -> None:
    from zhida.workflow.bankfiles import parse_yuan
    from zhida.workflow.payments import paid_fen, settle_advance

    fen = 0 if final.strip() in ("0", "0.0", "0.00") else parse_yuan(final)
    if fen is None:
        fail(f"金额“{final}”无法识别", "写成元，至多两位小数，如 12000.50")
    a = make_app(data_dir)
    o = settle_advance(a.uow(), offer_id, fen, actor=acting(a.uow(), username), reason=reason)
    paid = paid_fen(a.uow(), offer_id)
    more = "" if o.amount_fen <= paid else f"，余款 {_yuan(o.amount_fen - paid)} 元待编入余款批次（--balance）"
    back = f"，多付 {_yuan(paid - o.amount_fen)} 元应予追回" if paid > o.amount_fen else ""
    console.print(f"事项 {offer_id} 已清算：核定 {_yuan(o.amount_fen)} 元，已预拨 {_yuan(paid)} 元{more}{back}。",
                  markup=False)


@batch_app.command("approve", help="审批拨付批次（编制人本人不能审批）。")
@translate_errors
def approve(batch_id: Annotated[int, typer.Argument(help="批次编号")], username: As = None,
            data_dir: DataDir = None) -> None:
    from zhida.workflow.batches import approve_batch

    a = make_app(data_dir)
    b = approve_batch(a.uow(), batch_id, actor=acting(a.uow(), username))
    console.print(f"拨付批次 {b.id} 已审批（{b.approved_by}）：可导出代发文件 zhida pay file {b.id} --out 文件",
                  markup=False)


@batch_app.command("list", help="列出拨付批次。")
@translate_errors
def list_(clause: Annotated[str | None, typer.Option("--clause", help="只列某条款")] = None,
          username: As = None, data_dir: DataDir = None) -> None:
    from zhida.workflow.batches import list_batches

    a = make_app(data_dir)
    t = Table("批次", "条款", "年度", "状态", "笔数", "金额（元）", "编制人", "审批人")
    for b in list_batches(a.uow(), actor=acting(a.uow(), username), clause=clause):
        t.add_row(str(b.id), b.clause, str(b.year), {"prepared": "待审批", "approved": "已审批"}[b.state],
                  str(b.count), _yuan(b.total_fen), b.prepared_by, b.approved_by or "")
    console.print(t)


@app.command("file", help="导出已审批批次的银行代发文件（.csv 或 .xlsx）。")
@translate_errors
def file(batch_id: Annotated[int, typer.Argument(help="批次编号")],
         out: Annotated[Path, typer.Option("--out", help="输出文件 .csv 或 .xlsx")],
         username: As = None, data_dir: DataDir = None) -> None:
    from zhida.workflow.bankfiles import export_payment_file

    a = make_app(data_dir)
    written = export_payment_file(a.uow(), batch_id, out, actor=acting(a.uow(), username))
    console.print(f"已写出 {written}", markup=False)


@app.command("import", help="导入银行回单（业务参考号、金额、结果 成功/失败、失败原因）；"
                            "有任何问题则全部列出且不做更改。")
@translate_errors
def import_(path: Annotated[Path, typer.Argument(help="回单文件 .csv 或 .xlsx")], username: As = None,
            data_dir: DataDir = None) -> None:
    from zhida.workflow.bankfiles import import_results
    from zhida.workflow.received import publish_received

    a = make_app(data_dir)
    actor = acting(a.uow(), username)
    done = import_results(a.uow(), path, actor=actor)
    console.print(f"已导入 {path.name}：到账 {len(done.paid)} 笔，失败 {len(done.failed)} 笔，"
                  f"此前已记录 {len(done.unchanged)} 笔（未重复处理）。", markup=False)
    published = publish_received(a.uow(), a.matched_store(), actor=actor)
    console.print(f"已获资金记录已更新（共 {published.payments} 笔到账），“只奖励一次”等条件据此判断。", markup=False)


@app.command("publish-received", help="把已到账的资金发布为画像中的“已获资金”数据（received），"
                                      "供“只奖励一次”等条件使用；导入银行回单后会自动执行。")
@translate_errors
def publish_received_(username: As = None, data_dir: DataDir = None) -> None:
    from zhida.workflow.received import publish_received

    a = make_app(data_dir)
    published = publish_received(a.uow(), a.matched_store(), actor=acting(a.uow(), username))
    console.print(("已发布" if published.new else "无新的到账记录，沿用") + f"已获资金数据批次 {published.batch.id}"
                  f"（共 {published.payments} 笔到账）。", markup=False)


@app.command("ledger", help="账簿：各账户余额（分→元）与借贷平衡检查。")
@translate_errors
def ledger(username: As = None, data_dir: DataDir = None) -> None:
    from zhida.workflow.books import books

    a = make_app(data_dir)
    b = books(a.uow(), actor=acting(a.uow(), username))
    t = Table("账户", "余额（元）")
    for account, fen in b.balances.items():
        t.add_row(account, _yuan(fen))
    console.print(t)
    if not b.balanced:
        fail(b.problem or "账簿不平衡", "账簿只能追加；请核查是否被改动。")
    console.print(f"账簿平衡：{b.transactions} 笔交易，借贷合计 0。")


@app.command("cap", help="设定总量控制：同一企业某年度在几项政策中合计获得的上限（--yuan），"
                         "和/或就高不重复（--exclusive）；拨付时自动执行并向企业说明。")
@translate_errors
def cap(name: Annotated[str, typer.Argument(help="名称，如 2024年度科技类奖励总量控制")],
        year: Annotated[int, typer.Option("--year", help="年度")],
        policies: Annotated[list[str], typer.Option("--policy", help="涵盖的政策编号（可多个）")],
        yuan: Annotated[str | None, typer.Option("--yuan", help="合计上限（元）")] = None,
        exclusive: Annotated[bool, typer.Option("--exclusive", help="就高不重复：只拨付其中金额最高的一项")] = False,
        username: As = None, data_dir: DataDir = None) -> None:
    from zhida.workflow.bankfiles import parse_yuan
    from zhida.workflow.caps import define_cap

    fen = None if yuan is None else parse_yuan(yuan)
    if yuan is not None and fen is None:
        fail(f"金额“{yuan}”无法识别", "写成元，最多两位小数，如 1000000 或 1000000.00")
    a = make_app(data_dir)
    c = define_cap(a.uow(), name, year, policies, actor=acting(a.uow(), username), cap_fen=fen, exclusive=exclusive)
    rule = "、".join(([f"合计不超过 {_yuan(c.cap_fen)} 元"] if c.cap_fen is not None else [])
                    + (["就高不重复"] if c.exclusive else []))
    console.print(f"已设定总量控制 {c.id}“{c.name}”：{c.year}年度，{'、'.join(c.policies)}，{rule}。", markup=False)


@app.command("return", help="把拨付失败的事项退回企业补正：通知企业银行返回的原因与要做的事（默认：更正收款账户），"
                            "企业重新确认后进入下一批次；已预拨到账的事项不能退回。")
@translate_errors
def return_(offer_id: Annotated[int, typer.Argument(help="兑现事项编号（拨付失败）")],
            reason: Annotated[str | None, typer.Option("--reason", help="告知企业要做什么，如 请更正开户银行；"
                                                                          "银行返回的原因总会一并告知")] = None,
            respond_by: Annotated[str | None, typer.Option("--respond-by", help="企业重新确认的截止日 YYYY-MM-DD"
                                                                                 "（默认 15 天后）")] = None,
            username: As = None, data_dir: DataDir = None) -> None:
    from datetime import date, timedelta

    from zhida.cli.errors import parse_date
    from zhida.workflow.returns import return_to_firm

    until = parse_date(respond_by) if respond_by else date.today() + timedelta(days=15)
    a = make_app(data_dir)
    o = return_to_firm(a.uow(), offer_id, actor=acting(a.uow(), username), respond_by=until, note=reason)
    console.print(f"事项 {o.id} 已退回企业 {o.uscc} 补正（{o.state.label}），已通知银行返回的原因；"
                  f"请企业于 {until.isoformat()} 前重新确认收款账户（zhida offer confirm {o.id} --as <企业账号> …）。",
                  markup=False)


@app.command("send", help="安排后台任务：把已审批批次的待拨付款项经银行代发接口发出并记录结果"
                          "（zhida jobs work 执行；重复安排不会重复发送）。")
@translate_errors
def send(batch_id: Annotated[int, typer.Argument(help="批次编号（已审批）")], username: As = None,
         data_dir: DataDir = None) -> None:
    from zhida.workflow.jobkinds import schedule_send

    a = make_app(data_dir)
    m = schedule_send(a.uow(), batch_id, actor=acting(a.uow(), username))
    console.print(f"任务 {m.job.id} {m.job.kind}：" + ("已安排" if m.created else "此前已安排，未重复添加")
                  + f"（批次 {batch_id}）；用 zhida jobs work --once 执行。", markup=False)
