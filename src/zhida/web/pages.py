"""Pages anyone or any logged-in user reaches: home, login (password and 统一身份认证), the
policy library and pages, the 政策计算器, a firm's match report, the leaders' dashboard."""

from typing import Annotated
from urllib.parse import quote

import polars as pl
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from zhida import portal, workbench
from zhida.accounts import Permission, Role, can
from zhida.accounts.errors import AuthenticationFailed
from zhida.accounts.oidc import OidcError, Start, begin, finish
from zhida.accounts.sessions import Session, login, logout
from zhida.cashflow import cash_flow
from zhida.matching.report import SECTIONS
from zhida.matching.sandbox import Simulation
from zhida.profiles.datause import data_uses_of
from zhida.profiles.profile import view_profile
from zhida.profiles.registry import load_registry
from zhida.web.context import COOKIE, Ctx, Viewer, ctx, local, page, parse_date, posted, signed_in, source, viewer

router = APIRouter(include_in_schema=False)
OIDC_COOKIE = "zhida_oidc"  # state.nonce.next of a 统一身份认证 login in progress
SECTION_TITLES = {"eligible": "可享受", "possibly_eligible": "可能符合（待补充数据）", "near_misses": "差一点符合",
                  "report_only": "政策体检（预计减免）"}
LEVEL_OPTIONS = ("国家", "省级", "市级", "区县")
MODE_OPTIONS = ("免申即享", "即申即办", "申报审批", "政策体检")
Viewing = Annotated[Viewer, Depends(viewer)]
SignedIn = Annotated[Session, Depends(signed_in)]
Context = Annotated[Ctx, Depends(ctx)]


def _signed_cookie(response: Response, request: Request, token: str) -> Response:
    # a browser-session cookie: the server ends the session (idle, time limit, logout)
    response.set_cookie(COOKIE, token, httponly=True, samesite="lax", secure=request.url.scheme == "https")
    return response


@router.get("/")
def home(v: Viewing) -> Response:
    user = v.user
    if user is not None and Role.ENTERPRISE in user.roles:
        return RedirectResponse("/me", status_code=303)
    if user is not None and can(user, Permission.REVIEW_DEPARTMENT_ITEMS):
        return RedirectResponse("/review", status_code=303)
    if user is not None and can(user, Permission.PREPARE_PAYMENTS):
        return RedirectResponse("/finance", status_code=303)
    if user is not None and can(user, Permission.VIEW_DASHBOARDS):
        return RedirectResponse("/dashboard", status_code=303)
    if user is not None and can(user, Permission.LOAD_DATA):
        return RedirectResponse("/data", status_code=303)
    return RedirectResponse("/policies", status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, v: Viewing, c: Context, next: str = "/") -> Response:
    return page(request, "login.html", v, next=local(next), error=None, oidc=c.oidc)


@router.post("/login", response_class=HTMLResponse)
def login_submit(request: Request, c: Context, username: Annotated[str, Form()] = "",
                 password: Annotated[str, Form()] = "", next: Annotated[str, Form()] = "/") -> Response:
    if not username.strip() or not password:
        return page(request, "login.html", Viewer(None, None), status_code=400, next=local(next),
                    error="请输入用户名和密码。", username=username, oidc=c.oidc)
    try:
        token, _ = login(c.wired.uow(), username, password, source=source(request))
    except AuthenticationFailed as e:
        return page(request, "login.html", Viewer(None, None), status_code=401, next=local(next),
                    error=str(e), username=username, oidc=c.oidc)
    return _signed_cookie(RedirectResponse(local(next), status_code=303), request, token)


@router.get("/login/oidc")
def oidc_start(c: Context, next: str = "/") -> Response:
    if c.oidc is None:
        raise portal.NotFound("本系统未启用统一身份认证登录；请用用户名和密码登录。")
    start = begin(c.oidc, c.callback)
    response = RedirectResponse(start.url, status_code=303)
    response.set_cookie(OIDC_COOKIE, f"{start.state}.{start.nonce}.{local(next)}", httponly=True, samesite="lax",
                        max_age=600, path="/login/oidc")
    return response


