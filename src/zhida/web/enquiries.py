"""诉求 pages: a firm raises one and follows it, closes it with a rating or reopens it; a
department's reviewer answers its queue. One service call per action (zhida.workflow.enquiries)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from zhida.accounts.sessions import Session
from zhida.web.context import Ctx, Viewer, ctx, department_name, done, page, posted, signed_in, viewer
from zhida.workflow import enquiries as enq

router = APIRouter(include_in_schema=False)
Viewing = Annotated[Viewer, Depends(viewer)]
SignedIn = Annotated[Session, Depends(signed_in)]
Context = Annotated[Ctx, Depends(ctx)]
Csrf = Annotated[str, Form()]


@router.get("/me/enquiries", response_class=HTMLResponse)
def my_enquiries(request: Request, session: SignedIn, v: Viewing, c: Context) -> Response:
    return page(request, "enquiries.html", v, items=enq.mine(c.wired.uow(), actor=session.user), now=c.now(),
                title="我的诉求", mine=True)


@router.post("/me/enquiries")
def submit(session: SignedIn, c: Context, text: Annotated[str, Form()], csrf: Csrf = "") -> Response:
    e = enq.submit(c.wired.uow(), actor=posted(session, csrf), text=text, source="web")
    return done(f"/enquiries/{e.id}", f"已提交，转{department_name(c, e.department)}办理，{enq.REPLY_DAYS} 日内答复。")


@router.get("/review/enquiries", response_class=HTMLResponse)
def review_enquiries(request: Request, session: SignedIn, v: Viewing, c: Context) -> Response:
    return page(request, "enquiries.html", v, items=enq.queue(c.wired.uow(), actor=session.user), now=c.now(),
                title="待答复的诉求", mine=False)


@router.get("/enquiries/{enquiry_id}", response_class=HTMLResponse)
def enquiry(request: Request, enquiry_id: int, session: SignedIn, v: Viewing, c: Context) -> Response:
    e = enq.get_enquiry(c.wired.uow(), enquiry_id, actor=session.user)
    return page(request, "enquiry.html", v, e=e, events=enq.events_of(c.wired.uow(), enquiry_id, actor=session.user),
                mine=session.user.uscc == e.uscc, now=c.now(), department=department_name(c, e.department))


@router.post("/enquiries/{enquiry_id}/reply")
def reply(enquiry_id: int, session: SignedIn, c: Context, text: Annotated[str, Form()], csrf: Csrf = "") -> Response:
    enq.reply(c.wired.uow(), enquiry_id, text, actor=posted(session, csrf))
    return done(f"/enquiries/{enquiry_id}", "已答复，企业会收到消息。")


@router.post("/enquiries/{enquiry_id}/close")
def close(enquiry_id: int, session: SignedIn, c: Context, rating: Annotated[int, Form()], csrf: Csrf = "",
          note: Annotated[str, Form()] = "") -> Response:
    enq.close(c.wired.uow(), enquiry_id, rating=rating, note=note, actor=posted(session, csrf))
    return done(f"/enquiries/{enquiry_id}", "已办结，感谢评价。")


@router.post("/enquiries/{enquiry_id}/reopen")
def reopen(enquiry_id: int, session: SignedIn, c: Context, note: Annotated[str, Form()], csrf: Csrf = "") -> Response:
    enq.reopen(c.wired.uow(), enquiry_id, note, actor=posted(session, csrf))
    return done(f"/enquiries/{enquiry_id}", "已重新提出，部门将重新办理。")
