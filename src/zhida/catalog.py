"""Where the application finds its data definitions: the field registry, zones and policies.

This is the one place that joins `zhida.profiles` (what fields exist) with `zhida.rules`
(what rules may refer to); entrypoints call it (with directories from their settings), the
rules package never does.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from zhida.profiles.registry import load_registry
from zhida.profiles.zones import zone_names
from zhida.rules.lang.schema import Schema


def load_schema(zones_dir: Path = Path("zones")) -> Schema:
    """The rules' view of the profile: registry fields, lists, tags, and the zone names found
    in `zones_dir`."""
    schema = load_registry().to_rules_schema()
    return dataclasses.replace(schema, zones=frozenset(schema.zones) | frozenset(zone_names(zones_dir)))
