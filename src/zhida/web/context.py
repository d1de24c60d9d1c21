"""What every route needs: the wired application, who is looking, and the page renderer.

The context lives on `app.state.ctx` (set by `create_app`); routes reach it through the
dependencies here, so route modules are plain module-level routers.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from zhida.accounts import Permission, User, can
from zhida.accounts.oidc import Provider
from zhida.accounts.service import list_departments
from zhida.accounts.sessions import Session, SessionExpired, check_csrf, current_session
from zhida.bootstrap import App
from zhida.errors import ZhidaError
from zhida.profiles.datause_writer import DataUseWriter
from zhida.reportstore import ReportStore
from zhida.rules.lang.numbers import yuan_text
from zhida.workflow.states import (
    ACTION_LABELS,
    APPLICATION_ACTION_LABELS,
    STATE_LABELS,
    ApplicationState,
    OfferState,
)

COOKIE = "zhida_session"
TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")
TEMPLATES.env.filters["yuan"] = lambda fen: "—" if fen is None else yuan_text(fen)
TEMPLATES.env.filters["action_label"] = lambda action: ACTION_LABELS.get(str(action), str(action))
TEMPLATES.env.filters["state_label"] = lambda state: STATE_LABELS[OfferState(state)] if state else ""
TEMPLATES.env.filters["app_action_label"] = lambda action: APPLICATION_ACTION_LABELS.get(str(action), str(action))
TEMPLATES.env.filters["app_state_label"] = lambda state: ApplicationState(state).label if state else ""


@dataclass(frozen=True)
class Ctx:
    wired: App
    today: Callable[[], date]
    oidc: Provider | None        # 统一身份认证, when configured
    callback: str                # its redirect URI
    reports: ReportStore         # firms' match reports, computed once per run (zhida.reportstore)
    uses: DataUseWriter          # data-use records of page views, committed together (group commit)

    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass(frozen=True)
class Viewer:
    """Who is looking: a session, or nobody (an anonymous visitor)."""

    session: Session | None
    token: str | None

    @property
    def user(self) -> User | None:
        return None if self.session is None else self.session.user


def ctx(request: Request) -> Ctx:
    found: Ctx = request.app.state.ctx
    return found


def viewer(request: Request) -> Viewer:
    token = request.cookies.get(COOKIE)
    if not token:
        return Viewer(None, None)
    try:
        return Viewer(current_session(ctx(request).wired.uow(), token), token)
    except SessionExpired:
        return Viewer(None, None)


def signed_in(v: Annotated[Viewer, Depends(viewer)]) -> Session:
    if v.session is None:
        raise SessionExpired("请先登录。")
    return v.session


def page(request: Request, name: str, v: Viewer, status_code: int = 200, **context: Any) -> HTMLResponse:
    return TEMPLATES.TemplateResponse(request, name, {"viewer": v, "user": v.user, "can": can, "P": Permission,
                                                      "notice": request.query_params.get("ok", ""), **context},
                                      status_code=status_code)


def done(to: str, message: str) -> RedirectResponse:
    """After a successful post: back to the page, which shows what happened (PRG)."""
    sep = "&" if "?" in to else "?"
    return RedirectResponse(f"{to}{sep}ok={quote(message)}", status_code=303)


def department_name(c: Ctx, code: str) -> str:
    """A department's name for a firm to read (its code if the department is not on record)."""
    return dict(list_departments(c.wired.uow())).get(code, code)


def posted(session: Session, csrf: str) -> User:
    """A form post: its CSRF token must be the session's; returns the acting user."""
    check_csrf(session, csrf)
    return session.user


def local(target: str) -> str:
    """Only redirect within this site (an open redirect would help phishing)."""
    return target if target.startswith("/") and not target.startswith("//") else "/"


def parse_date(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        raise ZhidaError(f"日期“{text}”应写成 YYYY-MM-DD。") from None


def source(request: Request) -> str:
    return request.client.host if request.client else "unknown"
