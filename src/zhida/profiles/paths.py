"""Where profile data lives inside a data directory (the directory itself comes from settings)."""

from __future__ import annotations

from pathlib import Path


def store_dir(base: Path) -> Path:
    return base / "profiles"
