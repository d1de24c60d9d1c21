"""`zhida offer …`: 免申即享兑现事项：审核、公示、企业确认、逾期。

Each command parses its options, resolves the acting account (`--as 用户名`; without it the
local operator, who holds no reviewer or enterprise role), calls one service and prints the
result. Authorization and state rules are the services'.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from zhida.accounts import User
from zhida.cli.context import app as make_app
from zhida.cli.errors import fail, parse_date, translate_errors
from zhida.db.uow import UnitOfWork

app = typer.Typer(no_args_is_help=True)
notice_app = typer.Typer(no_args_is_help=True)
app.add_typer(notice_app, name="notice", help="公示：开始、导出公示名单、结束（转企业确认）。")
console = Console(soft_wrap=True)

DataDir = Annotated[Path | None, typer.Option("--data-dir", help="数据目录（默认 ./.zhida 或 $ZHIDA_DATA_DIR）")]
As = Annotated[str | None, typer.Option("--as", help="以该用户身份办理（用户名）；默认本机操作员")]
Clause = Annotated[str, typer.Argument(help="条款键，如 cn-hrss-2024-40-job-retention/refund-sme")]
OfferId = Annotated[int, typer.Argument(help="兑现事项编号（见 zhida offer list）")]
Today = Annotated[str | None, typer.Option("--today", help="办理日 YYYY-MM-DD（默认今天）")]
Department = Annotated[str, typer.Option("--department", help="审核部门代码，如 hrss")]
RunId = Annotated[str | None, typer.Option("--run", help="匹配批次编号（默认最近一次）")]
ConfirmBy = Annotated[str | None, typer.Option("--confirm-by", help="企业确认截止日 YYYY-MM-DD")]
Period = Annotated[str | None, typer.Option("--period", help="资金所属年度（默认匹配评估日的年份）")]


def acting(uow: UnitOfWork, username: str | None) -> User:
    """The account named by --as, or the local operator."""
    from zhida.accounts import SYSTEM
    from zhida.accounts.service import get_user

    if username is None:
        return SYSTEM
    user = get_user(uow, username)
    if not user.active:
        fail(f"用户 {username} 已停用", "请换用启用中的账号，或由管理员启用。")
    return user


def _yuan(fen: int) -> str:
    from zhida.workflow.notices import yuan

    return yuan(fen)


@app.command("create", help="按匹配结果为免申即享条款生成兑现事项（每家符合条件的企业一条，重复执行不会重复生成）。")
@translate_errors
def create(clause: Clause,
           department: Department,
           run_id: RunId = None,
           confirm_by: ConfirmBy = None,
           period: Period = None,
           username: As = None, data_dir: DataDir = None) -> None:
    from zhida.matching.run import load_run
    from zhida.workflow.offers import create_offers

    a = make_app(data_dir)
    made = create_offers(a.uow(), load_run(a.uow(), run_id), a.data_dir, clause, department=department,
                         actor=acting(a.uow(), username), period=period,
                         confirm_by=parse_date(confirm_by) if confirm_by else None)
    total = _yuan(sum(o.amount_fen for o in made))
    console.print(f"已生成 {len(made)} 条兑现事项，合计 {total} 元，待 {department} 审核。",
                  markup=False)


@app.command("list", help="列出条款的兑现事项（审核人员只看到本部门的）。")
@translate_errors
def list_(clause: Clause,
          state: Annotated[str | None, typer.Option("--state", help="只列某状态，如 awaiting_confirmation")] = None,
          username: As = None, data_dir: DataDir = None) -> None:
    from zhida.workflow.offers import offers_of_clause
    from zhida.workflow.states import OfferState

    if state is not None and state not in {s.value for s in OfferState}:
        raise typer.BadParameter(f"状态应为：{'、'.join(s.value for s in OfferState)}")
    a = make_app(data_dir)
    rows = offers_of_clause(a.uow(), clause, actor=acting(a.uow(), username),
                            state=OfferState(state) if state else None)
    t = Table("编号", "统一社会信用代码", "金额（元）", "状态", "确认截止")
    for o in rows:
        t.add_row(str(o.id), o.uscc, _yuan(o.amount_fen), f"{o.state.label}（{o.state.value}）",
                  o.confirm_by.isoformat() if o.confirm_by else "")
    console.print(t)
    console.print(f"共 {len(rows)} 条。")


@app.command("corrections", help="待补正清单：等待企业补充账户或数据的事项及原因。")
@translate_errors
def corrections(clause: Clause, username: As = None, data_dir: DataDir = None) -> None:
    from zhida.workflow.notices import corrections as correction_list

    a = make_app(data_dir)
    rows = correction_list(a.uow(), clause, actor=acting(a.uow(), username))
    t = Table("编号", "统一社会信用代码", "金额（元）", "待补正原因", "确认截止")
    for o, reason in rows:
        t.add_row(str(o.id), o.uscc, _yuan(o.amount_fen), reason, o.confirm_by.isoformat() if o.confirm_by else "")
    console.print(t)
    console.print(f"共 {len(rows)} 条待补正。")


@app.command("gaps", help="待补正（缺数据）：匹配结果为“待补充数据”的企业，各缺哪些数据、由谁提供；"
                          "--notify 告知企业（每条款每年一次）。")
@translate_errors
def gaps(clause: Clause,
         notify: Annotated[bool, typer.Option("--notify", help="给这些企业发消息，说明缺少的数据")] = False,
         run_id: RunId = None,
         username: As = None, data_dir: DataDir = None) -> None:
    from zhida.matching.run import load_run
    from zhida.profiles.registry import load_registry
    from zhida.workflow.gaps import missing_data

    a = make_app(data_dir)
    found = missing_data(a.uow(), load_run(a.uow(), run_id), a.data_dir, a.schema, load_registry(), clause,
                         actor=acting(a.uow(), username), zones_dir=a.zones_dir, notify_firms=notify)
    t = Table("统一社会信用代码", "测算金额（元）", "缺少的数据（可提供方）")
    for g in found:
        t.add_row(g.uscc, "—" if g.amount_fen is None else _yuan(g.amount_fen),
                  "\n".join(f"{s.label}：{'、'.join(s.by) or '请联系主管部门'}" for s in g.missing))
    console.print(t)
    console.print(f"共 {len(found)} 家待补充数据" + ("，已通知企业。" if notify else "。"))


@app.command("review", help="审核：本部门待审核事项整批通过，--exclude 排除指定企业（须写理由）。")
@translate_errors
def review(clause: Clause,
           exclude: Annotated[list[str] | None,
                              typer.Option("--exclude", help="排除：统一社会信用代码:理由（可多次）")] = None,
           username: As = None, data_dir: DataDir = None) -> None:
    from zhida.workflow.batches import review as review_batch

    reasons: dict[str, str] = {}
    for item in exclude or []:
        uscc, sep, reason = item.replace("：", ":").partition(":")
        if not sep or not reason.strip():
            raise typer.BadParameter(f"“{item}”应写成 统一社会信用代码:理由")
        reasons[uscc.strip()] = reason.strip()
    a = make_app(data_dir)
    done = review_batch(a.uow(), clause, actor=acting(a.uow(), username), exclude=reasons)
    console.print(f"审核通过 {len(done.approved)} 条，排除 {len(done.excluded)} 条。")
    for offer_id, reason in done.excluded.items():
        console.print(f"  排除事项 {offer_id}：{reason}", markup=False)


@notice_app.command("start", help="开始公示：本部门审核通过的事项进入公示，公示期 --days 天（含首尾日）。")
@translate_errors
def notice_start(clause: Clause, days: Annotated[int, typer.Option("--days", help="公示天数")],
                 start: Annotated[str | None, typer.Option("--start", help="公示首日 YYYY-MM-DD（默认今天）")] = None,
                 username: As = None, data_dir: DataDir = None) -> None:
    from zhida.workflow.notices import start_notice

    a = make_app(data_dir)
    n = start_notice(a.uow(), clause, start=parse_date(start), days=days, actor=acting(a.uow(), username))
    console.print(f"公示 {n.id} 已开始：{len(n.offer_ids)} 家企业，公示期 {n.period_text}。", markup=False)


@notice_app.command("export", help="导出公示名单（.csv 或 .xlsx，按扩展名；企业名称取自企业画像）。")
@translate_errors
def notice_export(clause: Clause, out: Annotated[Path, typer.Option("--out", help="输出文件 .csv 或 .xlsx")],
                  notice_id: Annotated[int | None, typer.Option("--notice", help="公示编号（默认最近一次）")] = None,
                  data_dir: DataDir = None) -> None:
    from zhida.workflow.firms import names, notice_firms
    from zhida.workflow.notices import export_notice, latest_notice

    a = make_app(data_dir)
    nid = notice_id or latest_notice(a.uow(), clause).id
    firms, store = notice_firms(a.uow(), nid)
    known = {} if store is None else names(store, firms, date.today())
    console.print(f"已写出 {export_notice(a.uow(), nid, out, names=known)}", markup=False)


@notice_app.command("close", help="结束公示（公示期满后）：事项转待企业确认并通知企业；无登记收款账户的转待补正。")
@translate_errors
def notice_close(clause: Clause, today: Today = None,
                 notice_id: Annotated[int | None, typer.Option("--notice", help="公示编号（默认进行中的）")] = None,
                 username: As = None, data_dir: DataDir = None) -> None:
    from zhida.workflow.firms import accounts_on_file, notice_firms
    from zhida.workflow.notices import close_notice, latest_notice

    a = make_app(data_dir)
    day = parse_date(today)
    nid = notice_id or latest_notice(a.uow(), clause, state="open").id
    firms, store = notice_firms(a.uow(), nid)
    accounts = None if store is None else accounts_on_file(store, firms, day)
    closed = close_notice(a.uow(), nid, day, actor=acting(a.uow(), username), accounts=accounts)
    console.print(f"公示 {nid} 已结束：{len(closed.awaiting)} 家企业待确认（已通知），"
                  f"{len(closed.needs_correction)} 家待补正。", markup=False)
    for offer_id, reason in closed.needs_correction.items():
        console.print(f"  事项 {offer_id} 待补正：{reason}", markup=False)


@app.command("object", help="对公示中的事项提出异议（任何人可提出，记录提出人与时间）。")
@translate_errors
def object_(offer_id: OfferId, text: Annotated[str, typer.Option("--text", help="异议内容")],
            today: Today = None, username: As = None, data_dir: DataDir = None) -> None:
    from zhida.workflow.notices import raise_objection

    a = make_app(data_dir)
    o = raise_objection(a.uow(), offer_id, text, actor=acting(a.uow(), username), today=parse_date(today))
    console.print(f"已记录对事项 {offer_id} 的异议 {o.id}（{o.raised_by}）；待审核部门处理。", markup=False)


@app.command("resolve", help="处理异议：--dismiss 驳回（继续公示）或 --uphold 成立（排除该企业），须写核查结论。")
@translate_errors
def resolve(offer_id: OfferId, reason: Annotated[str, typer.Option("--reason", help="核查结论")],
            dismiss: Annotated[bool, typer.Option("--dismiss", help="异议不成立")] = False,
            uphold: Annotated[bool, typer.Option("--uphold", help="异议成立")] = False,
            username: As = None, data_dir: DataDir = None) -> None:
    from zhida.workflow.notices import resolve_objection

    if dismiss == uphold:
        raise typer.BadParameter("请二选一：--dismiss（驳回）或 --uphold（成立）")
    a = make_app(data_dir)
    o = resolve_objection(a.uow(), offer_id, uphold=uphold, reason=reason, actor=acting(a.uow(), username))
    console.print(f"异议 {o.id} 已{'成立，企业已排除' if uphold else '驳回，事项继续公示'}。")


@app.command("confirm", help="企业确认领取：确认或更正收款账户并签署承诺（--pledge）。")
@translate_errors
def confirm(offer_id: OfferId,
            account_name: Annotated[str, typer.Option("--account-name", help="开户名称")],
            bank: Annotated[str, typer.Option("--bank", help="开户银行")],
            account_no: Annotated[str, typer.Option("--account-no", help="银行账号")],
            pledge: Annotated[bool, typer.Option("--pledge",
                                                 help="签署承诺：所报信息真实、不重复享受同类资金")] = False,
            username: As = None, data_dir: DataDir = None) -> None:
    from zhida.workflow.offers import accept

    a = make_app(data_dir)
    o = accept(a.uow(), offer_id, actor=acting(a.uow(), username), account_name=account_name, account_bank=bank,
               account_no=account_no, pledge=pledge)
    console.print(f"事项 {o.id} 已确认（{o.state.label}），收款账号尾号 {account_no.replace(' ', '')[-4:]}。")


@app.command("decline", help="企业放弃领取。")
@translate_errors
def decline(offer_id: OfferId, reason: Annotated[str, typer.Option("--reason", help="放弃原因（可选）")] = "",
            username: As = None, data_dir: DataDir = None) -> None:
    from zhida.workflow.offers import transition
    from zhida.workflow.states import OfferAction

    a = make_app(data_dir)
    o = transition(a.uow(), offer_id, OfferAction.DECLINE, actor=acting(a.uow(), username),
                   detail={"reason": reason} if reason else None)
    console.print(f"事项 {o.id}：{o.state.label}。")


@app.command("need-correction", help="转待补正（账户或数据缺失），写明需补正的内容。")
@translate_errors
def need_correction(offer_id: OfferId, reason: Annotated[str, typer.Option("--reason", help="需补正的内容")],
                    username: As = None, data_dir: DataDir = None) -> None:
    from zhida.workflow.offers import transition
    from zhida.workflow.states import OfferAction

    a = make_app(data_dir)
    o = transition(a.uow(), offer_id, OfferAction.NEED_CORRECTION, actor=acting(a.uow(), username),
                   detail={"reason": reason})
    console.print(f"事项 {o.id}：{o.state.label}（{reason}）。", markup=False)


@app.command("correct", help="企业已补正（如补充收款账户）：回到待企业确认。")
@translate_errors
def correct(offer_id: OfferId, note: Annotated[str, typer.Option("--note", help="补正说明")] = "",
            username: As = None, data_dir: DataDir = None) -> None:
    from zhida.workflow.offers import transition
    from zhida.workflow.states import OfferAction

    a = make_app(data_dir)
    o = transition(a.uow(), offer_id, OfferAction.CORRECT, actor=acting(a.uow(), username),
                   detail={"note": note} if note else None)
    console.print(f"事项 {o.id}：{o.state.label}。")


@app.command("remind", help="提醒确认截止日临近的企业（每事项每天至多一次）。")
@translate_errors
def remind(today: Today = None,
           days_before: Annotated[int, typer.Option("--days-before", help="截止前几天开始提醒")] = 3,
           username: As = None, data_dir: DataDir = None) -> None:
    from zhida.workflow.deadlines import send_reminders

    a = make_app(data_dir)
    done = send_reminders(a.uow(), parse_date(today), actor=acting(a.uow(), username), days_before=days_before)
    console.print(f"已提醒 {len(done.sent)} 家企业；今天已提醒过的 {len(done.already)} 家未重复发送。")


@app.command("expire", help="逾期未确认的事项视为放弃（留有记录并通知企业）。")
@translate_errors
def expire(today: Today = None, username: As = None, data_dir: DataDir = None) -> None:
    from zhida.workflow.deadlines import expire_overdue

    a = make_app(data_dir)
    waived = expire_overdue(a.uow(), parse_date(today), actor=acting(a.uow(), username))
    console.print(f"{len(waived)} 条事项逾期视为放弃" + (f"：{'、'.join(map(str, waived))}" if waived else "") + "。")


@app.command("inbox", help="企业消息（公示结束、提醒、放弃通知）。")
@translate_errors
def inbox(uscc: Annotated[str | None, typer.Option("--uscc", help="企业（默认 --as 账号绑定的企业）")] = None,
          username: As = None, data_dir: DataDir = None) -> None:
    from zhida.workflow.notifications import notifications_of

    a = make_app(data_dir)
    actor = acting(a.uow(), username)
    firm = uscc or actor.uscc
    if not firm:
        fail("未指定企业", "用 --uscc 指定，或 --as 企业账号。")
    for n in notifications_of(a.uow(), firm, actor=actor):
        read = "已读" if n.read_at else "未读"
        console.print(f"[{n.id}] {n.created_at:%Y-%m-%d %H:%M} {read} {n.title}\n    {n.body}",
                      markup=False)
