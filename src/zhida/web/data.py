"""The data officer's pages (数据管理): every registered source with its latest loads, freshness
and quality figures; one source's loads and quarantined rows.

Thin shells over zhida.profiles.dataoffice, which decides who may (`load_data`). They read the
profile store the latest match run read (the demo city's after `zhida run`) on that run's
evaluation date — the date the firms' reports and applications use.
"""

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from zhida.accounts.sessions import Session
from zhida.portal import NotFound, application_day
from zhida.profiles import dataoffice
from zhida.profiles.registry import load_registry
from zhida.web.context import Ctx, Viewer, ctx, page, signed_in, viewer

router = APIRouter(include_in_schema=False)
Viewing = Annotated[Viewer, Depends(viewer)]
SignedIn = Annotated[Session, Depends(signed_in)]
Context = Annotated[Ctx, Depends(ctx)]


def _as_of(c: Ctx) -> date:
    return application_day(c.wired.uow(), c.today())


@router.get("/data", response_class=HTMLResponse)
def sources(request: Request, session: SignedIn, v: Viewing, c: Context) -> Response:
    o = dataoffice.sources_overview(c.wired.matched_store(), load_registry(), _as_of(c), actor=session.user)
    return page(request, "data.html", v, o=o)


@router.get("/data/source/{source_id}", response_class=HTMLResponse)
def source(request: Request, source_id: str, session: SignedIn, v: Viewing, c: Context,
           offset: int = 0) -> Response:
    try:
        d = dataoffice.source_detail(c.wired.matched_store(), load_registry(), source_id, _as_of(c),
                                     actor=session.user, offset=offset)
    except dataoffice.UnknownSource as e:
        raise NotFound(str(e)) from None
    return page(request, "data_source.html", v, d=d)
