"""Users, roles and departments through the services, on SQLite and PostgreSQL."""

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher

from zhida.accounts import SYSTEM, AccountError, NotAllowed, Role, require_department, require_enterprise
from zhida.accounts.demo import DEMO_PASSWORD, create_demo_accounts
from zhida.accounts.errors import AuthenticationFailed
from zhida.accounts.passwords import needs_rehash, verify_password
from zhida.accounts.service import (
    add_department,
    add_user,
    authenticate,
    find_by_oidc_subject,
    get_user,
    grant,
    list_users,
    parse_role,
    revoke,
    set_active,
)
from zhida.db.tables import users

FIRM, OTHER = "913303001226008564", "91330300170044380J"
PASSWORD = "spring-rain-2026"


@pytest.fixture
def db(database):
    add_department(database.uow(), "hrss", "人力资源和社会保障局", actor=SYSTEM)
    add_department(database.uow(), "sti", "科学技术局", actor=SYSTEM)
    return database


def _add(db, username, *roles, **kw):
    return add_user(db.uow(), username=username, display_name=username, password=PASSWORD, roles=roles,
                    actor=kw.pop("actor", SYSTEM), **kw)


def test_users_are_added_listed_granted_and_revoked(db):
    _add(db, "zhang", Role.REVIEWER, department="hrss")
    _add(db, "firm1", Role.ENTERPRISE, uscc=FIRM)
    assert [u.username for u in list_users(db.uow(), actor=SYSTEM)] == ["firm1", "zhang"]
    zhang = grant(db.uow(), "zhang", Role.LEADER, actor=SYSTEM)
    assert zhang.roles == {Role.REVIEWER, Role.LEADER} and zhang.department == "hrss"
    assert revoke(db.uow(), "zhang", Role.LEADER, actor=SYSTEM).roles == {Role.REVIEWER}
    with pytest.raises(AccountError, match="唯一的角色"):
        revoke(db.uow(), "zhang", Role.REVIEWER, actor=SYSTEM)
    assert get_user(db.uow(), "firm1").uscc == FIRM


def test_a_taken_username_is_a_clear_error_and_nothing_is_half_written(db):
    _add(db, "zhang", Role.FINANCE)
    with pytest.raises(AccountError, match="已被使用"):
        _add(db, "zhang", Role.LEADER)
    assert get_user(db.uow(), "zhang").roles == {Role.FINANCE}


def test_an_enterprise_user_is_bound_to_one_valid_firm_and_holds_no_staff_role(db):
    with pytest.raises(AccountError, match="须绑定一家企业"):
        _add(db, "f", Role.ENTERPRISE)
    with pytest.raises(AccountError, match="无效"):
        _add(db, "f", Role.ENTERPRISE, uscc="91330300MA00000000")
    with pytest.raises(AccountError, match="不能兼任"):
        _add(db, "f", Role.ENTERPRISE, Role.REVIEWER, uscc=FIRM, department="hrss")
    _add(db, "f", Role.ENTERPRISE, uscc=FIRM)
    with pytest.raises(AccountError, match="只能绑定一家企业"):
        grant(db.uow(), "f", Role.ENTERPRISE, uscc=OTHER, actor=SYSTEM)
    with pytest.raises(AccountError, match="只有企业用户"):
        _add(db, "g", Role.FINANCE, uscc=FIRM)


def test_a_reviewer_needs_an_existing_department(db):
    with pytest.raises(AccountError, match="须属于一个部门"):
        _add(db, "r", Role.REVIEWER)
    with pytest.raises(AccountError, match="没有部门 tax"):
        _add(db, "r", Role.REVIEWER, department="tax")
    _add(db, "r", Role.FINANCE)
    with pytest.raises(AccountError, match="须属于一个部门"):
        grant(db.uow(), "r", Role.REVIEWER, actor=SYSTEM)
    assert grant(db.uow(), "r", Role.REVIEWER, department="sti", actor=SYSTEM).department == "sti"


def test_authentication_accepts_the_password_only_for_an_active_account(db):
    _add(db, "zhang", Role.FINANCE)
    assert authenticate(db.uow(), "zhang", PASSWORD).username == "zhang"
    with pytest.raises(AuthenticationFailed, match="用户名或密码错误"):
        authenticate(db.uow(), "zhang", "wrong-password-1")
    with pytest.raises(AuthenticationFailed, match="用户名或密码错误"):
        authenticate(db.uow(), "nobody", PASSWORD)
    set_active(db.uow(), "zhang", False, actor=SYSTEM)
    with pytest.raises(AuthenticationFailed, match="已停用"):
        authenticate(db.uow(), "zhang", PASSWORD)


