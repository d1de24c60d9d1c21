"""预先拨付: an offer may be paid in tranches — an advance now, the balance after settlement
(清算). `payments.tranche` says which (existing payments are whole awards: `full`), and the
one-live-payment guard becomes one live payment per offer and tranche.

Revision ID: 0015_advance_payments
Revises: 0014_applications
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015_advance_payments"
down_revision = "0014_applications"
branch_labels = None
depends_on = None

LIVE = sa.text("state IN ('pending', 'paid')")


def upgrade() -> None:
    with op.batch_alter_table("payments") as batch:
        batch.add_column(sa.Column("tranche", sa.String(16), nullable=False, server_default="full"))
    op.drop_index("uq_payments_live_offer", table_name="payments")
    op.create_index("uq_payments_live_offer", "payments", ["offer_id", "tranche"], unique=True,
                    sqlite_where=LIVE, postgresql_where=LIVE)


def downgrade() -> None:
    split = op.get_bind().execute(sa.text("SELECT count(*) FROM payments WHERE tranche <> 'full'")).scalar_one()
    if split:
        raise RuntimeError(f"{split} payments are advances or balances (预先拨付); a database at "
                           "0014_applications cannot hold them. Stay at 0015.")
    op.drop_index("uq_payments_live_offer", table_name="payments")
    op.create_index("uq_payments_live_offer", "payments", ["offer_id"], unique=True,
                    sqlite_where=LIVE, postgresql_where=LIVE)
    with op.batch_alter_table("payments") as batch:
        batch.drop_column("tranche")
