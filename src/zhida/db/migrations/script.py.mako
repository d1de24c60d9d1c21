"""${message}

A draft written by `zhida db revision` (Alembic's autogenerate): read and edit it before
committing. Keep data (convert, never drop and re-add), name constraints as
zhida.db.metadata.NAMING_CONVENTION does, add PostgreSQL `postgresql_using` where a type
changes, and make the downgrade undo the upgrade. Replace this paragraph with what changes and why.

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
${imports if imports else ""}
revision = "${up_revision}"
down_revision = ${'"%s"' % down_revision if down_revision else None}
branch_labels = ${repr(branch_labels)}
depends_on = ${repr(depends_on)}


def upgrade() -> None:
    ${upgrades if upgrades else "pass"}


def downgrade() -> None:
    ${downgrades if downgrades else "pass"}
