from datetime import date

import pytest

from zhida.profiles.demo import load_city
from zhida.profiles.generate import generate_city
from zhida.profiles.store import ProfileStore

CITY_AS_OF = date(2025, 6, 30)


@pytest.fixture(scope="session")
def city(tmp_path_factory):
    return generate_city(tmp_path_factory.mktemp("city"), 3000, 11, CITY_AS_OF)


@pytest.fixture(scope="session")
def loaded_city(city, tmp_path_factory):
    store = ProfileStore(tmp_path_factory.mktemp("store"))
    reports = load_city(store, city)
    return store, reports
