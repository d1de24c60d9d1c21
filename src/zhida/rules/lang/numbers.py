"""Exact rounding of Fractions, the reference for the integer rounding in scaled.py."""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction


def round_fraction(value: Fraction, digits: int, mode: str) -> Fraction:
    """`value` rounded to `digits` decimal places.

    Modes: half_up (half away from zero, 四舍五入), half_even, down (toward zero),
    up (away from zero), floor, ceil.
    """
    scaled = value * Fraction(10) ** digits
    q = math.floor(scaled)
    r = scaled - q  # 0 <= r < 1
    if mode == "half_up":
        bump = r > Fraction(1, 2) or (r == Fraction(1, 2) and scaled >= 0)
    elif mode == "half_even":
        bump = r > Fraction(1, 2) or (r == Fraction(1, 2) and q % 2 != 0)
    elif mode == "floor":
        bump = False
    elif mode == "ceil":
        bump = r != 0
    elif mode == "down":
        bump = r != 0 and scaled < 0
    elif mode == "up":
        bump = r != 0 and scaled >= 0
    else:
        raise ValueError(f"unknown rounding mode {mode!r}")
    return (q + int(bump)) / Fraction(10) ** digits


def decimal_text(value: Fraction, places: int = 12) -> str:
    """An exact number as a plain decimal (rounded half-up to `places`), no float on the way:
    5.5 → "5.5", 100 → "100", 2/3 with places=4 → "0.6667"."""
    rounded = round_fraction(value, places, "half_up")
    text = format(Decimal(rounded.numerator) / Decimal(rounded.denominator), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def yuan_text(fen: int) -> str:
    """Integer fen as a readable yuan amount: 123456 → "1,234.56元"."""
    sign = "-" if fen < 0 else ""
    yuan, cents = divmod(abs(fen), 100)
    return f"{sign}{yuan:,}.{cents:02d}元"
