"""The CLI's composition root: settings are read here (environment, `.env`, options), once."""

from __future__ import annotations

from pathlib import Path

from zhida.bootstrap import App, bootstrap
from zhida.settings import Settings


def app(data_dir: Path | None = None) -> App:
    """The wired application; `--data-dir` given on the command line wins over ZHIDA_DATA_DIR."""
    settings = Settings() if data_dir is None else Settings(data_dir=data_dir)
    return bootstrap(settings)
