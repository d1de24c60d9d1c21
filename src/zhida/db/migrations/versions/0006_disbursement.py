"""Review batches, 公示 and objections, payment batches, notifications (zhida.workflow).

Revision ID: 0006_disbursement
Revises: 0005_money
"""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0006_disbursement"
down_revision = "0005_money"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
