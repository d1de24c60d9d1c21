"""Public pages, no login. The page a 企业码 opens (`/e/<USCC>?v=1&d=…&k=…&s=…`): the code is
verified with the published key first; a valid one shows the firm's public facts, certifications
in force and credit status, a tampered or foreign one says so; each view is recorded as a data use
of public facts. The verification page of a 专用信用报告 (`/credit/verify`): a verification code or
the PDF itself, checked by the same functions as `zhida credit verify`; it reads no database."""

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response

from zhida.portal import application_day
from zhida.profiles.datause import record_use
from zhida.profiles.registry import load_registry
from zhida.services import signing
from zhida.services.credit_report import VerifiedReport, verify_report_code, verify_report_file
from zhida.services.enterprise_code import verify_code
from zhida.services.errors import VerificationFailed
from zhida.services.public_page import public_page
from zhida.web.context import Ctx, Viewer, ctx, page, viewer

router = APIRouter(include_in_schema=False)
Viewing = Annotated[Viewer, Depends(viewer)]
Context = Annotated[Ctx, Depends(ctx)]
MAX_REPORT = 10 * 1024 * 1024     # a report is about 60 KB; anything near this is not one


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


@router.get("/credit/verify", response_class=HTMLResponse)
def verify_form(request: Request, v: Viewing, c: Context, code: str = "") -> Response:
    """The form; with `?code=…` (a scanned verification code) the code is checked at once."""
    return _verified(request, v, c, code.strip(), None) if code.strip() else _shown(request, v)


@router.post("/credit/verify", response_class=HTMLResponse)
def verify_submit(request: Request, v: Viewing, c: Context, code: Annotated[str, Form()] = "",
                  file: UploadFile | None = None) -> Response:
    pdf = file.file.read(MAX_REPORT + 1) if file is not None and file.filename else None
    return _verified(request, v, c, code.strip(), pdf)


def _shown(request: Request, v: Viewer, status_code: int = 200, **context: object) -> Response:
    values = {"code": "", "result": None, "problem": "", "checked": "", "missing": ""} | context
    return page(request, "verify_report.html", v, status_code=status_code, **values)


def _verified(request: Request, v: Viewer, c: Ctx, code: str, pdf: bytes | None) -> Response:
    if pdf is None and not code:
        return _shown(request, v, 400, missing="请粘贴报告上的验证码（以 ZCR1. 开头），"
                                               "或选择报告的 PDF 文件，再点“核验”。")
    checked = "file" if pdf is not None else "code"
    try:
        if pdf is not None and len(pdf) > MAX_REPORT:
            raise VerificationFailed("上传的文件超过 10 MB，不是本平台出具的信用报告（报告约 60 KB）。")
        result = _check(code, pdf, [signing.published_key(signing.key_path(c.wired.data_dir))])
    except VerificationFailed as e:
        return _shown(request, v, 400, code=code, problem=str(e), checked=checked)
    return _shown(request, v, code=code, result=result, checked=checked)


def _check(code: str, pdf: bytes | None, published: list[str]) -> VerifiedReport:
    """The file (every byte) when one is given, else the code; both given: they must be one report."""
    if pdf is None:
        return verify_report_code(code, published)
    found = verify_report_file(pdf, published)
    if code and verify_report_code(code, published).code != found.code:
        raise VerificationFailed("文件和验证码各自有效，但不是同一份报告（企业、报告期、出具日或内容不同）；"
                                 "请核对手中报告上的验证码。")
    return found
