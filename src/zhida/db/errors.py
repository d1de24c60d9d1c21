"""Errors of the transactional store."""

from __future__ import annotations

from zhida.errors import ZhidaError


class DatabaseError(ZhidaError):
    """The transactional store cannot be used as it is."""


class SchemaOutOfDate(DatabaseError):
    """The database's schema is not the one this code declares (run `zhida db upgrade`)."""
