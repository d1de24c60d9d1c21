"""A small demo city after `zhida run` (its demo accounts: firm1 and firm2), on SQLite and on
PostgreSQL; the web app served over it (uvicorn on a free loopback port) for the page tests."""

from __future__ import annotations

import re
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa
import uvicorn
from typer.testing import CliRunner

from zhida.accounts.demo import DEMO_PASSWORD
from zhida.bootstrap import App, bootstrap
from zhida.cli import app as cli
from zhida.settings import Settings
from zhida.web.app import create_app

from ...conftest import BACKENDS, POSTGRES_URL, postgres_admin


@pytest.fixture(scope="session")
def city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("web-city")
    made = CliRunner().invoke(cli, ["run", "--enterprises", "400", "--json"],
                              env={"ZHIDA_DATA_DIR": str(data), "ZHIDA_DATABASE_URL": None})
    assert made.exit_code == 0, made.output
    return data


@pytest.fixture
def wired(city: Path) -> Iterator[App]:
    app = bootstrap(Settings(data_dir=city))
    yield app
    app.close()


@pytest.fixture(scope="session")
def pg_city(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """The same small demo city with its store on PostgreSQL (a schema of its own, dropped at the end)."""
    admin = postgres_admin()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = f"{POSTGRES_URL}{'&' if '?' in POSTGRES_URL else '?'}options=-csearch_path%3D{schema}"
    data = tmp_path_factory.mktemp("web-city-pg")
    try:
        made = CliRunner().invoke(cli, ["run", "--enterprises", "400", "--json"],
                                  env={"ZHIDA_DATA_DIR": str(data), "ZHIDA_DATABASE_URL": url,
                                       "ZHIDA_AUTO_UPGRADE": "true"})
        assert made.exit_code == 0, made.output
        yield data, url
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@dataclass(frozen=True)
class Site:
    """The web app served over a demo city: its address and the wired application behind it."""

    url: str
    wired: App

    def client(self, username: str | None = None) -> Client:
        """A visitor (with a cookie jar), logged in as `username` when given."""
        c = Client(self.url)
        if username is not None:
            r = c.post("/login", data={"username": username, "password": DEMO_PASSWORD, "next": "/ask"})
            assert r.status_code == 200 and r.url.endswith("/ask"), r.text[:500]
            c.csrf = c.token(r.text)
        return c


class Client(requests.Session):
    """`requests` (it comes with schemathesis, a dev dependency) against one site."""

    def __init__(self, base: str) -> None:
        super().__init__()
        self.base = base
        self.csrf = ""

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kw: Any) -> requests.Response:
        return super().request(method, f"{self.base}{url!s}", *args, **kw)

    @staticmethod
    def token(html: str) -> str:
        found = re.search(r'name="csrf" value="([^"]+)"', html)
        assert found, "no CSRF token on the page"
        return found.group(1)


def serve(settings: Settings, today: Callable[[], date] = date.today) -> Iterator[Site]:
    """The app over these settings on a free loopback port, until the generator is closed."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    wired = bootstrap(settings.model_copy(update={"public_url": url}))
    server = uvicorn.Server(uvicorn.Config(create_app(wired, today=today, warm_reports=False), host="127.0.0.1",
                                           port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the web app did not start within 30 s"
        time.sleep(0.05)
    try:
        yield Site(url, wired)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        wired.close()


def settings_of(backend: str, city: Path, pg_city: tuple[Path, str] | None) -> Settings:
    if backend == "sqlite":
        return Settings(data_dir=city)
    assert pg_city is not None
    return Settings(data_dir=pg_city[0], database_url=pg_city[1], auto_upgrade=True)


@pytest.fixture(scope="module", params=BACKENDS)
def site(request: pytest.FixtureRequest, city: Path) -> Iterator[Site]:
    """The app over the demo city, on SQLite and on PostgreSQL, for one test module."""
    pg = request.getfixturevalue("pg_city") if request.param == "postgresql" else None
    yield from serve(settings_of(request.param, city, pg))
