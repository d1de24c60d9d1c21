"""docs/users.md lists every role and every permission with the roles that grant it."""

import re
from pathlib import Path

import pytest

from zhida.accounts import PERMISSIONS, Permission, Role

DOC = (Path(__file__).parents[3] / "docs" / "users.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("role", list(Role))
def test_every_role_is_documented_with_its_chinese_label(role):
    assert re.search(rf"^\| `{role.value}` \| {re.escape(role.label)} \|", DOC, re.M), role


@pytest.mark.parametrize("permission", list(Permission))
def test_every_permission_is_documented_with_the_roles_that_grant_it(permission):
    holders = "、".join(f"`{r.value}`" for r in Role if permission in PERMISSIONS[r])
    assert f"| `{permission.value}` | {permission.label} | {holders} |" in DOC, permission