def test_a_usccs_case_and_spaces_do_not_matter_and_text_fields_are_checked(db):
    assert _add(db, "f", Role.ENTERPRISE, uscc=f" {FIRM.lower()} ").uscc == FIRM
    with pytest.raises(AccountError, match="用户名“”"):
        _add(db, "  ", Role.LEADER)
    with pytest.raises(AccountError, match="1 到 64 个字符"):
        _add(db, "x" * 65, Role.LEADER)


def test_a_password_hashed_with_weaker_parameters_is_replaced_at_login(db):
    _add(db, "zhang", Role.FINANCE)
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    with db.engine.begin() as conn:
        conn.execute(sa.update(users).where(users.c.username == "zhang").values(password_hash=weak))
    authenticate(db.uow(), "zhang", PASSWORD)
    with db.engine.connect() as conn:
        stored = conn.execute(sa.select(users.c.password_hash).where(users.c.username == "zhang")).scalar_one()
    assert stored != weak and not needs_rehash(stored) and verify_password(stored, PASSWORD)


def test_an_enterprise_user_cannot_act_for_another_firm(db):
    firm = _add(db, "firm1", Role.ENTERPRISE, uscc=FIRM)
    require_enterprise(authenticate(db.uow(), "firm1", PASSWORD), FIRM)
    with pytest.raises(NotAllowed, match=OTHER):
        require_enterprise(firm, OTHER)


def test_a_reviewer_of_one_department_is_refused_in_another(db):
    reviewer = _add(db, "zhang", Role.REVIEWER, department="hrss")
    require_department(reviewer, "hrss")
    with pytest.raises(NotAllowed, match="不能办理部门 sti"):
        require_department(get_user(db.uow(), "zhang"), "sti")


def test_a_department_code_is_unique(db):
    with pytest.raises(AccountError, match="部门代码 hrss 已存在"):
        add_department(db.uow(), "hrss", "人社局", actor=SYSTEM)


def test_only_an_administrator_manages_users(db):
    finance = _add(db, "fin", Role.FINANCE)
    with pytest.raises(NotAllowed, match="管理用户"):
        _add(db, "x", Role.LEADER, actor=finance)
    with pytest.raises(NotAllowed):
        list_users(db.uow(), actor=finance)
    with pytest.raises(NotAllowed):
        grant(db.uow(), "fin", Role.ADMIN, actor=finance)
    with pytest.raises(NotAllowed):
        revoke(db.uow(), "fin", Role.FINANCE, actor=finance)
    with pytest.raises(NotAllowed):
        add_department(db.uow(), "tax", "税务局", actor=finance)
    assert [u.username for u in list_users(db.uow(), actor=SYSTEM)] == ["fin"]


def test_an_administrator_cannot_grant_itself_a_role(db):
    admin = _add(db, "admin1", Role.ADMIN)
    with pytest.raises(NotAllowed, match="不能给自己授予角色"):
        grant(db.uow(), "admin1", Role.FINANCE, actor=admin)
    assert Role.FINANCE not in next(u for u in list_users(db.uow(), actor=SYSTEM) if u.username == "admin1").roles
    other = _add(db, "admin2", Role.ADMIN)
    assert Role.FINANCE in grant(db.uow(), "admin1", Role.FINANCE, actor=other).roles


def test_an_account_without_a_local_password_is_found_by_its_oidc_subject(db):
    add_user(db.uow(), username="li", display_name="李四", password=None, roles=[Role.LEADER],
             oidc_subject="zjzwfw:330300-li", actor=SYSTEM)
    assert find_by_oidc_subject(db.uow(), "zjzwfw:330300-li").username == "li"
    assert find_by_oidc_subject(db.uow(), "nobody") is None
    with pytest.raises(AuthenticationFailed, match="用户名或密码错误"):
        authenticate(db.uow(), "li", "")
    with pytest.raises(AccountError, match="已绑定其他账号"):
        add_user(db.uow(), username="li2", display_name="李四", password=None, roles=[Role.LEADER],
                 oidc_subject="zjzwfw:330300-li", actor=SYSTEM)


def test_role_names_are_english_or_chinese_and_unknown_ones_list_the_valid_ones():
    assert parse_role("reviewer") is Role.REVIEWER and parse_role("审核人员") is Role.REVIEWER
    with pytest.raises(AccountError, match="policy_officer"):
        parse_role("boss")


def test_demo_accounts_cover_every_role_and_creating_them_twice_changes_nothing(database):
    first = create_demo_accounts(database.uow(), usccs=[FIRM, OTHER])
    again = create_demo_accounts(database.uow(), usccs=[FIRM, OTHER])
    assert first == again and {a.role for a in first} == set(Role)
    assert len(list_users(database.uow(), actor=SYSTEM)) == len(first)
    assert authenticate(database.uow(), "firm1", DEMO_PASSWORD).uscc == FIRM
    assert get_user(database.uow(), "reviewer").department == "hrss"
