"""The money pages: a firm's offers (confirm with account and 承诺, or decline) and its inbox; a
department's review queue (approve with exclusions, 公示, objections, closing); finance's desk
(budgets, payment batches approved by a second person, the bank file, the bank's results).

Every form carries the session's CSRF token; every action is one workflow service call with the
logged-in user as the actor, and the service decides whether that user may.
"""

import tempfile
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.background import BackgroundTask

from zhida import queues
from zhida.accounts.sessions import Session
from zhida.errors import ZhidaError
from zhida.web.context import Ctx, Viewer, ctx, done, page, parse_date, posted, signed_in, viewer
from zhida.workflow import bankfiles, batches, notices, notifications
from zhida.workflow.offers import accept, events_of, transition
from zhida.workflow.payments import fund_budget
from zhida.workflow.received import publish_received
from zhida.workflow.states import OfferAction, OfferState

router = APIRouter(include_in_schema=False)
Viewing = Annotated[Viewer, Depends(viewer)]
SignedIn = Annotated[Session, Depends(signed_in)]
Context = Annotated[Ctx, Depends(ctx)]
Csrf = Annotated[str, Form()]
S = OfferState


# --- a firm ------------------------------------------------------------------------------


@router.get("/me/offers", response_class=HTMLResponse)
def my_offers(request: Request, session: SignedIn, v: Viewing, c: Context) -> Response:
    listed = queues.offers_of_firm(c.wired.uow(), actor=session.user)
    return page(request, "my_offers.html", v, offers=listed,
                titles=queues.clause_titles(c.wired.uow(), {o.clause for o in listed}))


@router.get("/offers/{offer_id}", response_class=HTMLResponse)
def offer_page(request: Request, offer_id: int, session: SignedIn, v: Viewing, c: Context) -> Response:
    offer = queues.offer_of_firm(c.wired.uow(), offer_id, actor=session.user)
    return page(request, "offer.html", v, o=offer, events=events_of(c.wired.uow(), offer_id, actor=session.user), S=S,
                title=queues.clause_titles(c.wired.uow(), {offer.clause})[offer.clause])


@router.post("/offers/{offer_id}/accept")
def offer_accept(offer_id: int, session: SignedIn, c: Context, csrf: Csrf = "",
                 account_name: Annotated[str, Form()] = "", account_bank: Annotated[str, Form()] = "",
                 account_no: Annotated[str, Form()] = "", pledge: Annotated[str, Form()] = "") -> Response:
    actor = posted(session, csrf)
    accept(c.wired.uow(), offer_id, actor=actor, account_name=account_name, account_bank=account_bank,
           account_no=account_no, pledge=pledge == "yes")
    return done(f"/offers/{offer_id}", "已确认领取，等待拨付。")


@router.post("/offers/{offer_id}/decline")
def offer_decline(offer_id: int, session: SignedIn, c: Context, csrf: Csrf = "") -> Response:
    transition(c.wired.uow(), offer_id, OfferAction.DECLINE, actor=posted(session, csrf))
    return done(f"/offers/{offer_id}", "已放弃该项资金。")


@router.get("/me/inbox", response_class=HTMLResponse)
def inbox(request: Request, session: SignedIn, v: Viewing, c: Context) -> Response:
    uscc = session.user.uscc or ""
    return page(request, "inbox.html", v, items=notifications.notifications_of(c.wired.uow(), uscc,
                                                                               actor=session.user))


@router.post("/me/inbox/{notification_id}/read")
def inbox_read(notification_id: int, session: SignedIn, c: Context, csrf: Csrf = "") -> Response:
    notifications.mark_read(c.wired.uow(), notification_id, actor=posted(session, csrf))
    return RedirectResponse("/me/inbox", status_code=303)


# --- a department's reviewer --------------------------------------------------------------


