"""The role → permissions table (data) and the labels users see."""

from zhida.accounts import PERMISSIONS, SYSTEM, Permission, Role, User


def test_every_role_has_a_label_and_permissions_and_every_permission_a_holder():
    assert set(PERMISSIONS) == set(Role)
    assert all(r.label for r in Role) and all(p.label for p in Permission)
    assert set().union(*PERMISSIONS.values()) == set(Permission)


def test_only_the_administrator_manages_users_and_only_the_enterprise_user_sees_its_own_firm():
    assert [r for r in Role if Permission.MANAGE_USERS in PERMISSIONS[r]] == [Role.ADMIN]
    assert [r for r in Role if Permission.VIEW_OWN_ENTERPRISE in PERMISSIONS[r]] == [Role.ENTERPRISE]
    assert PERMISSIONS[Role.ENTERPRISE] == {Permission.VIEW_OWN_ENTERPRISE}


def test_a_user_holds_the_union_of_its_roles_permissions_and_nothing_when_inactive():
    both = User(id=1, username="u", display_name="u", roles=frozenset({Role.FINANCE, Role.LEADER}))
    assert both.permissions == PERMISSIONS[Role.FINANCE] | PERMISSIONS[Role.LEADER]
    assert both.role_labels == "财政、领导/审计"
    assert User(id=1, username="u", display_name="u", roles=frozenset(Role), active=False).permissions == set()


def test_the_command_line_operator_is_staff_without_a_firm_or_a_department():
    assert Role.ADMIN in SYSTEM.roles and Role.ENTERPRISE not in SYSTEM.roles and Role.REVIEWER not in SYSTEM.roles
    assert SYSTEM.uscc is None and SYSTEM.department is None
