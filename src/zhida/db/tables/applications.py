"""即申即办 applications and the 材料银行 (zhida.workflow.applications)."""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401

from zhida.db.metadata import metadata  # noqa: F401
from zhida.db.types import JSON, UTCDateTime  # noqa: F401
