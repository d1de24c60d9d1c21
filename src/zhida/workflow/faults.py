"""Named crash points of the payment flow, for the crash tests and `bench/payments.py`.

`checkpoint(name)` does nothing unless a test or benchmark worker armed that point in its own
process (`arm`); then, on the armed hit, the process dies at once (`os._exit(137)`, like a
SIGKILL: no cleanup, no rollback handlers, no flushing). Libraries never arm anything.
"""

from __future__ import annotations

import os

POINTS = ("schedule.before_commit", "schedule.after_commit", "bank.before_send", "bank.after_send",
          "settle.before_commit", "settle.after_commit")
_armed: dict[str, int] = {}


def arm(name: str, *, after: int = 0) -> None:
    """Die at the (after+1)-th time `name` is reached in this process."""
    if name not in POINTS:
        raise ValueError(f"unknown crash point {name!r}; known: {', '.join(POINTS)}")
    _armed.clear()
    _armed[name] = after


def checkpoint(name: str) -> None:
    left = _armed.get(name)
    if left is None:
        return
    if left == 0:
        os._exit(137)
    _armed[name] = left - 1
