"""统一社会信用代码 (USCC) per GB 32100-2015: structure and check digit, scalar and vectorised.

Positions: 1 registration department, 2 category, 3-8 GB/T 2260 code of the registering
authority, 9-17 the GB 11714 organization code, 18 the check character (GB/T 17710, MOD 31).
"""

from __future__ import annotations

import re

import numpy as np
import polars as pl

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
PATTERN = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")

_VALUE = np.full(256, -1, dtype=np.int64)
for _i, _c in enumerate(CHARSET):
    _VALUE[ord(_c)] = _i
_CHARS = np.frombuffer(CHARSET.encode("ascii"), dtype=np.uint8)


def check_char(first17: str) -> str:
    """The 18th character for the first 17 (raises ValueError on a character outside the set)."""
    total = sum(CHARSET.index(c) * w for c, w in zip(first17, WEIGHTS, strict=True))
    return CHARSET[(31 - total % 31) % 31]


def is_valid(code: str) -> bool:
    """True when `code` has the GB 32100 shape and a correct check character."""
    return bool(PATTERN.match(code)) and check_char(code[:17]) == code[17]


def org_check_char(body8: str) -> str:
    """GB 11714 check character of an 8-character organization-code body."""
    values = [int(c) if c.isdigit() else ord(c) - 55 for c in body8]
    c9 = 11 - sum(v * w for v, w in zip(values, ORG_WEIGHTS, strict=True)) % 11
    return "X" if c9 == 10 else "0" if c9 == 11 else str(c9)


def check_chars_array(first17: np.ndarray) -> np.ndarray:
    """Vectorised check characters for an (n, 17) array of character values (0-30)."""
    total = (first17 * np.asarray(WEIGHTS, dtype=np.int64)).sum(axis=1)
    return (31 - total % 31) % 31


def valid_mask(codes: pl.Series) -> pl.Series:
    """Boolean Series: shape and check digit valid (null input -> False). Vectorised."""
    shape_ok = codes.str.contains(PATTERN.pattern).fill_null(False)
    padded = codes.fill_null("").str.pad_end(18, "~").str.slice(0, 18)
    raw = np.frombuffer("".join(padded.to_list()).encode("ascii", "replace"), dtype=np.uint8)
    values = _VALUE[raw.reshape(-1, 18)] if len(raw) else np.zeros((0, 18), dtype=np.int64)
    ok = (check_chars_array(np.where(values[:, :17] < 0, 0, values[:, :17])) == values[:, 17])
    return shape_ok & pl.Series(ok)


def codes_from_values(values: np.ndarray) -> list[str]:
    """Strings for an (n, 18) array of character values."""
    as_bytes = np.ascontiguousarray(_CHARS[values], dtype=np.uint8)
    return np.frombuffer(as_bytes.tobytes(), dtype="S18").astype(str).tolist()


def registration_kind(code: str) -> str:
    """Positions 1-2: '91' enterprise, '92' individual business, '93' farmers' cooperative, ..."""
    return code[:2]
