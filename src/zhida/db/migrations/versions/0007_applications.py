"""即申即办 applications and the 材料银行 (zhida.workflow.applications).

Revision ID: 0007_applications
Revises: 0006_disbursement
"""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0007_applications"
down_revision = "0006_disbursement"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
