"""A small generated city (a few hundred enterprises), the real policy pack, and the store on
SQLite and PostgreSQL (the `database` fixture of tests/conftest.py)."""

import shutil
from datetime import date
from pathlib import Path

import pytest

from zhida import catalog
from zhida.matching.run import MatchSetup
from zhida.profiles.demo import demo_store
from zhida.profiles.store import ProfileStore
from zhida.rules.model.policy import load_policies

AS_OF = date(2024, 6, 30)
ROOT = Path(__file__).resolve().parents[3]
POLICIES = ROOT / "policies"
ZONES = ROOT / "zones"


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
    return load_policies([POLICIES])


@pytest.fixture(scope="session")
def schema():
    return catalog.load_schema(ZONES)


@pytest.fixture
def uow(database):
    """A unit of work for a service call (a test makes a new one per call with database.uow())."""
    return database.uow()


@pytest.fixture
def data_dir(tmp_path):
    d = tmp_path / "data"
    d.mkdir()
    return d


@pytest.fixture
def setup(data_dir, schema):
    return MatchSetup(data_dir=data_dir, schema=schema, zones_dir=ZONES)
