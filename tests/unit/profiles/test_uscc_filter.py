"""The predicate that reads only some enterprises' rows (pushed into the Parquet scans)."""

import polars as pl
import pytest

from zhida.profiles.facts import uscc_filter

CODES = [f"9133030{i:011d}" for i in range(100)]
FRAME = pl.DataFrame({"uscc": [*CODES, None], "row": range(101)})


@pytest.mark.parametrize("n", [0, 1, 2, 3, 70])
def test_the_filter_keeps_exactly_the_wanted_enterprises_in_stored_order(n):
    wanted = [*CODES[::-1][:n], "91330300MA0000000X"]  # any order, and one code not present
    got = FRAME.filter(uscc_filter(wanted))
    assert got.get_column("uscc").to_list() == sorted(set(wanted) & set(CODES))
    assert got.get_column("row").is_sorted()


def test_duplicated_codes_are_read_once():
    assert FRAME.filter(uscc_filter([CODES[5], CODES[5]])).height == 1
