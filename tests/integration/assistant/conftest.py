"""The pack published into the store (SQLite and PostgreSQL) and matched over a small demo city."""

from ..matching.conftest import AS_OF, city_store, data_dir, policies, schema, setup, store  # noqa: F401
from ..workflow.conftest import firm, published_run  # noqa: F401
