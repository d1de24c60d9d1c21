"""JSON documents as JSON columns; every enterprise as NULL instead of "*"; runs of drafts.

* match_runs.policies / snapshot, match_updates.enterprises / clauses, data_use.fields held
  `json.dumps` text; they become JSON columns (PostgreSQL converts the text, SQLite keeps it).
* match_updates.enterprises held "*" for an update of every enterprise: it becomes NULL.
* match_runs.drafts: whether a run evaluated unpublished files (every earlier run did).

Revision ID: 0002_json_columns
Revises: 0001_baseline
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_json_columns"
down_revision = "0001_baseline"
branch_labels = None
depends_on = None

JSON_COLUMNS = {"match_runs": ["policies", "snapshot"], "match_updates": ["clauses"], "data_use": ["fields"]}


def _to_json(table: str, column: str, nullable: bool = False) -> None:
    with op.batch_alter_table(table) as batch:
        batch.alter_column(column, existing_type=sa.Text, type_=sa.JSON(none_as_null=True),
                           existing_nullable=nullable, postgresql_using=f"{column}::json")


def _to_text(table: str, column: str, nullable: bool = False) -> None:
    with op.batch_alter_table(table) as batch:
        batch.alter_column(column, existing_type=sa.JSON(none_as_null=True), type_=sa.Text,
                           existing_nullable=nullable, postgresql_using=f"{column}::text")


def upgrade() -> None:
    for table, columns in JSON_COLUMNS.items():
        for column in columns:
            _to_json(table, column)
    with op.batch_alter_table("match_updates") as batch:
        batch.alter_column("enterprises", existing_type=sa.Text, nullable=True)
    op.execute("UPDATE match_updates SET enterprises = NULL WHERE enterprises = '*'")
    _to_json("match_updates", "enterprises", nullable=True)
    with op.batch_alter_table("match_runs") as batch:
        batch.add_column(sa.Column("drafts", sa.Boolean, nullable=False, server_default=sa.true()))
    # runs recorded from now on say what they evaluated: the default is a run of published versions
    with op.batch_alter_table("match_runs") as batch:
        batch.alter_column("drafts", existing_type=sa.Boolean, existing_nullable=False,
                           server_default=sa.false())


def downgrade() -> None:
    with op.batch_alter_table("match_runs") as batch:
        batch.drop_column("drafts")
    _to_text("match_updates", "enterprises", nullable=True)
    op.execute("UPDATE match_updates SET enterprises = '*' WHERE enterprises IS NULL")
    with op.batch_alter_table("match_updates") as batch:
        batch.alter_column("enterprises", existing_type=sa.Text, nullable=False)
    for table, columns in JSON_COLUMNS.items():
        for column in columns:
            _to_text(table, column)
