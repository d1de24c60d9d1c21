"""Roles, permissions and the authorization rules (pure: no database)."""

import pytest

from zhida.accounts import (
    PERMISSIONS,
    SYSTEM,
    NotAllowed,
    Permission,
    Role,
    User,
    can,
    require,
    require_department,
    require_enterprise,
)
from zhida.accounts.errors import AccountError
from zhida.accounts.passwords import check_password_rule, hash_password, needs_rehash, verify_password

FIRM, OTHER = "913303001226008564", "91330300170044380J"


def user(*roles, uscc=None, department=None, active=True):
    return User(id=1, username="u", display_name="u", roles=frozenset(roles), uscc=uscc, department=department,
                active=active)


def test_every_role_has_a_label_and_permissions_and_every_permission_a_holder():
    assert set(PERMISSIONS) == set(Role)
    assert all(r.label for r in Role) and all(p.label for p in Permission)
    assert set().union(*PERMISSIONS.values()) == set(Permission)


def test_an_enterprise_user_acts_only_for_its_own_firm():
    firm = user(Role.ENTERPRISE, uscc=FIRM)
    require_enterprise(firm, FIRM)
    with pytest.raises(NotAllowed, match=OTHER):
        require_enterprise(firm, OTHER)
    require_enterprise(user(Role.REVIEWER, department="hrss"), OTHER)   # staff who may see any firm
    with pytest.raises(NotAllowed):
        require_enterprise(user(Role.FINANCE), FIRM)


def test_a_reviewer_acts_only_in_its_department():
    reviewer = user(Role.REVIEWER, department="hrss")
    require_department(reviewer, "hrss")
    with pytest.raises(NotAllowed, match="sti"):
        require_department(reviewer, "sti")
    with pytest.raises(NotAllowed, match="审核本部门事项"):
        require_department(user(Role.LEADER), "hrss")


def test_an_inactive_user_may_do_nothing():
    assert not can(user(Role.ADMIN, active=False), Permission.MANAGE_USERS)
    with pytest.raises(NotAllowed, match="停用"):
        require(user(Role.ADMIN, active=False), Permission.MANAGE_USERS)


def test_the_command_line_operator_manages_users_and_publishes_but_reviews_no_department():
    assert can(SYSTEM, Permission.MANAGE_USERS) and can(SYSTEM, Permission.PUBLISH_POLICY)
    with pytest.raises(NotAllowed):
        require_department(SYSTEM, "hrss")


def test_passwords_are_argon2id_hashes_and_short_ones_are_refused():
    h = hash_password("tiger-lily-42")
    assert h.startswith("$argon2id$") and verify_password(h, "tiger-lily-42")
    assert not verify_password(h, "tiger-lily-43") and not verify_password("not a hash", "x")
    assert not needs_rehash(h)
    for bad in ("short1", "1234567890123", "onlyletterslong"):
        with pytest.raises(AccountError, match="密码不符合要求"):
            check_password_rule(bad)
