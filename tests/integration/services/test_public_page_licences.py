"""企业码 public page: a firm's 行政许可 in force are a section of their own (licence, number,
validity), read from the generated city's licence feed; expired ones and personal data are not shown."""

import polars as pl
import pytest

from zhida.profiles.registry import load_registry
from zhida.services.public_page import LICENCE_SOURCE, public_page

from ..matching.conftest import AS_OF, city_store  # noqa: F401

REGISTRY = load_registry()


@pytest.fixture(scope="module")
def licences(city_store):  # noqa: F811
    batch = next(b for b in city_store.batches() if b.source == LICENCE_SOURCE)
    return city_store.lists(batch).collect()


def test_licences_are_registered_lists_of_a_market_supervision_source():
    names = [x.name for x in REGISTRY.lists.values() if x.source == LICENCE_SOURCE]
    assert {"食品经营许可", "道路运输经营许可"} <= set(names)
    assert "市场监督管理局" in REGISTRY.sources[LICENCE_SOURCE].department


def test_a_licensed_firms_public_page_lists_its_licence_in_a_section_of_its_own(city_store, licences):  # noqa: F811
    valid = licences.filter((pl.col("listed_on") <= AS_OF) & (pl.col("expires_on") >= AS_OF))
    assert valid.height >= 5, "a plausible share of the demo firms hold a licence"
    row = valid.filter(pl.col("list") == "食品经营许可").sort("uscc").row(0, named=True)
    page = public_page(city_store, REGISTRY, row["uscc"], AS_OF)
    [licence] = [x for x in page.licences if x.ref == row["ref"]]
    assert (licence.name, licence.label, licence.since, licence.until) == (
        "食品经营许可", "食品经营许可证", row["listed_on"], row["expires_on"])
    assert row["ref"].startswith("JY") and "市场监督管理局" in licence.department
    assert "食品经营许可" not in [c.name for c in page.certifications]
    shown = " ".join(f"{f.label} {f.value}" for f in page.registration)
    assert "身份证" not in shown and "电话" not in shown


def test_an_expired_licence_is_not_shown(city_store, licences):  # noqa: F811
    expired = licences.filter(pl.col("expires_on") < AS_OF)
    current = licences.filter(pl.col("expires_on") >= AS_OF)["uscc"]
    candidates = expired.filter(~pl.col("uscc").is_in(current.implode()))
    if candidates.is_empty():
        pytest.skip("no firm whose only licence has expired in this city")
    row = candidates.sort("uscc").row(0, named=True)
    assert public_page(city_store, REGISTRY, row["uscc"], AS_OF).licences == ()
