import numpy as np
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from zhida.profiles import uscc
from zhida.profiles.generate.population import make_usccs

PUBLISHED = ["914403001922038216", "91440300708461136T", "91110108551385082Q"]


@pytest.mark.parametrize("code", PUBLISHED)
def test_published_codes_pass_the_check_digit(code):
    assert uscc.is_valid(code)
    assert uscc.check_char(code[:17]) == code[17]


@pytest.mark.parametrize("code", [
    "914403001922038217",   # Huawei with the last character changed
    "91110108717809965C",   # fabricated mock data found in public repos
    "9133010057462616XH",
    "91440300708461136",    # 17 characters
    "91440300708461136TT",  # 19 characters
    "91440300708461136I",   # I is not in the character set
    "9144030070846113OT",   # O is not in the character set
    "",
])
def test_invalid_codes_fail(code):
    assert not uscc.is_valid(code)


def test_every_other_last_character_fails_for_a_published_code():
    code = PUBLISHED[1]
    wrong = [c for c in uscc.CHARSET if c != code[17]]
    assert not any(uscc.is_valid(code[:17] + c) for c in wrong)


def test_organization_code_check_of_a_published_code():
    assert uscc.org_check_char("19220382") == "1"


def test_vectorised_check_agrees_with_the_published_codes():
    s = pl.Series([*PUBLISHED, "914403001922038217", None, "short"])
    assert uscc.valid_mask(s).to_list() == [True, True, True, False, False, False]


@given(st.text(alphabet=uscc.CHARSET, min_size=17, max_size=17))
def test_vectorised_and_scalar_check_agree(first17):
    good = first17 + uscc.check_char(first17)
    bad = first17 + ("0" if good[-1] != "0" else "1")
    mask = uscc.valid_mask(pl.Series([good, bad])).to_list()
    shape = bool(uscc.PATTERN.match(good))
    assert mask == [shape, False]


def test_generated_codes_are_valid_unique_and_keep_their_parts():
    rng = np.random.default_rng(5)
    n = 2000
    kind = rng.choice([1, 2, 3], n)
    authority = np.full(n, 330302)
    codes = make_usccs(rng, kind, authority, rng.random(n) < 0.5)
    assert len(set(codes)) == n
    assert all(uscc.is_valid(c) for c in codes)
    assert all(c[2:8] == "330302" for c in codes)
    assert all(uscc.org_check_char(c[8:16]) == c[16] for c in codes)
    assert {c[:2] for c in codes} == {"91", "92", "93"}
