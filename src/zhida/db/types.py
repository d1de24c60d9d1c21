"""Column types shared by every table: one timezone-aware timestamp, one JSON."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """A moment in time, always timezone-aware and stored as UTC.

    PostgreSQL keeps the zone (`timestamp with time zone`); SQLite keeps text without one, so a
    value read back is marked UTC here. A naive datetime is refused on the way in: a moment
    without a zone is a bug in the caller, not something to guess."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass a timezone-aware moment (e.g. datetime.now(UTC))")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def JSON() -> sa.JSON:
    """A JSON document; Python None is SQL NULL (never the JSON literal null)."""
    return sa.JSON(none_as_null=True)

