"""A small demo city after `zhida run` (its demo accounts: firm1 and firm2), on SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from zhida.bootstrap import App, bootstrap
from zhida.cli import app as cli
from zhida.settings import Settings


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
