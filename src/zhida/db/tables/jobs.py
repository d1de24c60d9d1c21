"""The durable job table, 总量控制 caps and 预先拨付 advances (zhida.workflow)."""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401

from zhida.db.metadata import metadata  # noqa: F401
from zhida.db.types import JSON, UTCDateTime  # noqa: F401
