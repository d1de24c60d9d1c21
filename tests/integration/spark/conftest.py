"""One local[2] Spark session for the whole run, the demo city, the real policy pack.

Spark is never skipped: Java 17 and PySpark are on every machine here (pyproject's dev
extra), and a test that cannot start Spark fails and says why."""

import os
import shutil
from datetime import date
from pathlib import Path

import pytest

from zhida import catalog
from zhida.db import Database
from zhida.matching.run import MatchSetup
from zhida.profiles.demo import demo_store
from zhida.rules.model.policy import load_policies

AS_OF = date(2024, 6, 30)
ROOT = Path(__file__).resolve().parents[3]
POLICIES = ROOT / "policies"
ZONES = ROOT / "zones"


@pytest.fixture(scope="session")
def spark():
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.fail("Java 17 is needed for the Spark engine's tests: no `java` on PATH and no JAVA_HOME",
                    pytrace=False)
    try:
        import pyspark  # noqa: F401
    except ImportError as e:
        pytest.fail(f"PySpark is needed for the Spark engine's tests ({e}): pip install -c constraints.txt -e '.[dev]'",
                    pytrace=False)
    from zhida.matching.spark import spark_session

    session = spark_session("local[2]", shuffle_partitions=2, app_name="zhida tests")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def staging(tmp_path_factory):
    return tmp_path_factory.mktemp("spark-staging")


@pytest.fixture(scope="session")
def city_store(tmp_path_factory):
    return demo_store(AS_OF, base=tmp_path_factory.mktemp("city"), enterprises=400, seed=7)


@pytest.fixture(scope="session")
def policies():
    return load_policies([POLICIES])


@pytest.fixture(scope="session")
def schema():
    return catalog.load_schema(ZONES)


@pytest.fixture
def database(tmp_path):
    """Embedded SQLite: what the runs record is the same on any store (tests/integration/matching)."""
    return Database.open(f"sqlite:///{tmp_path / 'zhida.sqlite'}")


def make_setup(data_dir: Path, schema) -> MatchSetup:
    data_dir.mkdir(parents=True, exist_ok=True)
    return MatchSetup(data_dir=data_dir, schema=schema, zones_dir=ZONES)
