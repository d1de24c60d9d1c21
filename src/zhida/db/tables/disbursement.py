"""Review batches, 公示 and objections, payment batches, notifications (zhida.workflow)."""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401

from zhida.db.metadata import metadata  # noqa: F401
from zhida.db.types import JSON, UTCDateTime  # noqa: F401
