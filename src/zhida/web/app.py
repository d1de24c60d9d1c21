"""The web application: server-rendered pages (Jinja2 + htmx) and a JSON API under /api.

Routes are thin: they read the request, call one service of zhida.portal / zhida.accounts, and
render. Who may see what is decided in the services; a page only passes the acting user along.
Every asset is served from the package (government intranets are offline): see zhida.web.assets.
(No `from __future__ import annotations` here: FastAPI reads the routes' annotations at runtime,
and they name dependencies defined inside `create_app`.)
"""


from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel

from zhida import portal
from zhida.accounts import NotAllowed, Permission, Role, User, can
from zhida.accounts.errors import AuthenticationFailed
from zhida.accounts.oidc import OidcError, Start, begin, finish
from zhida.accounts.sessions import Session, SessionExpired, check_csrf, current_session, login, logout
from zhida.bootstrap import App
from zhida.errors import ZhidaError
from zhida.matching.report import SECTIONS
from zhida.rules.numbers import yuan_text
from zhida.web.assets import STATIC, missing_assets

COOKIE = "zhida_session"
OIDC_COOKIE = "zhida_oidc"  # state.nonce.next of a 统一身份认证 login in progress
TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")
TEMPLATES.env.filters["yuan"] = lambda fen: "—" if fen is None else yuan_text(fen)
SECTION_TITLES = {"eligible": "可享受", "possibly_eligible": "可能符合（待补充数据）", "near_misses": "差一点符合",
                  "report_only": "政策体检（预计减免）"}
LEVEL_OPTIONS = ("国家", "省级", "市级", "区县")


