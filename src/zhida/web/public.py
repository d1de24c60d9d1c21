"""The page a 企业码 opens (`/e/<USCC>?v=1&d=…&k=…&s=…`): the code is verified with the
published key first; a valid one shows the firm's public facts, certifications in force and
credit status, a tampered or foreign one says so. Anyone may open it (no login); each view is
recorded as a data use of public facts."""

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from zhida.portal import application_day
from zhida.profiles.datause import record_use
from zhida.profiles.registry import load_registry
from zhida.services import signing
from zhida.services.enterprise_code import verify_code
from zhida.services.errors import VerificationFailed
from zhida.services.public_page import public_page
from zhida.web.context import Ctx, Viewer, ctx, page, viewer

router = APIRouter(include_in_schema=False)
Viewing = Annotated[Viewer, Depends(viewer)]
Context = Annotated[Ctx, Depends(ctx)]


@router.get("/e/{uscc}", response_class=HTMLResponse)
def enterprise_code_page(request: Request, uscc: str, v: Viewing, c: Context) -> Response:
    scanned = c.wired.settings.public_url.rstrip("/") + request.url.path + (
        f"?{request.url.query}" if request.url.query else "")
    try:
        verify_code(scanned, [signing.published_key(signing.key_path(c.wired.data_dir))])
    except VerificationFailed as e:
        return page(request, "enterprise_code.html", v, status_code=400, problem=str(e), p=None)
    on = application_day(c.wired.uow(), c.today())
    p = public_page(c.wired.matched_store(), load_registry(), uscc, on)
    with c.wired.uow() as uow:
        record_use(uow, uscc=uscc, fields=list(p.fields), purpose="企业码公开页查看", actor="公众（扫码）",
                   legal_basis="企业码公开信息", used_at=datetime.now(UTC), as_of=on)
        uow.commit()
    return page(request, "enterprise_code.html", v, problem="", p=p)
