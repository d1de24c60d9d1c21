"""The application pages: a firm starts an application from its report, sees the pre-filled
form with each fact's source, supplies what is missing (marked 企业自报), attaches materials
from its 材料银行 and submits; a department's reviewer works through its queue and decides.

Every action is one service call (zhida.workflow.applications, zhida.workflow.materials) with
the logged-in user as the actor; the services decide who may.
"""

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response

from zhida.accounts.sessions import Session
from zhida.errors import ZhidaError
from zhida.portal import application_day
from zhida.web.context import Ctx, Viewer, ctx, done, page, posted, signed_in, viewer
from zhida.workflow import applications as apps
from zhida.workflow import bankfiles
from zhida.workflow import materials as bank
from zhida.workflow.states import ApplicationState

router = APIRouter(include_in_schema=False)
Viewing = Annotated[Viewer, Depends(viewer)]
SignedIn = Annotated[Session, Depends(signed_in)]
Context = Annotated[Ctx, Depends(ctx)]
Csrf = Annotated[str, Form()]
AS = ApplicationState
FACT = "fact:"          # form fields of declared facts: fact:<frame column>


# --- a firm --------------------------------------------------------------------------------


@router.get("/me/applications", response_class=HTMLResponse)
def my_applications(request: Request, session: SignedIn, v: Viewing, c: Context) -> Response:
    return page(request, "applications.html", v, items=apps.applications_of(c.wired.uow(), actor=session.user),
                title="我的申报", now=c.now())


@router.post("/applications/start")
def start(session: SignedIn, c: Context, clause: Annotated[str, Form()], csrf: Csrf = "") -> Response:
    actor = posted(session, csrf)
    a = apps.start(c.wired.uow(), c.wired.profile_facts(), clause, actor=actor,
                   today=application_day(c.wired.uow(), c.today()))
    return done(f"/applications/{a.id}", "申报表已按本企业数据预填，请核对。")


@router.get("/applications/{application_id}", response_class=HTMLResponse)
def application(request: Request, application_id: int, session: SignedIn, v: Viewing, c: Context) -> Response:
    f = apps.form(c.wired.uow(), c.wired.profile_facts(), application_id, actor=session.user)
    mine = session.user.uscc == f.application.uscc
    materials = bank.find(c.wired.uow(), actor=session.user) if mine else []
    return page(request, "application.html", v, f=f, a=f.application, AS=AS, mine=mine, materials=materials,
                events=apps.events_of(c.wired.uow(), application_id, actor=session.user), now=c.now())


@router.post("/applications/{application_id}/declare")
async def declare(request: Request, application_id: int, session: SignedIn, c: Context) -> Response:
    form = await request.form()
    actor = posted(session, str(form.get("csrf", "")))
    answers = {k[len(FACT):]: str(v) for k, v in form.items() if k.startswith(FACT)}
    apps.declare(c.wired.uow(), c.wired.profile_facts(), application_id, answers, actor=actor)
    return done(f"/applications/{application_id}", "已保存自报事实（标记为企业自报，经审核后使用）。")


@router.post("/applications/{application_id}/attach")
def attach(application_id: int, session: SignedIn, c: Context, material: Annotated[int, Form()],
           csrf: Csrf = "") -> Response:
    apps.attach(c.wired.uow(), application_id, material, actor=posted(session, csrf))
    return done(f"/applications/{application_id}", "已附上材料。")


@router.post("/applications/{application_id}/submit")
def submit(application_id: int, session: SignedIn, c: Context, csrf: Csrf = "",
           account_name: Annotated[str, Form()] = "", account_bank: Annotated[str, Form()] = "",
           account_no: Annotated[str, Form()] = "", pledge: Annotated[str, Form()] = "") -> Response:
    a = apps.submit(c.wired.uow(), c.wired.profile_facts(), application_id, actor=posted(session, csrf),
                    account_name=account_name, account_bank=account_bank, account_no=account_no,
                    pledge=pledge == "yes")
    message = ("数据齐全，已即时办结，资金转入拨付。" if a.state is AS.APPROVED
               else f"已提交，{a.department} 将在 {apps.REVIEW_DAYS} 日内办结。")
    return done(f"/applications/{application_id}", message)


@router.post("/applications/{application_id}/withdraw")
def withdraw(application_id: int, session: SignedIn, c: Context, csrf: Csrf = "") -> Response:
    apps.withdraw(c.wired.uow(), application_id, actor=posted(session, csrf))
    return done(f"/applications/{application_id}", "已撤回申报。")


@router.get("/me/materials", response_class=HTMLResponse)
def materials(request: Request, session: SignedIn, v: Viewing, c: Context) -> Response:
    return page(request, "materials.html", v, items=bank.find(c.wired.uow(), actor=session.user),
                kinds=bank.KINDS, limit_mb=bank.MAX_BYTES // 1024 // 1024)


@router.post("/me/materials")
async def upload(session: SignedIn, c: Context, file: Annotated[UploadFile, File()], csrf: Csrf = "",
                 kind: Annotated[str, Form()] = "") -> Response:
    actor = posted(session, csrf)
    content = await file.read(bank.MAX_BYTES + 1)
    m = bank.upload(c.wired.uow(), c.wired.data_dir, actor=actor, file_name=file.filename or "",
                    content=content, kind=kind or None)
    return done("/me/materials", f"已存入材料银行：{m.file_name}（{m.kind_label}）。")


@router.get("/materials/{material_id}")
def material_file(material_id: int, session: SignedIn, c: Context) -> Response:
    m, content = bank.read(c.wired.uow(), c.wired.data_dir, material_id, actor=session.user)
    return Response(content, media_type=m.content_type, headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(m.file_name)}",
        "X-Content-Type-Options": "nosniff"})


# --- a department's reviewer --------------------------------------------------------------


@router.get("/review/applications", response_class=HTMLResponse)
def review_applications(request: Request, session: SignedIn, v: Viewing, c: Context,
                        overdue: str = "") -> Response:
    now = c.now()
    items = apps.review_queue(c.wired.uow(), actor=session.user, overdue_at=now if overdue else None)
    return page(request, "applications.html", v, items=items, title="待审核的申报", now=now, review=True,
                overdue=bool(overdue))


@router.post("/applications/{application_id}/decide")
def decide(application_id: int, session: SignedIn, c: Context, decision: Annotated[str, Form()],
           csrf: Csrf = "", reason: Annotated[str, Form()] = "", amount: Annotated[str, Form()] = "") -> Response:
    if decision not in ("approve", "reject"):
        raise ZhidaError("请选择“通过”或“不予通过”。")
    fen = bankfiles.parse_yuan(amount) if amount.strip() else None
    if amount.strip() and fen is None:
        raise ZhidaError(f"核定金额“{amount}”无法识别：请写成元，至多两位小数，如 80000.50。")
    a = apps.decide(c.wired.uow(), application_id, approve=decision == "approve", reason=reason,
                    amount_fen=fen if decision == "approve" else None, actor=posted(session, csrf))
    return done(f"/applications/{application_id}", "已通过，资金转入拨付。" if a.state is AS.APPROVED
                else "已退回企业（不予通过），企业可修改后重新提交。")