class Problem(BaseModel):
    """RFC 9457 problem details: what the API answers instead of a result."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str


def _problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    what = {400: "请求有误（如日期格式）", 401: "未登录或登录已过期", 403: "无权访问", 404: "不存在或未发布"}
    return {c: {"model": Problem, "description": what[c], "content": {"application/problem+json": {}}}
            for c in codes}
MODE_OPTIONS = ("免申即享", "即申即办", "申报审批", "政策体检")


@dataclass(frozen=True)
class Viewer:
    """Who is looking: a session, or nobody (an anonymous visitor)."""

    session: Session | None
    token: str | None

    @property
    def user(self) -> User | None:
        return None if self.session is None else self.session.user


def create_app(wired: App, *, today: Callable[[], date] = date.today) -> FastAPI:
    """The ASGI app over a wired application (its database, profile store and schema)."""
    missing = missing_assets()
    if missing:
        raise ZhidaError(f"网页所需的前端文件缺失：{'、'.join(missing)}；"
                         "请运行 python -m zhida.web.assets（make 会自动运行）。")
    web = FastAPI(title="政策直达 Zhida", openapi_url="/api/openapi.json", docs_url=None, redoc_url=None)
    web.mount("/static", StaticFiles(directory=STATIC), name="static")
    oidc = wired.oidc_provider()              # 统一身份认证, when configured
    callback = wired.settings.public_url.rstrip("/") + "/login/oidc/callback"

    def viewer(request: Request) -> Viewer:
        token = request.cookies.get(COOKIE)
        if not token:
            return Viewer(None, None)
        try:
            return Viewer(current_session(wired.uow(), token), token)
        except SessionExpired:
            return Viewer(None, None)

    def signed_in(v: Annotated[Viewer, Depends(viewer)]) -> Session:
        if v.session is None:
            raise SessionExpired("请先登录。")
        return v.session

    def page(request: Request, name: str, v: Viewer, status_code: int = 200, **context: Any) -> HTMLResponse:
        return TEMPLATES.TemplateResponse(request, name, {"viewer": v, "user": v.user, "can": can, "P": Permission,
                                                          **context}, status_code=status_code)

    @web.exception_handler(ZhidaError)
    async def zhida_error(request: Request, exc: ZhidaError) -> Response:
        status = 404 if isinstance(exc, portal.NotFound) else 403 if isinstance(exc, NotAllowed) else \
            401 if isinstance(exc, AuthenticationFailed) else 400
        if request.url.path.startswith("/api/"):
            return JSONResponse({"type": "about:blank", "title": type(exc).__name__, "status": status,
                                 "detail": str(exc)}, status_code=status, media_type="application/problem+json")
        if isinstance(exc, SessionExpired) and request.method == "GET":
            return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
        return page(request, "error.html", viewer(request), status_code=status, message=str(exc))

    @web.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        message = "系统内部错误，已记录；请稍后重试，或联系管理员。"
        if request.url.path.startswith("/api/"):
            return JSONResponse({"type": "about:blank", "title": "InternalError", "status": 500, "detail": message},
                                status_code=500, media_type="application/problem+json")
        return page(request, "error.html", Viewer(None, None), status_code=500, message=message)

    @web.middleware("http")
    async def security_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; "
                                                               "style-src 'self'; script-src 'self'")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response

    # --- pages ---------------------------------------------------------------------------

    @web.get("/", response_class=HTMLResponse, include_in_schema=False)
    def home(request: Request, v: Annotated[Viewer, Depends(viewer)]) -> Response:
        user = v.user
        if user is not None and Role.ENTERPRISE in user.roles:
            return RedirectResponse("/me", status_code=303)
        if user is not None and can(user, Permission.VIEW_DASHBOARDS):
            return RedirectResponse("/dashboard", status_code=303)
        return RedirectResponse("/policies", status_code=303)

    @web.get("/login", response_class=HTMLResponse, include_in_schema=False)
    def login_form(request: Request, v: Annotated[Viewer, Depends(viewer)], next: str = "/") -> Response:
        return page(request, "login.html", v, next=_local(next), error=None, oidc=oidc)

    @web.post("/login", response_class=HTMLResponse, include_in_schema=False)
    def login_submit(request: Request, username: Annotated[str, Form()] = "", password: Annotated[str, Form()] = "",
                     next: Annotated[str, Form()] = "/") -> Response:
        source = request.client.host if request.client else "unknown"
        if not username.strip() or not password:
            return page(request, "login.html", Viewer(None, None), status_code=400, next=_local(next),
                        error="请输入用户名和密码。", username=username, oidc=oidc)
        try:
            token, _ = login(wired.uow(), username, password, source=source)
        except AuthenticationFailed as e:
            return page(request, "login.html", Viewer(None, None), status_code=401, next=_local(next),
                        error=str(e), username=username, oidc=oidc)
        response = RedirectResponse(_local(next), status_code=303)
        # a browser-session cookie: the server ends the session (idle, time limit, logout)
        response.set_cookie(COOKIE, token, httponly=True, samesite="lax", secure=request.url.scheme == "https")
        return response

    @web.get("/login/oidc", include_in_schema=False)
    def oidc_start(next: str = "/") -> Response:
        if oidc is None:
            raise portal.NotFound("本系统未启用统一身份认证登录；请用用户名和密码登录。")
        start = begin(oidc, callback)
        response = RedirectResponse(start.url, status_code=303)
        response.set_cookie(OIDC_COOKIE, f"{start.state}.{start.nonce}.{_local(next)}", httponly=True, samesite="lax",
                            max_age=600, path="/login/oidc")
        return response

    @web.get("/login/oidc/callback", include_in_schema=False)
    def oidc_callback(request: Request, code: str = "", state: str = "") -> Response:
        if oidc is None:
            raise portal.NotFound("本系统未启用统一身份认证登录；请用用户名和密码登录。")
        kept = request.cookies.get(OIDC_COOKIE, "").split(".", 2)
        if len(kept) != 3 or not code:
            raise OidcError("统一身份认证登录已过期或未从本站发起；请回到登录页重新发起。")
        started = Start(url="", state=kept[0], nonce=kept[1])
        source = request.client.host if request.client else "unknown"
        try:
            token, _ = finish(wired.uow(), oidc, callback, started, code=code, state=state, source=source)
        except AuthenticationFailed as e:
            return page(request, "login.html", Viewer(None, None), status_code=401, next=kept[2], error=str(e),
                        oidc=oidc)
        response = RedirectResponse(kept[2], status_code=303)
        response.set_cookie(COOKIE, token, httponly=True, samesite="lax", secure=request.url.scheme == "https")
        response.delete_cookie(OIDC_COOKIE, path="/login/oidc")
        return response

    @web.post("/logout", include_in_schema=False)
    def logout_submit(session: Annotated[Session, Depends(signed_in)], v: Annotated[Viewer, Depends(viewer)],
                      csrf: Annotated[str, Form()] = "") -> Response:
        check_csrf(session, csrf)
        assert v.token is not None
        logout(wired.uow(), v.token)
        response = RedirectResponse("/policies", status_code=303)
        response.delete_cookie(COOKIE)
        return response

    @web.get("/policies", response_class=HTMLResponse, include_in_schema=False)
    def policies(request: Request, v: Annotated[Viewer, Depends(viewer)], q: str = "", level: str = "",
                 department: str = "", mode: str = "", validity: str = "") -> Response:
        found = portal.library(wired.uow(), today(), query=q, level=level, department=department, mode=mode,
                               validity=validity)
        name = "_policy_list.html" if request.headers.get("HX-Request") else "policies.html"
        return page(request, name, v, entries=found, q=q, level=level, department=department, mode=mode,
                    validity=validity, levels=LEVEL_OPTIONS, modes=MODE_OPTIONS)

    @web.get("/policies/{policy_id}", response_class=HTMLResponse, include_in_schema=False)
    def policy(request: Request, policy_id: str, v: Annotated[Viewer, Depends(viewer)]) -> Response:
        return page(request, "policy.html", v, p=portal.policy_page(wired.uow(), policy_id, today()))

    @web.get("/calculator", response_class=HTMLResponse, include_in_schema=False)
    def calculator(request: Request, v: Annotated[Viewer, Depends(viewer)], policy: str = "",
                   as_of: str = "") -> Response:
        on = _date(as_of) or today()
        answers = {k[2:]: x for k, x in request.query_params.items() if k.startswith("a:")}
        result = portal.calculator(wired.uow(), wired.schema, on, answers, policy_id=policy)
        choices = portal.library(wired.uow(), on)
        name = "_calculator.html" if request.headers.get("HX-Request") else "calculator.html"
        return page(request, name, v, c=result, answers=answers, policy=policy, as_of=on.isoformat(),
                    choices=choices)

    @web.get("/me", response_class=HTMLResponse, include_in_schema=False)
    def my_report(request: Request, session: Annotated[Session, Depends(signed_in)],
                  v: Annotated[Viewer, Depends(viewer)]) -> Response:
        report = portal.my_report(wired.uow(), wired.schema, wired.zones_dir, actor=session.user)
        return page(request, "report.html", v, r=report, sections=[(s, SECTION_TITLES[s], getattr(report, s))
                                                                   for s in SECTIONS])

    @web.get("/dashboard", response_class=HTMLResponse, include_in_schema=False)
    def dashboard(request: Request, session: Annotated[Session, Depends(signed_in)],
                  v: Annotated[Viewer, Depends(viewer)]) -> Response:
        o = portal.overview(wired.uow(), wired.data_dir, actor=session.user)
        return page(request, "dashboard.html", v, o=o)

    # --- JSON API ------------------------------------------------------------------------

    api = APIRouter(prefix="/api")

    @api.get("/policies", summary="政策库：已发布的政策（可按关键词、层级、部门、兑现方式、有效性筛选）")
    def api_policies(q: str = "", level: str = "", department: str = "", mode: str = "",
                     validity: str = "") -> list[dict[str, Any]]:
        return [_plain(e) for e in portal.library(wired.uow(), today(), query=q, level=level, department=department,
                                                  mode=mode, validity=validity)]

    @api.get("/policies/{policy_id}", responses=_problems(404), summary="一份政策及其条款")
    def api_policy(policy_id: str) -> dict[str, Any]:
        return _plain(portal.policy_page(wired.uow(), policy_id, today()))

    @api.get("/calculator", responses=_problems(404),
             summary="政策计算器：按回答测算可享受的条款与金额，并给出下一步要回答的问题")
    def api_calculator(request: Request, policy: str = "", as_of: date | None = None) -> dict[str, Any]:
        """Answers are query parameters named `a:<fact column>`, e.g. `a:enterprise_size@2023=小型`."""
        answers = {k[2:]: x for k, x in request.query_params.items() if k.startswith("a:")}
        result = portal.calculator(wired.uow(), wired.schema, as_of or today(), answers, policy_id=policy)
        return {**_plain(result), "eligible_fen": result.eligible_fen, "decided": result.decided}

    @api.get("/me/report", responses=_problems(401, 403, 404), summary="本企业的匹配报告（企业账号）")
    def api_my_report(session: Annotated[Session, Depends(signed_in)]) -> dict[str, Any]:
        return portal.my_report(wired.uow(), wired.schema, wired.zones_dir, actor=session.user).to_dict()

    @api.get("/dashboard", responses=_problems(401, 403, 404),
             summary="最近一次匹配的概况与兑现进度（领导、财政、政策管理人员）")
    def api_dashboard(session: Annotated[Session, Depends(signed_in)]) -> dict[str, Any]:
        return portal.overview(wired.uow(), wired.data_dir, actor=session.user).to_dict()

    web.include_router(api)
    return web


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        raise ZhidaError(f"日期“{text}”应写成 YYYY-MM-DD。") from None


def _local(target: str) -> str:
    """Only redirect within this site (an open redirect would help phishing)."""
    return target if target.startswith("/") and not target.startswith("//") else "/"


def _plain(value: Any) -> Any:
    from dataclasses import asdict, is_dataclass

    if is_dataclass(value) and not isinstance(value, type):
        return _plain(asdict(value))
    if isinstance(value, dict):
        return {k: _plain(x) for k, x in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(x) for x in value]
    if isinstance(value, date):
        return value.isoformat()
    return value
