"""Payment flow: what the bank adapter and the payment worker need (zhida.workflow).

Revision ID: 0009_payment_flow
Revises: 0008_jobs_caps
"""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0009_payment_flow"
down_revision = "0008_jobs_caps"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
