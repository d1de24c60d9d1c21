"""Periods: relative references are resolved against the evaluation date (`as_of`)."""

from __future__ import annotations

from datetime import date

from zhida.rules.lang import ast


def _shift_month(year: int, month: int, offset: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + offset
    return index // 12, index % 12 + 1


def period_key(period: ast.Period, as_of: date) -> str:
    """`2023` for a year, `2024-03` for a month (the frame's column suffix)."""
    if period.kind == "year":
        year = as_of.year + period.offset if period.relative else period.year
        return f"{year:04d}"
    if period.relative and period.month:          # a month of a relative year
        y, m = as_of.year + period.offset, period.month
    elif period.relative:
        y, m = _shift_month(as_of.year, as_of.month, period.offset)
    else:
        y, m = period.year, period.month
    return f"{y:04d}-{m:02d}"


def expand(rng: ast.PeriodRange, as_of: date) -> list[str]:
    """Every period of an inclusive range, in order. An empty range is an empty list."""
    start, end = period_key(rng.start, as_of), period_key(rng.end, as_of)
    out: list[str] = []
    if rng.kind == "year":
        return [f"{y:04d}" for y in range(int(start), int(end) + 1)]
    y, m = int(start[:4]), int(start[5:])
    while f"{y:04d}-{m:02d}" <= end:
        out.append(f"{y:04d}-{m:02d}")
        y, m = _shift_month(y, m, 1)
    return out


def resolve(period: ast.Period | ast.PeriodRange, as_of: date) -> list[str]:
    if isinstance(period, ast.PeriodRange):
        return expand(period, as_of)
    return [period_key(period, as_of)]


def window_start(duration: ast.Duration, as_of: date) -> date:
    """The first day of `within = N years|months` ending on `as_of`: the same day N years or
    months earlier (clipped to the month's last day: 2024-02-29 minus 1 year is 2023-02-28)."""
    return _months_before(as_of, duration.amount * (12 if duration.unit == "year" else 1))


def received_window(duration: ast.Duration | None = None, since: date | None = None) -> str:
    """The window of a received total as a frame column names it (frame.received_total_column):
    "" for every payment, `within=3y` / `within=36m`, `since=2023-01-01`."""
    if duration is not None:
        return f"within={duration.amount}{'y' if duration.unit == 'year' else 'm'}"
    return "" if since is None else f"since={since.isoformat()}"


def received_window_start(window: str, as_of: date) -> date | None:
    """The first day a received total's window counts on `as_of`; None for every payment."""
    kind, _, value = window.partition("=")
    if kind == "since":
        return date.fromisoformat(value)
    if kind == "within":
        return _months_before(as_of, int(value[:-1]) * (12 if value.endswith("y") else 1))
    if window:
        raise ValueError(f"not a received window: {window!r}")
    return None


def _months_before(as_of: date, months: int) -> date:
    y, m = _shift_month(as_of.year, as_of.month, -months)
    day = as_of.day
    while True:
        try:
            return date(y, m, day)
        except ValueError:
            day -= 1
