"""A small generated city (a few hundred enterprises), the real policy pack, and the match
tables on SQLite — and on PostgreSQL too when ZHIDA_TEST_DATABASE_URL is set."""

import os
import shutil
import uuid
from datetime import date

import pytest
import sqlalchemy as sa

from zhida import catalog
from zhida.matching.tables import MatchTables
from zhida.profiles.datause import DataUseLog
from zhida.profiles.demo import demo_store
from zhida.profiles.store import ProfileStore
from zhida.rules.policy import load_policies

AS_OF = date(2024, 6, 30)
URLS = ["sqlite"] + (["postgres"] if os.environ.get("ZHIDA_TEST_DATABASE_URL") else [])


@pytest.fixture(scope="session")
def city_store(tmp_path_factory):
    return demo_store(AS_OF, base=tmp_path_factory.mktemp("city"), enterprises=400, seed=7)


@pytest.fixture
def store(city_store, tmp_path):
    """A private copy of the city's profile store (tests that load facts change it)."""
    root = tmp_path / "store"
    shutil.copytree(city_store.root, root)
    return ProfileStore(root)


@pytest.fixture(scope="session")
def policies():
    return load_policies([catalog.policies_dir()])


@pytest.fixture(scope="session")
def schema():
    return catalog.load_schema()


@pytest.fixture(params=URLS)
def engine(request, tmp_path):
    if request.param == "sqlite":
        eng = sa.create_engine(f"sqlite:///{tmp_path / 'match.sqlite'}")
    else:
        eng = sa.create_engine(os.environ["ZHIDA_TEST_DATABASE_URL"])
    yield eng
    eng.dispose()


@pytest.fixture
def tables(engine):
    t = MatchTables(engine, prefix=f"t{uuid.uuid4().hex[:10]}_")  # unique per test: runs never collide
    t.create()
    yield t
    t.drop()


@pytest.fixture
def uses(engine):
    log = DataUseLog(engine, table_name=f"data_use_t{uuid.uuid4().hex[:10]}")
    log.create()
    yield log
    log.drop()


@pytest.fixture
def data_dir(tmp_path):
    d = tmp_path / "data"
    d.mkdir()
    return d
