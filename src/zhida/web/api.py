"""The JSON API under /api: the same services as the pages; errors as RFC 9457 problem details."""

from dataclasses import asdict, is_dataclass
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from zhida import portal
from zhida.accounts.sessions import Session
from zhida.web.context import Ctx, ctx, signed_in

router = APIRouter(prefix="/api")
SignedIn = Annotated[Session, Depends(signed_in)]
Context = Annotated[Ctx, Depends(ctx)]


class Problem(BaseModel):
    """RFC 9457 problem details: what the API answers instead of a result."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str


def problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    what = {400: "请求有误", 401: "未登录或登录已过期", 403: "无权访问", 404: "不存在或未发布"}
    return {c: {"model": Problem, "description": what[c], "content": {"application/problem+json": {}}}
            for c in codes}


def plain(value: Any) -> Any:
    """Dataclasses, dates and tuples as JSON values."""
    if is_dataclass(value) and not isinstance(value, type):
        return plain(asdict(value))
    if isinstance(value, dict):
        return {k: plain(x) for k, x in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(x) for x in value]
    if isinstance(value, date):
        return value.isoformat()
    return value


@router.get("/policies", summary="政策库：已发布的政策（可按关键词、层级、部门、兑现方式、有效性筛选）")
def api_policies(c: Context, q: str = "", level: str = "", department: str = "", mode: str = "",
                 validity: str = "") -> list[dict[str, Any]]:
    return [plain(e) for e in portal.library(c.wired.uow(), c.today(), query=q, level=level, department=department,
                                             mode=mode, validity=validity)]


@router.get("/policies/{policy_id}", responses=problems(404), summary="一份政策及其条款")
def api_policy(c: Context, policy_id: str) -> dict[str, Any]:
    found: dict[str, Any] = plain(portal.policy_page(c.wired.uow(), policy_id, c.today()))
    return found


@router.get("/calculator", responses=problems(404),
            summary="政策计算器：按回答测算可享受的条款与金额，并给出下一步要回答的问题")
def api_calculator(request: Request, c: Context, policy: str = "", as_of: date | None = None) -> dict[str, Any]:
    """Answers are query parameters named `a:<fact column>`, e.g. `a:enterprise_size@2023=小型`."""
    answers = {k[2:]: x for k, x in request.query_params.items() if k.startswith("a:")}
    result = portal.calculator(c.wired.uow(), c.wired.schema, as_of or c.today(), answers, policy_id=policy)
    return {**plain(result), "eligible_fen": result.eligible_fen, "decided": result.decided}


@router.get("/me/report", responses=problems(401, 403, 404), summary="本企业的匹配报告（企业账号）")
def api_my_report(c: Context, session: SignedIn) -> dict[str, Any]:
    return portal.my_report(c.wired.uow(), c.wired.schema, c.wired.zones_dir, actor=session.user,
                            reports=c.reports, uses=c.uses).to_dict()


@router.get("/dashboard", responses=problems(401, 403, 404),
            summary="最近一次匹配的概况与兑现进度（领导、财政、政策管理人员）")
def api_dashboard(c: Context, session: SignedIn) -> dict[str, Any]:
    return portal.overview(c.wired.uow(), c.wired.data_dir, actor=session.user).to_dict()
