"""Where the application finds its data definitions: the field registry, zones and policies.

This is the one place that joins `zhida.profiles` (what fields exist) with `zhida.rules`
(what rules may refer to); entrypoints call it, the rules package never does.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from zhida.profiles.registry import load_registry
from zhida.rules.schema import Schema


def policies_dir() -> Path:
    return Path(os.environ.get("ZHIDA_POLICIES", Path.cwd() / "policies"))


def zones_dir() -> Path:
    return Path(os.environ.get("ZHIDA_ZONES", Path.cwd() / "zones"))


def zone_names(directory: Path | None = None) -> list[str]:
    d = directory or zones_dir()
    return sorted(p.stem for p in d.glob("*.geojson")) if d.is_dir() else []


def load_schema() -> Schema:
    """The rules' view of the profile: registry fields, lists, tags, and zone names."""
    schema = load_registry().to_rules_schema()
    return dataclasses.replace(schema, zones=frozenset(schema.zones) | frozenset(zone_names()))