@router.get("/review", response_class=HTMLResponse)
def review_queue(request: Request, session: SignedIn, v: Viewing, c: Context) -> Response:
    queue = queues.review_queue(c.wired.uow(), actor=session.user)
    return page(request, "review.html", v, queue=queue, S=S,
                titles=queues.clause_titles(c.wired.uow(), {q.clause for q in queue}))


@router.get("/review/clause", response_class=HTMLResponse)
def review_clause(request: Request, key: str, session: SignedIn, v: Viewing, c: Context) -> Response:
    listed = queues.offers_in_queue(c.wired.uow(), key, actor=session.user)
    open_notice = next((q.open_notice for q in queues.review_queue(c.wired.uow(), actor=session.user)
                        if q.clause == key and q.open_notice), None)
    objections = notices.objections_of(c.wired.uow(), open_notice) if open_notice else []
    return page(request, "review_clause.html", v, key=key, offers=listed, S=S, notice_id=open_notice,
                title=queues.clause_titles(c.wired.uow(), {key})[key],
                objections=[o for o in objections if o.outcome is None], today=c.today().isoformat())


@router.post("/review/approve")
def review_approve(session: SignedIn, c: Context, key: Annotated[str, Form()], csrf: Csrf = "",
                   exclude: Annotated[str, Form()] = "") -> Response:
    named = {}
    for n, line in enumerate(exclude.splitlines(), start=1):
        if line.strip():
            uscc, sep, reason = line.replace("：", ":").partition(":")
            if not sep or not reason.strip():
                raise ZhidaError(f"排除名单第 {n} 行“{line.strip()}”应写成 统一社会信用代码:理由。")
            named[uscc.strip()] = reason.strip()
    done_ = batches.review(c.wired.uow(), key, actor=posted(session, csrf), exclude=named)
    return done(f"/review/clause?key={quote(key)}",
                f"已审核通过 {len(done_.approved)} 家，排除 {len(done_.excluded)} 家。")


@router.post("/review/notice")
def review_notice(session: SignedIn, c: Context, key: Annotated[str, Form()], csrf: Csrf = "",
                  start: Annotated[str, Form()] = "", days: Annotated[int, Form()] = 5) -> Response:
    n = notices.start_notice(c.wired.uow(), key, start=parse_date(start) or c.today(), days=days,
                             actor=posted(session, csrf))
    return done(f"/review/clause?key={quote(key)}", f"已开始公示（{n.period_text}），共 {len(n.offer_ids)} 家。")


@router.get("/review/notice/{notice_id}.{fmt}")
def review_notice_export(notice_id: int, fmt: str, session: SignedIn, c: Context) -> Response:
    if fmt not in ("csv", "xlsx"):
        raise ZhidaError("公示名单可导出为 csv 或 xlsx。")
    notice = notices.get_notice(c.wired.uow(), notice_id)
    queues.offers_in_queue(c.wired.uow(), notice.clause, actor=session.user)   # may this user see it?
    folder = Path(tempfile.mkdtemp(prefix="zhida-notice-"))
    path = notices.export_notice(c.wired.uow(), notice_id, folder / f"公示名单-{notice_id}.{fmt}")
    return FileResponse(path, filename=path.name, background=BackgroundTask(_remove, folder))


@router.post("/review/objection")
def review_objection(session: SignedIn, c: Context, key: Annotated[str, Form()], offer_id: Annotated[int, Form()],
                     decision: Annotated[str, Form()], reason: Annotated[str, Form()] = "",
                     csrf: Csrf = "") -> Response:
    notices.resolve_objection(c.wired.uow(), offer_id, uphold=decision == "uphold", reason=reason,
                              actor=posted(session, csrf))
    return done(f"/review/clause?key={quote(key)}", "异议已处理。")


@router.post("/review/close")
def review_close(session: SignedIn, c: Context, key: Annotated[str, Form()], notice_id: Annotated[int, Form()],
                 csrf: Csrf = "") -> Response:
    from zhida.workflow.firms import accounts_on_file, notice_firms

    firms, store = notice_firms(c.wired.uow(), notice_id)
    on_file = accounts_on_file(store, firms, c.today()) if store is not None else None
    closed = notices.close_notice(c.wired.uow(), notice_id, c.today(), actor=posted(session, csrf), accounts=on_file)
    return done(f"/review/clause?key={quote(key)}", f"公示已结束：{len(closed.awaiting)} 家待企业确认，"
                                              f"{len(closed.needs_correction)} 家待补正。")


