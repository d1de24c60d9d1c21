"""Errors of the profile package. Messages are for users: Simplified Chinese, with the fix."""

from __future__ import annotations

from zhida.errors import ZhidaError


class ProfileError(ZhidaError):
    """Base of every error raised by `zhida.profiles`."""


class RegistryError(ProfileError):
    """The field registry (or a table shipped with it) is inconsistent."""


class MappingError(ProfileError):
    """A source mapping file is wrong: unknown field, bad format, missing key."""


class FeedStructureError(ProfileError):
    """A feed cannot be read as a whole (unreadable, wrong encoding, missing column); nothing loads."""


class StoreError(ProfileError):
    """The profile store is missing or damaged."""
