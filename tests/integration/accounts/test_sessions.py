"""Logging in on SQLite and PostgreSQL: throttling after repeated failures, sessions that end
when idle, at their time limit, at logout or when the account is deactivated, the CSRF token,
and every attempt in the audit log."""

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from zhida.accounts import SYSTEM, Role
from zhida.accounts.errors import AuthenticationFailed
from zhida.accounts.service import add_user, set_active
from zhida.accounts.sessions import (
    LoginThrottled,
    SessionExpired,
    SessionPolicy,
    check_csrf,
    current_session,
    login,
    logout,
)
from zhida.audit import log as audit_log
from zhida.db.tables import sessions

PASSWORD = "spring-rain-2026"
T0 = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
POLICY = SessionPolicy(max_failures=3, max_source_failures=5, window=timedelta(minutes=15),
                       idle=timedelta(minutes=30), lifetime=timedelta(hours=12))


class Clock:
    def __init__(self):
        self.now = T0

    def __call__(self):
        return self.now


@pytest.fixture
def db(database):
    add_user(database.uow(), username="li", display_name="李四", password=PASSWORD, roles=[Role.FINANCE],
             actor=SYSTEM)
    return database


def test_a_login_opens_a_session_that_is_extended_by_use_and_ends_when_idle(db):
    clock = Clock()
    token, session = login(db.uow(), "li", PASSWORD, source="10.0.0.7", policy=POLICY, clock=clock)
    assert session.user.username == "li" and len(token) >= 40 and session.csrf
    with db.uow() as uow:   # only the hash is stored
        assert uow.conn.execute(sa.select(sessions.c.token_hash)).scalar_one() != token
    for _ in range(3):
        clock.now += timedelta(minutes=25)
        assert current_session(db.uow(), token, policy=POLICY, clock=clock).user.username == "li"
    clock.now += timedelta(minutes=31)
    with pytest.raises(SessionExpired, match="过期"):
        current_session(db.uow(), token, policy=POLICY, clock=clock)


def test_a_session_ends_at_its_time_limit_at_logout_and_when_the_account_is_deactivated(db):
    clock = Clock()
    token, _ = login(db.uow(), "li", PASSWORD, source="a", policy=POLICY, clock=clock)
    for _ in range(25):                                    # busy all day: 12 hours is the limit
        clock.now += timedelta(minutes=29)
        try:
            current_session(db.uow(), token, policy=POLICY, clock=clock)
        except SessionExpired:
            break
    assert clock.now - T0 >= timedelta(hours=12) and clock.now - T0 < timedelta(hours=12, minutes=29)
    second, _ = login(db.uow(), "li", PASSWORD, source="a", policy=POLICY, clock=clock)
    logout(db.uow(), second, clock=clock)
    with pytest.raises(SessionExpired, match="失效"):
        current_session(db.uow(), second, policy=POLICY, clock=clock)
    third, _ = login(db.uow(), "li", PASSWORD, source="a", policy=POLICY, clock=clock)
    set_active(db.uow(), "li", False, actor=SYSTEM)
    with pytest.raises(SessionExpired):
        current_session(db.uow(), third, policy=POLICY, clock=clock)
    with pytest.raises(SessionExpired, match="请先登录"):
        current_session(db.uow(), None)


def test_repeated_failures_throttle_the_username_even_with_the_right_password_then_the_window_passes(db):
    clock = Clock()
    for _ in range(3):
        with pytest.raises(AuthenticationFailed, match="用户名或密码错误"):
            login(db.uow(), "li", "wrong-password-1", source="10.0.0.7", policy=POLICY, clock=clock)
    with pytest.raises(LoginThrottled, match="15 分钟后再试"):
        login(db.uow(), "li", PASSWORD, source="10.0.0.8", policy=POLICY, clock=clock)
    clock.now += timedelta(minutes=16)
    assert login(db.uow(), "li", PASSWORD, source="10.0.0.7", policy=POLICY, clock=clock)[1].user.username == "li"


def test_one_address_guessing_many_usernames_is_throttled(db):
    clock = Clock()
    for i in range(5):
        with pytest.raises(AuthenticationFailed):
            login(db.uow(), f"guess{i}", "x", source="203.0.113.9", policy=POLICY, clock=clock)
    with pytest.raises(LoginThrottled):
        login(db.uow(), "li", PASSWORD, source="203.0.113.9", policy=POLICY, clock=clock)
    assert login(db.uow(), "li", PASSWORD, source="10.0.0.7", policy=POLICY, clock=clock)


def test_attempts_are_in_the_audit_log(db):
    clock = Clock()
    with pytest.raises(AuthenticationFailed):
        login(db.uow(), "li", "wrong-password-1", source="10.0.0.7", policy=POLICY, clock=clock)
    login(db.uow(), "li", PASSWORD, source="10.0.0.7", policy=POLICY, clock=clock)
    kinds = [(e.kind, e.data.get("reason")) for e in audit_log.entries(db.uow(), actor=SYSTEM, subject="user:li")]
    assert kinds == [("account.login", None), ("account.login_failed", "wrong"), ("account.add", None)]   # newest first


def test_the_csrf_token_must_match(db):
    _, session = login(db.uow(), "li", PASSWORD, source="a", policy=POLICY)
    check_csrf(session, session.csrf)
    other = "y" if session.csrf.endswith("x") else "x"   # a token ending in x stayed equal 1 time in 64
    for bad in (None, "", session.csrf[:-1] + other):
        with pytest.raises(SessionExpired, match="CSRF"):
            check_csrf(session, bad)