# --- finance ------------------------------------------------------------------------------


@router.get("/finance", response_class=HTMLResponse)
def finance(request: Request, session: SignedIn, v: Viewing, c: Context) -> Response:
    return page(request, "finance.html", v, desk=queues.payment_desk(c.wired.uow(), actor=session.user),
                batches=batches.list_batches(c.wired.uow(), actor=session.user), year=c.today().year)


@router.post("/finance/fund")
def finance_fund(session: SignedIn, c: Context, policy: Annotated[str, Form()], year: Annotated[int, Form()],
                 yuan: Annotated[str, Form()], csrf: Csrf = "") -> Response:
    fen = bankfiles.parse_yuan(yuan)
    if fen is None:
        raise ZhidaError(f"金额“{yuan}”应为元，最多两位小数（如 500000 或 500000.00）。")
    fund_budget(c.wired.uow(), policy, year, fen, actor=posted(session, csrf))
    return done("/finance", f"已下达 {policy} {year}年预算 {yuan} 元。")


@router.post("/finance/batches")
def finance_prepare(session: SignedIn, c: Context, clause: Annotated[str, Form()], year: Annotated[int, Form()],
                    csrf: Csrf = "") -> Response:
    b = batches.prepare_batch(c.wired.uow(), clause, year, actor=posted(session, csrf))
    return done("/finance", f"已编制拨付批次 {b.id}（{b.count} 笔），请由另一位财政人员审批。")


@router.post("/finance/batches/{batch_id}/approve")
def finance_approve(batch_id: int, session: SignedIn, c: Context, csrf: Csrf = "") -> Response:
    batches.approve_batch(c.wired.uow(), batch_id, actor=posted(session, csrf))
    return done("/finance", f"拨付批次 {batch_id} 已审批，可下载代发文件。")


@router.get("/finance/batches/{batch_id}/bank.xlsx")
def finance_bank_file(batch_id: int, session: SignedIn, c: Context) -> Response:
    folder = Path(tempfile.mkdtemp(prefix="zhida-bank-"))
    path = bankfiles.export_payment_file(c.wired.uow(), batch_id, folder / f"代发文件-批次{batch_id}.xlsx",
                                         actor=session.user)
    return FileResponse(path, filename=path.name, background=BackgroundTask(_remove, folder))


@router.post("/finance/results", response_class=HTMLResponse)
async def finance_results(request: Request, session: SignedIn, v: Viewing, c: Context,
                          result: Annotated[UploadFile, File()], csrf: Csrf = "") -> Response:
    actor = posted(session, csrf)
    name = Path(result.filename or "回单.csv").name
    folder = Path(tempfile.mkdtemp(prefix="zhida-results-"))
    try:
        path = folder / name
        path.write_bytes(await result.read())
        try:
            imported = bankfiles.import_results(c.wired.uow(), path, actor=actor)
            publish_received(c.wired.uow(), c.wired.matched_store(), actor=actor)   # for "只奖励一次"
        except bankfiles.BankFileRejected as e:
            return page(request, "finance.html", v, status_code=400, rejected=e.problems,
                        desk=queues.payment_desk(c.wired.uow(), actor=actor),
                        batches=batches.list_batches(c.wired.uow(), actor=actor), year=c.today().year)
    finally:
        _remove(folder)
    return done("/finance", f"银行回单已导入：到账 {len(imported.paid)} 笔，失败 {len(imported.failed)} 笔，"
                            f"此前已导入 {len(imported.unchanged)} 笔。")


def _remove(folder: Path) -> None:
    for p in folder.iterdir():
        p.unlink()
    folder.rmdir()

