"""Legal representatives' ID numbers and phones of the synthetic city: valid in form, synthetic,
from generators of their own; masked for display."""

import re
from datetime import date

import numpy as np
import polars as pl
import pytest

from zhida.profiles.errors import RegistryError
from zhida.profiles.generate.people import id_check_char, is_valid_id_number, legal_reps, stream
from zhida.profiles.profile import display, mask
from zhida.profiles.registry import load_registry, parse_registry

AS_OF = date(2024, 6, 30)


def firms(n: int) -> pl.DataFrame:
    est = pl.date_range(date(1990, 1, 1), date(2024, 5, 1), "1d", eager=True)
    return pl.DataFrame({"uscc": [f"U{i:05d}" for i in range(n)],
                         "established": est.gather(np.linspace(0, len(est) - 1, n).astype(int))})


def test_the_gb_11643_check_character_of_published_examples():
    assert id_check_char("11010519491231002") == "X"        # GB 11643-1999, appendix example
    assert id_check_char("44052418800101001") == "4"
    assert is_valid_id_number("11010519491231002X") and not is_valid_id_number("110105194912310021")
    assert not is_valid_id_number("11010519490231002X")       # 2月31日


def test_generated_id_numbers_are_valid_adult_and_phones_are_mobile_numbers():
    f = firms(500)
    people = legal_reps(f, seed=3, as_of=AS_OF)
    assert people["uscc"].to_list() == f["uscc"].to_list()
    for id_number, founded in zip(people["id_number"], f["established"], strict=True):
        assert is_valid_id_number(id_number), id_number
        born = date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
        assert born.replace(year=born.year + 18) <= founded or born.year == 1935
        assert born <= date(AS_OF.year - 23, 12, 31)
    assert people["id_number"].str.starts_with("3303").mean() > 0.7        # mostly born in 温州's counties
    assert all(re.fullmatch(r"1[3-9]\d{9}", p) for p in people["phone"])
    assert people["id_number"].n_unique() == 500


def test_they_are_deterministic_for_a_seed_and_leave_the_main_stream_alone():
    f = firms(50)
    assert legal_reps(f, 3, AS_OF).equals(legal_reps(f, 3, AS_OF))
    assert not legal_reps(f, 3, AS_OF).equals(legal_reps(f, 4, AS_OF))
    main = np.random.default_rng(3)
    expected = np.random.default_rng(3).random(5)
    legal_reps(f, 3, AS_OF)
    stream(3, "licences").random(10)
    assert (main.random(5) == expected).all()
    assert (stream(3, "a").random(3) != stream(3, "b").random(3)).all()


def test_id_numbers_and_phones_are_masked_keeping_only_the_ends():
    assert mask("330302198005061234", "id_number") == "3303**********1234"
    assert mask("33030219800506123X", "id_number") == "3303**********123X"
    assert mask("13812345678", "phone") == "138****5678"
    assert mask("1234", "phone") == "****"                                  # too short to keep any of it
    reg = load_registry()
    for fid, shown in (("legal_rep_id_number", "3303**********1234"), ("legal_rep_phone", "138****5678")):
        f = reg.fields[fid]
        assert f.pii and f.classification == "personal" and f.source == "market"
        value = "330302198005061234" if fid == "legal_rep_id_number" else "13812345678"
        assert display(value, f) == shown and display(value, f, unmasked=True) == value


def test_an_unknown_mask_is_refused():
    from pathlib import Path

    import zhida.profiles.registry as reg

    raw = reg._yaml_load(Path(reg.__file__).parent / "fields.yaml")
    next(f for f in raw["fields"] if f["id"] == "legal_rep_phone")["mask"] = "middle"
    with pytest.raises(RegistryError, match="脱敏方式 middle"):
        parse_registry(raw)