@router.get("/login/oidc/callback")
def oidc_callback(request: Request, c: Context, code: str = "", state: str = "") -> Response:
    if c.oidc is None:
        raise portal.NotFound("本系统未启用统一身份认证登录；请用用户名和密码登录。")
    kept = request.cookies.get(OIDC_COOKIE, "").split(".", 2)
    if len(kept) != 3 or not code:
        raise OidcError("统一身份认证登录已过期或未从本站发起；请回到登录页重新发起。")
    try:
        token, _ = finish(c.wired.uow(), c.oidc, c.callback, Start(url="", state=kept[0], nonce=kept[1]),
                          code=code, state=state, source=source(request))
    except AuthenticationFailed as e:
        return page(request, "login.html", Viewer(None, None), status_code=401, next=kept[2], error=str(e),
                    oidc=c.oidc)
    response = _signed_cookie(RedirectResponse(kept[2], status_code=303), request, token)
    response.delete_cookie(OIDC_COOKIE, path="/login/oidc")
    return response


@router.post("/logout")
def logout_submit(session: SignedIn, v: Viewing, c: Context, csrf: Annotated[str, Form()] = "") -> Response:
    posted(session, csrf)
    assert v.token is not None
    logout(c.wired.uow(), v.token)
    response = RedirectResponse("/policies", status_code=303)
    response.delete_cookie(COOKIE)
    return response


@router.get("/policies", response_class=HTMLResponse)
def policies(request: Request, v: Viewing, c: Context, q: str = "", level: str = "", department: str = "",
             mode: str = "", validity: str = "") -> Response:
    found = portal.library(c.wired.uow(), c.today(), query=q, level=level, department=department, mode=mode,
                           validity=validity)
    name = "_policy_list.html" if request.headers.get("HX-Request") else "policies.html"
    return page(request, name, v, entries=found, q=q, level=level, department=department, mode=mode,
                validity=validity, levels=LEVEL_OPTIONS, modes=MODE_OPTIONS)


@router.get("/policies/{policy_id}", response_class=HTMLResponse)
def policy(request: Request, policy_id: str, v: Viewing, c: Context) -> Response:
    return page(request, "policy.html", v, p=portal.policy_page(c.wired.uow(), policy_id, c.today()))


@router.get("/calculator", response_class=HTMLResponse)
def calculator(request: Request, v: Viewing, c: Context, policy: str = "", as_of: str = "") -> Response:
    on = parse_date(as_of) or c.today()
    answers = {k[2:]: x for k, x in request.query_params.items() if k.startswith("a:")}
    result = portal.calculator(c.wired.uow(), c.wired.schema, on, answers, policy_id=policy)
    name = "_calculator.html" if request.headers.get("HX-Request") else "calculator.html"
    return page(request, name, v, c=result, answers=answers, policy=policy, as_of=on.isoformat(),
                choices=portal.library(c.wired.uow(), on))


@router.get("/me", response_class=HTMLResponse)
def my_report(request: Request, session: SignedIn, v: Viewing, c: Context) -> Response:
    report = portal.my_report(c.wired.uow(), c.wired.schema, c.wired.zones_dir, actor=session.user,
                              reports=c.reports, uses=c.uses)
    return page(request, "report.html", v, r=report,
                sections=[(s, SECTION_TITLES[s], getattr(report, s)) for s in SECTIONS])


@router.get("/workbench", response_class=HTMLResponse)
def workbench_page(request: Request, session: SignedIn, v: Viewing, c: Context, policy: str = "") -> Response:
    entries = portal.library(c.wired.uow(), c.today())
    policy_id = policy or (entries[0].id if entries else "")
    text = workbench.source_text(c.wired.uow(), policy_id, c.wired.policies_dir, actor=session.user) \
        if policy_id else None
    return page(request, "workbench.html", v, entries=entries, policy_id=policy_id, text=text, check=None)


@router.post("/workbench/check", response_class=HTMLResponse)
def workbench_check(request: Request, session: SignedIn, v: Viewing, c: Context, text: Annotated[str, Form()] = "",
                    csrf: Annotated[str, Form()] = "") -> Response:
    check = workbench.check_text(c.wired.uow(), text, c.wired.schema, actor=posted(session, csrf))
    return page(request, "_checks.html", v, check=check)


