"""The web application: server-rendered pages (Jinja2 + htmx) and a JSON API under /api.

Routes are thin: they read the request, call one service (zhida.portal, zhida.queues,
zhida.workflow.*, zhida.accounts), and render. Who may see or do what is decided in the
services; a page only passes the acting user along. Every asset is served from the package
(government intranets are offline): see zhida.web.assets.

Modules: `context` (who is looking, the page renderer), `pages` (public pages, login, report,
dashboard), `money` (offers, review and 公示, payments), `assistant` (政策问答 and its hand-off),
`firm_services` (a firm's 企业码 and 专用信用报告), `public` (the 企业码's page, report
verification), `api` (JSON).
"""

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import date
from urllib.parse import urlsplit

import anyio
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from zhida import portal
from zhida import reports as firm_reports
from zhida.accounts import NotAllowed
from zhida.accounts.errors import AuthenticationFailed
from zhida.accounts.sessions import SessionExpired
from zhida.bootstrap import App
from zhida.errors import ZhidaError
from zhida.profiles.datause_writer import DataUseWriter
from zhida.reportstore import ReportStore
from zhida.web import api, applications, assistant, data, enquiries, firm_services, money, pages, public, warm
from zhida.web.assets import STATIC, missing_assets
from zhida.web.context import TEMPLATES, Ctx, Viewer, local, page, viewer

CSP = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'"


def create_app(wired: App, *, today: Callable[[], date] = date.today, warm_reports: bool = True) -> FastAPI:
    """The ASGI app over a wired application (its database, profile store and schema). With
    `warm_reports`, a worker process computes the report of every firm with an account after
    each run while the app is up (zhida.web.warm); reports are kept under <data dir>/reports."""
    missing = missing_assets()
    if missing:
        raise ZhidaError(f"网页所需的前端文件缺失：{'、'.join(missing)}；"
                         "请运行 python -m zhida.web.assets（make 会自动运行）。")
    reports_dir = wired.data_dir / "reports"

    def ready() -> None:
        """What every report view needs, loaded before the first request rather than by it."""
        assert wired.schema is not None
        firm_reports.prepare(wired.uow())
        TEMPLATES.get_template("report.html")

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await anyio.to_thread.run_sync(ready)
        worker = warm.start(wired.settings, reports_dir) if warm_reports else None
        try:
            yield
        finally:
            if worker is not None:
                warm.stop(worker)

    web = FastAPI(title="政策直达 Zhida", openapi_url="/api/openapi.json", docs_url=None, redoc_url=None,
                  lifespan=lifespan)
    web.state.ctx = Ctx(wired=wired, today=today, oidc=wired.oidc_provider(),
                        callback=wired.settings.public_url.rstrip("/") + "/login/oidc/callback",
                        reports=ReportStore(reports_dir), uses=DataUseWriter(wired.uow))
    web.mount("/static", StaticFiles(directory=STATIC), name="static")
    web.include_router(pages.router)
    web.include_router(money.router)
    web.include_router(applications.router)
    web.include_router(data.router)
    web.include_router(enquiries.router)
    web.include_router(assistant.router)
    web.include_router(firm_services.router)
    web.include_router(public.router)
    web.include_router(api.router)

    @web.exception_handler(ZhidaError)
    async def zhida_error(request: Request, exc: ZhidaError) -> Response:
        status = 404 if isinstance(exc, portal.NotFound) else 403 if isinstance(exc, NotAllowed) else \
            401 if isinstance(exc, AuthenticationFailed) else 400
        if request.url.path.startswith("/api/"):
            return JSONResponse({"type": "about:blank", "title": type(exc).__name__, "status": status,
                                 "detail": str(exc)}, status_code=status, media_type="application/problem+json")
        if isinstance(exc, SessionExpired) and request.headers.get("HX-Request"):
            # a part of a page asked for: htmx sends the whole page to the login form
            return Response(status_code=204, headers={"HX-Redirect": f"/login?next={_page_of(request)}"})
        if isinstance(exc, SessionExpired) and request.method == "GET":
            return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
        return page(request, _error_page(request), viewer(request), status_code=status, message=str(exc))

    @web.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        message = "系统内部错误，已记录；请稍后重试，或联系管理员。"
        if request.url.path.startswith("/api/"):
            return JSONResponse({"type": "about:blank", "title": "InternalError", "status": 500, "detail": message},
                                status_code=500, media_type="application/problem+json")
        return page(request, _error_page(request), Viewer(None, None), status_code=500, message=message)

    @web.middleware("http")
    async def security_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response

    return web


def _error_page(request: Request) -> str:
    """The whole error page, or for htmx the message alone, swapped where the answer would
    have gone (base.html's htmx-config swaps 4xx and 5xx responses too)."""
    return "_error.html" if request.headers.get("HX-Request") else "error.html"


def _page_of(request: Request) -> str:
    """The page an htmx request came from (its path), to return to after logging in."""
    current = request.headers.get("HX-Current-URL", "")
    path = urlsplit(current).path if current else ""
    return local(path) if path else "/"
