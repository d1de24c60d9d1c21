"""Where profile data lives: `.zhida/` under the current directory, or $ZHIDA_DATA_DIR."""

from __future__ import annotations

import os
from pathlib import Path


def data_dir() -> Path:
    return Path(os.environ.get("ZHIDA_DATA_DIR") or Path.cwd() / ".zhida")


def store_dir(base: Path | None = None) -> Path:
    return (base or data_dir()) / "profiles"


def database_url(base: Path | None = None) -> str:
    """The transactional database: $ZHIDA_DATABASE_URL, else SQLite under the data directory."""
    url = os.environ.get("ZHIDA_DATABASE_URL")
    if url:
        return url
    root = base or data_dir()
    root.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{root / 'zhida.sqlite'}"
