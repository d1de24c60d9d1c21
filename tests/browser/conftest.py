"""A real browser against the real app: Debian's chromium driven by Playwright (nothing is
downloaded), the app served by uvicorn on a free loopback port over a small demo city made by
`zhida run`. Chromium missing is a failure with the fix, never a skip."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, sync_playwright
from typer.testing import CliRunner

from zhida.bootstrap import bootstrap
from zhida.cli import app as cli
from zhida.settings import Settings
from zhida.web.app import create_app

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).parents[2] / ".zhida" / "screenshots"


@pytest.fixture(scope="session")
def city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory after `zhida run` on a small demo city (demo accounts included)."""
    data = tmp_path_factory.mktemp("web")
    made = CliRunner().invoke(cli, ["run", "--enterprises", "2000", "--json"],
                              env={"ZHIDA_DATA_DIR": str(data), "ZHIDA_DATABASE_URL": None})
    assert made.exit_code == 0, made.output
    return data


@pytest.fixture(scope="module")
def site(city: Path) -> Iterator[str]:
    """The app over the demo city, for one test module: a server left running would keep
    allocating in its own thread while the rest of the suite runs."""
    yield from serve(Settings(data_dir=city))


def serve(settings: Settings) -> Iterator[str]:
    """The app over these settings, on a free loopback port (its public URL), until the
    generator is closed."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    wired = bootstrap(settings.model_copy(update={"public_url": f"http://127.0.0.1:{port}"}))
    server = uvicorn.Server(uvicorn.Config(create_app(wired), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the web app did not start within 30 s"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:                                  # also when the caller closes the generator
        server.should_exit = True
        thread.join(timeout=10)
        wired.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is not installed at {CHROMIUM}: apt-get install -y chromium", pytrace=False)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"])
        yield b
        b.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})  # a phone first
    p = context.new_page()
    yield p
    context.close()
