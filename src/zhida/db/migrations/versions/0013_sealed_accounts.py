"""Receiving account numbers are sealed at rest: `offers.account_no` holds the sealed text
(`zs1:<key id>:<base64>`, zhida.sealing), longer than a number. Existing plain numbers stay
readable (they are opened as they are) until the offer's account is confirmed again.

Revision ID: 0013_sealed_accounts
Revises: 0012_row_security
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_sealed_accounts"
down_revision = "0012_row_security"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("offers") as batch:
        batch.alter_column("account_no", type_=sa.String(200), existing_type=sa.String(64), existing_nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("offers") as batch:
        batch.alter_column("account_no", type_=sa.String(64), existing_type=sa.String(200), existing_nullable=True)
