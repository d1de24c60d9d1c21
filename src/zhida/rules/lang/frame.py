"""Column names of the population frame, and what a compiled policy set needs from it.

See docs/decisions/0001-population-frame.md for the contract.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ID_COLUMN = "uscc"


def field_column(field_id: str, period: str | None = None) -> str:
    """`revenue` for a timeless field, `revenue@2023` or `insured@2024-03` for a period."""
    return field_id if period is None else f"{field_id}@{period}"


def list_column(name: str) -> str:
    return f"list@{name}"


def list_since_column(name: str) -> str:
    return f"list_since@{name}"


def tag_column(name: str) -> str:
    return f"tag@{name}"


def zone_column(name: str) -> str:
    return f"zone@{name}"


def received_column(clause: str) -> str:
    """Whether the enterprise was paid for a clause (`policy/clause`) on or before `as_of`:
    null when the received-benefits source is unknown (never published by then)."""
    return f"received@{clause}"


def received_on_column(clause: str) -> str:
    """The latest date (on or before `as_of`) the enterprise was paid for a clause (`policy/clause`)."""
    return f"received_on@{clause}"


def received_fen_column(clause: str) -> str:
    """The amount (fen) of that latest payment."""
    return f"received_fen@{clause}"


def received_total_column(clause: str, window: str = "") -> str:
    """The total (fen) the enterprise was paid for a clause on or before `as_of`, in a window
    known when the policy is compiled: "" every payment, `within=3y` / `within=36m` the last N
    years or months (periods.received_window_start), `since=2023-01-01` from a date on. Null
    when the received-benefits source is unknown, 0 when it is known and holds nothing."""
    return f"received_total@{clause}" + (f"@{window}" if window else "")


def received_total_parts(column: str) -> tuple[str, str]:
    """(clause, window) of a `received_total_column` name."""
    rest = column.removeprefix("received_total@")
    clause, at, window = rest.rpartition("@")
    return (clause, window) if at and window.startswith(("within=", "since=")) else (rest, "")


@dataclass
class Requirements:
    """Everything a set of compiled expressions reads, resolved for one `as_of` date."""

    fields: set[tuple[str, str | None]] = field(default_factory=set)
    lists: set[str] = field(default_factory=set)
    list_since: set[str] = field(default_factory=set)
    tags: set[str] = field(default_factory=set)
    zones: set[str] = field(default_factory=set)
    received: set[str] = field(default_factory=set)  # clause keys read by received(...)
    received_totals: set[tuple[str, str]] = field(default_factory=set)  # (clause, window): received_amount(...)

    def update(self, other: Requirements) -> None:
        self.fields |= other.fields
        self.lists |= other.lists
        self.list_since |= other.list_since
        self.tags |= other.tags
        self.zones |= other.zones
        self.received |= other.received
        self.received_totals |= other.received_totals

    def columns(self) -> list[str]:
        """Every frame column these requirements name, in a stable order."""
        cols = [field_column(f, p) for f, p in sorted(self.fields, key=lambda x: (x[0], x[1] or ""))]
        cols += [list_column(n) for n in sorted(self.lists)]
        cols += [list_since_column(n) for n in sorted(self.list_since)]
        cols += [tag_column(n) for n in sorted(self.tags)]
        cols += [zone_column(n) for n in sorted(self.zones)]
        for k in sorted(self.received):
            cols += [received_column(k), received_on_column(k), received_fen_column(k)]
        cols += [received_total_column(k, w) for k, w in sorted(self.received_totals)]
        return cols