@router.post("/workbench/sandbox", response_class=HTMLResponse)
def workbench_sandbox(request: Request, session: SignedIn, v: Viewing, c: Context,
                      text: Annotated[str, Form()] = "", csrf: Annotated[str, Form()] = "") -> Response:
    on = portal.application_day(c.wired.uow(), c.today())
    sim = workbench.sandbox_text(c.wired.uow(), text, c.wired.matched_store(), c.wired.schema, on,
                                 actor=posted(session, csrf), zones_dir=c.wired.zones_dir)
    return page(request, "_sandbox.html", v, sim=sim, groups=sandbox_groups(sim))


@router.post("/workbench/publish", response_class=HTMLResponse)
def workbench_publish(request: Request, session: SignedIn, v: Viewing, c: Context,
                      text: Annotated[str, Form()] = "", csrf: Annotated[str, Form()] = "") -> Response:
    actor = posted(session, csrf)
    check = workbench.check_text(c.wired.uow(), text, c.wired.schema, actor=actor)
    if not check.publishable:
        entries = portal.library(c.wired.uow(), c.today())
        return page(request, "workbench.html", v, status_code=400, entries=entries,
                    policy_id=check.policy.id if check.policy else "", text=text, check=check)
    done = workbench.publish_text(c.wired.uow(), text, c.wired.schema, actor=actor)
    what = f"已发布新版本（{len(done.published)} 个）" if done.published else "内容未变化，没有产生新版本"
    policy_id = check.policy.id if check.policy else ""
    return RedirectResponse(f"/workbench?policy={policy_id}&ok={quote(what)}", status_code=303)


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard(request: Request, session: SignedIn, v: Viewing, c: Context) -> Response:
    o = portal.overview(c.wired.uow(), c.wired.data_dir, actor=session.user)
    flow = cash_flow(c.wired.uow(), o.run, c.wired.data_dir, c.now(), actor=session.user)
    return page(request, "dashboard.html", v, o=o, flow=flow)


CHANGE_LABELS = {"gains": "新增受益", "loses": "不再受益", "more": "金额增加", "less": "金额减少"}


def sandbox_groups(sim: Simulation) -> dict[str, list[tuple[str, int, int]]]:
    """The draft's paid money by dimension (区县 / 行业 / 规模): [(group, firms, fen)]."""
    out: dict[str, list[tuple[str, int, int]]] = {}
    for dimension, group, firms, fen in sim.draft.by_group.iter_rows():
        out.setdefault(str(dimension), []).append((str(group), int(firms), int(fen)))
    return out


@router.get("/me/profile", response_class=HTMLResponse)
def my_profile(request: Request, session: SignedIn, v: Viewing, c: Context) -> Response:
    """The firm's own profile, each value with where it came from, and who used its data."""
    user = session.user
    if not user.uscc:
        raise portal.NotFound("只有企业账号有本企业画像；工作人员请在数据管理中查看。")
    on = portal.application_day(c.wired.uow(), c.today())
    df = view_profile(c.wired.uow(), c.wired.matched_store(), load_registry(), user.uscc, on, actor=user,
                      purpose="企业查看本企业画像", legal_basis="本企业查看自身信息")
    rows = [] if df.is_empty() else df.filter(pl.col("chosen")).sort(["label", "period"], descending=[False, True],
                                                                      nulls_last=True).to_dicts()
    fields: dict[str, list[dict[str, object]]] = {}
    for r in rows:                       # one entry per field: its latest period first, the rest folded
        fields.setdefault(str(r["label"]), []).append(r)
    uses = data_uses_of(c.wired.uow(), user.uscc, actor=user)
    return page(request, "profile.html", v, fields=fields, uses=uses[:100], total_uses=len(uses), as_of=on)


@router.get("/audit", response_class=HTMLResponse)
def audit_page(request: Request, session: SignedIn, v: Viewing, c: Context) -> Response:
    """The auditor's check: the log recomputed, every signed checkpoint verified."""
    from zhida.audit import log as audit_log

    report = audit_log.verify(c.wired.uow(), c.wired.audit_signer().verifier(), actor=session.user)
    return page(request, "audit.html", v, report=report, checkpoints=audit_log.checkpoints(c.wired.uow())[-20:])
