"""The transactional store: one MetaData (`zhida.db.metadata`), every table (`zhida.db.tables`),
Alembic migrations (`zhida.db.migrate`), and the unit of work services own their
transactions through (`zhida.db.uow`)."""

from zhida.db.database import Database, create_engine
from zhida.db.uow import UnitOfWork

__all__ = ["Database", "UnitOfWork", "create_engine"]
