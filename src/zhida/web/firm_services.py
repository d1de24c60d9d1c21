"""A firm's 企业码 and 专用信用报告, one click each (zhida.services: the same functions as
`zhida code issue` and `zhida credit report`). The service decides who may: a firm for itself,
staff who may see any firm for any; another firm's request is refused and nothing is recorded.
A report the service refuses (credit data missing or stale, a bad period, no CJK font) is shown
as the service's message on the page, not as an error page."""

import base64
from datetime import date
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from zhida import portal
from zhida.accounts.sessions import Session
from zhida.profiles.registry import load_registry
from zhida.services import signing
from zhida.services.credit_report import issue_report
from zhida.services.enterprise_code import issue_code, qr_image
from zhida.services.errors import ServiceError
from zhida.web.context import Ctx, Viewer, ctx, page, parse_date, posted, signed_in, viewer

router = APIRouter(include_in_schema=False)
Viewing = Annotated[Viewer, Depends(viewer)]
SignedIn = Annotated[Session, Depends(signed_in)]
Context = Annotated[Ctx, Depends(ctx)]
Csrf = Annotated[str, Form()]
REPORT_YEARS = 3            # the default report period: from 1 January three years before the data date


def _period(on: date) -> tuple[date, date]:
    return date(on.year - REPORT_YEARS, 1, 1), on


def _page(request: Request, v: Viewer, c: Ctx, uscc: str, status_code: int = 200, **context: object) -> Response:
    on = portal.application_day(c.wired.uow(), c.today())
    start, end = _period(on)
    values = {"uscc": uscc, "code": None, "qr": "", "start": start.isoformat(), "end": end.isoformat(), "as_of": on,
              "refusal": ""} | context
    return page(request, "firm_services.html", v, status_code=status_code, **values)


@router.get("/me/services", response_class=HTMLResponse)
def my_services(request: Request, session: SignedIn, v: Viewing, c: Context) -> Response:
    if not session.user.uscc:
        raise portal.NotFound("企业码和专用信用报告由企业账号在此办理；工作人员请用命令 zhida code issue、"
                              "zhida credit report 为企业办理。")
    return _page(request, v, c, session.user.uscc)


@router.post("/enterprises/{uscc}/code", response_class=HTMLResponse)
def enterprise_code(request: Request, uscc: str, session: SignedIn, v: Viewing, c: Context,
                    csrf: Csrf = "") -> Response:
    today = c.today()
    code = issue_code(c.wired.uow(), c.wired.matched_store(), load_registry(), uscc.strip().upper(),
                      actor=posted(session, csrf), as_of=portal.application_day(c.wired.uow(), today), issued=today,
                      signer=signing.load_or_create_signer(signing.key_path(c.wired.data_dir)),
                      base_url=c.wired.settings.public_url)
    qr = "data:image/png;base64," + base64.b64encode(qr_image(code.payload, ".png")).decode("ascii")
    if request.headers.get("HX-Request"):
        return page(request, "_code.html", v, code=code, qr=qr)
    return _page(request, v, c, code.uscc, code=code, qr=qr)


@router.post("/enterprises/{uscc}/credit-report", response_class=HTMLResponse)
def credit_report(request: Request, uscc: str, session: SignedIn, v: Viewing, c: Context, csrf: Csrf = "",
                  start: Annotated[str, Form()] = "", end: Annotated[str, Form()] = "") -> Response:
    actor = posted(session, csrf)
    today = c.today()
    on = portal.application_day(c.wired.uow(), today)
    first, last = _period(on)
    uscc = uscc.strip().upper()
    try:
        report = issue_report(c.wired.uow(), c.wired.matched_store(), load_registry(), uscc,
                              parse_date(start) or first, parse_date(end) or last, actor=actor, as_of=on,
                              issued=today, signer=signing.load_or_create_signer(signing.key_path(c.wired.data_dir)))
    except ServiceError as e:   # the service's refusal, said on the page: what is missing and what to do
        return _page(request, v, c, uscc, status_code=409, refusal=str(e), start=start or first.isoformat(),
                     end=end or last.isoformat())
    name = f"专用信用报告-{uscc}-{report.content.start}-{report.content.end}.pdf"
    return Response(report.pdf, media_type="application/pdf", headers={
        "Content-Disposition": f"attachment; filename=\"credit-report-{uscc}.pdf\"; filename*=UTF-8''{quote(name)}",
        "X-Verification-Code": report.code})
