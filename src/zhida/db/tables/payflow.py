"""What the bank adapter and the payment worker need (zhida.workflow)."""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401

from zhida.db.metadata import metadata  # noqa: F401
from zhida.db.types import JSON, UTCDateTime  # noqa: F401
