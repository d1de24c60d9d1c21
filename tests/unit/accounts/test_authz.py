"""Authorization rules over the acting user (pure: no database)."""

import pytest

from zhida.accounts import (
    SYSTEM,
    NotAllowed,
    Permission,
    Role,
    User,
    can,
    department_scope,
    require,
    require_department,
    require_enterprise,
)

FIRM, OTHER = "913303001226008564", "91330300170044380J"


def user(*roles, uscc=None, department=None, active=True):
    return User(id=1, username="u", display_name="u", roles=frozenset(roles), uscc=uscc, department=department,
                active=active)


def test_a_missing_permission_says_which_one_is_needed():
    assert can(user(Role.ADMIN), Permission.MANAGE_USERS)
    with pytest.raises(NotAllowed, match=r"需要“管理用户”权限.*财政"):
        require(user(Role.FINANCE), Permission.MANAGE_USERS)


def test_an_enterprise_user_acts_only_for_its_own_firm():
    firm = user(Role.ENTERPRISE, uscc=FIRM)
    require_enterprise(firm, FIRM)
    with pytest.raises(NotAllowed, match=OTHER):
        require_enterprise(firm, OTHER)


def test_staff_who_may_see_any_firm_act_for_any_and_other_staff_for_none():
    require_enterprise(user(Role.REVIEWER, department="hrss"), OTHER)
    require_enterprise(user(Role.DATA_OFFICER), OTHER)
    with pytest.raises(NotAllowed, match="查看任一企业信息"):
        require_enterprise(user(Role.FINANCE), FIRM)


def test_a_reviewer_acts_only_in_its_department():
    reviewer = user(Role.REVIEWER, department="hrss")
    require_department(reviewer, "hrss")
    with pytest.raises(NotAllowed, match="sti"):
        require_department(reviewer, "sti")


def test_leaders_and_administrators_see_every_department_but_decide_in_none():
    for overseer in (user(Role.LEADER), user(Role.ADMIN), SYSTEM):
        assert department_scope(overseer) is None
        with pytest.raises(NotAllowed, match="审核本部门事项"):
            require_department(overseer, "hrss")
    assert department_scope(user(Role.REVIEWER, department="hrss")) == "hrss"
    with pytest.raises(NotAllowed):
        department_scope(user(Role.ENTERPRISE, uscc=FIRM))


def test_an_inactive_user_may_do_nothing():
    assert not can(user(Role.ADMIN, active=False), Permission.MANAGE_USERS)
    with pytest.raises(NotAllowed, match="停用"):
        require(user(Role.ADMIN, active=False), Permission.MANAGE_USERS)
    with pytest.raises(NotAllowed):
        require_enterprise(user(Role.ENTERPRISE, uscc=FIRM, active=False), FIRM)
    with pytest.raises(NotAllowed):
        require_department(user(Role.REVIEWER, department="hrss", active=False), "hrss")
