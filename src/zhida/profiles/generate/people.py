"""Legal representatives' ID numbers and phones in the synthetic city: synthetic personal data.

Drawn from generators of their own (`stream`), seeded from the city's seed and a name, never from
the city's main stream: adding these columns left every other generated value as it was, so the
figures and tests pinned on a demo city still hold.

ID numbers follow GB 11643-1999 (公民身份号码): a 6-digit GB/T 2260 area code, the birth date,
a 3-digit order number (odd for men) and an ISO 7064 MOD 11-2 check character. They are valid
in form but made up; phones are 11-digit mobile numbers with real operator prefixes.
"""

from __future__ import annotations

import zlib
from datetime import date

import numpy as np
import polars as pl

from zhida.profiles.generate.population import days
from zhida.profiles.generate.vocab import DISTRICTS

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"
# where a 温州 firm's legal representative was registered at birth: mostly 温州's counties, some elsewhere
OTHER_AREAS = ["330102", "330203", "331002", "331081", "340104", "362330", "411302", "430102", "511002",
               "522101"]
MOBILE_PREFIXES = ["130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "153",
                   "155", "156", "157", "158", "159", "176", "177", "180", "181", "182", "183", "185", "186",
                   "187", "188", "189", "191", "198", "199"]
EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def stream(seed: int, name: str) -> np.random.Generator:
    """A random generator of its own for one kind of added data, independent of the main stream."""
    return np.random.default_rng([seed, zlib.crc32(name.encode("utf-8"))])


def id_check_char(first17: str) -> str:
    """The GB 11643 check character of the first 17 digits."""
    return ID_CHECK[sum(int(c) * w for c, w in zip(first17, ID_WEIGHTS, strict=True)) % 11]


def is_valid_id_number(text: str) -> bool:
    """18 characters, 17 digits, a real birth date and the right check character."""
    if len(text) != 18 or not text[:17].isdigit():
        return False
    try:
        date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError:
        return False
    return text[17] == id_check_char(text[:17])


def _id_numbers(rng: np.random.Generator, firms: pl.DataFrame, as_of: date) -> list[str]:
    n = firms.height
    local = np.array([d[0] for d in DISTRICTS])
    area = np.where(rng.random(n) < 0.85, local[rng.integers(0, len(local), n)],
                    np.array(OTHER_AREAS)[rng.integers(0, len(OTHER_AREAS), n)])
    age = rng.uniform(23, 66, n) * 365.25
    adult_at_founding = firms["established"].cast(pl.Int64).to_numpy() - int(18 * 365.25) - 1
    born = np.maximum(np.minimum(days(as_of) - age.astype(np.int64), adult_at_founding), days(date(1935, 1, 1)))
    order = rng.integers(1, 1000, n)
    out = []
    for a, b, o in zip(area.tolist(), born.tolist(), order.tolist(), strict=True):
        first17 = f"{a}{date.fromordinal(EPOCH_ORDINAL + b):%Y%m%d}{o:03d}"
        out.append(first17 + id_check_char(first17))
    return out


def legal_reps(firms: pl.DataFrame, seed: int, as_of: date) -> pl.DataFrame:
    """uscc, the legal representative's ID number and mobile phone, one row per firm (firms' order)."""
    ids = _id_numbers(stream(seed, "legal-rep-id"), firms, as_of)
    rng = stream(seed, "legal-rep-phone")
    prefix = np.array(MOBILE_PREFIXES)[rng.integers(0, len(MOBILE_PREFIXES), firms.height)]
    phones = [p + f"{x:08d}" for p, x in zip(prefix.tolist(), rng.integers(0, 10**8, firms.height).tolist(),
                                             strict=True)]
    return pl.DataFrame({"uscc": firms["uscc"], "id_number": ids, "phone": phones})
