"""The acting user: who they are, which roles they hold, what those roles permit.

Authorization over it lives in `zhida.accounts.authz`.
"""

from __future__ import annotations

from dataclasses import dataclass

from zhida.accounts.roles import PERMISSIONS, Permission, Role


@dataclass(frozen=True)
class User:
    id: int
    username: str
    display_name: str
    roles: frozenset[Role]
    uscc: str | None = None            # the firm an enterprise user acts for
    department: str | None = None      # department code (a reviewer's department)
    active: bool = True
    oidc_subject: str | None = None

    @property
    def permissions(self) -> frozenset[Permission]:
        """What the roles permit; nothing at all for an inactive account."""
        if not self.active:
            return frozenset()
        return frozenset(p for r in self.roles for p in PERMISSIONS[r])

    @property
    def role_labels(self) -> str:
        return "、".join(r.label for r in sorted(self.roles))


# The local operator: whoever runs `zhida` on the server already holds the database, so the
# command line acts with every staff role that is not tied to one firm or one department.
# Web requests always act as a logged-in user.
SYSTEM = User(id=0, username="system", display_name="本机操作员（命令行）",
              roles=frozenset({Role.ADMIN, Role.POLICY_OFFICER, Role.DATA_OFFICER, Role.FINANCE, Role.LEADER}))
