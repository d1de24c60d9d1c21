"""政策问答 pages: a question box (htmx) over the assistant that `zhida ask` uses
(zhida.assistant.service); a firm's own status and amount come with the answer, and when the
assistant is not sure it offers the hand-off, which a firm's account turns into a 诉求
(zhida.workflow.enquiries, as `zhida ask --handoff`)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from zhida.accounts.sessions import Session
from zhida.assistant.service import ask
from zhida.errors import ZhidaError
from zhida.web.context import Ctx, Viewer, ctx, department_name, done, page, posted, signed_in, viewer
from zhida.workflow import enquiries as enq

router = APIRouter(include_in_schema=False)
Viewing = Annotated[Viewer, Depends(viewer)]
SignedIn = Annotated[Session, Depends(signed_in)]
Context = Annotated[Ctx, Depends(ctx)]
Csrf = Annotated[str, Form()]
MAX_QUESTION = 500


def _question(text: str) -> str:
    question = text.strip()
    if not question:
        raise ZhidaError("请先输入问题，例如“稳岗补贴怎么申请”。")
    if len(question) > MAX_QUESTION:
        raise ZhidaError(f"问题有 {len(question)} 字，超过 {MAX_QUESTION} 字；请只写要问的事，"
                         "较长的情况说明请在“诉求”中提交。")
    return question


@router.get("/ask", response_class=HTMLResponse)
def ask_page(request: Request, session: SignedIn, v: Viewing) -> Response:
    return page(request, "ask.html", v, question="", a=None)


@router.post("/ask", response_class=HTMLResponse)
def ask_submit(request: Request, session: SignedIn, v: Viewing, c: Context, question: Annotated[str, Form()] = "",
               csrf: Csrf = "") -> Response:
    actor = posted(session, csrf)
    a = ask(c.wired.uow(), _question(question), today=c.today(), actor=actor, schema=c.wired.schema,
            zones_dir=c.wired.zones_dir)
    name = "_answer.html" if request.headers.get("HX-Request") else "ask.html"
    return page(request, name, v, question=question.strip(), a=a)


@router.post("/ask/handoff", response_class=HTMLResponse)
def handoff(request: Request, session: SignedIn, v: Viewing, c: Context, question: Annotated[str, Form()] = "",
            csrf: Csrf = "") -> Response:
    """The assistant's hand-off as the firm's 诉求: asked again (anonymously: a hand-off reads no
    report), and submitted with the department it suggests, as `zhida ask --handoff` does."""
    actor = posted(session, csrf)
    a = ask(c.wired.uow(), _question(question), today=c.today())
    if a.handoff is None:
        raise ZhidaError("这个问题现在已有依据政策的答复，不需要转人工；请重新提问查看答复。"
                         "如仍需部门答复，请在“诉求”页面提交。")
    e = enq.submit(c.wired.uow(), actor=actor, text=a.handoff.question, department_hint=a.handoff.department,
                   source="assistant")
    department = department_name(c, e.department)
    if request.headers.get("HX-Request"):
        return page(request, "_handoff.html", v, e=e, department=department, reply_days=enq.REPLY_DAYS)
    return done(f"/enquiries/{e.id}", f"已转人工：作为诉求 {e.id} 提交，转{department}办理，"
                                      f"{enq.REPLY_DAYS} 日内答复。")
