"""Errors of the matching service. Messages are for users: Simplified Chinese, with the fix."""

from __future__ import annotations

from zhida.errors import ZhidaError


class MatchError(ZhidaError):
    """Base of every error raised by `zhida.matching`."""


class RunNotFound(MatchError):
    """No match run with that id (or no run at all)."""


class NotReproducible(MatchError):
    """A run's inputs (a policy version or a profile batch) are no longer available."""


class EnterpriseNotFound(MatchError):
    """The enterprise is not in the population of the run."""


class UnpublishedVersions(MatchError):
    """A run over published versions was given a policy version that was never published."""
