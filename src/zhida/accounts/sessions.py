"""Logging in: throttled password login, sessions that expire, and the forms' CSRF token.

    token, session = login(uow, "firm1", "…", source="10.0.0.7")   # the token goes to the browser once
    session = current_session(uow, token)                            # each request: the user, or SessionExpired
    logout(uow, token)

Throttling (等保 登录失败处理): after `max_failures` wrong passwords for one username within
`window`, or `max_source_failures` from one address, further attempts are refused without
checking the password until the window has passed; every attempt is recorded, and failures and
refusals go into the audit log. A session ends after `idle` without a request, `lifetime` after
login, at logout, or when its account is deactivated. Only the token's SHA-256 is stored.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from zhida.accounts.errors import AuthenticationFailed
from zhida.accounts.service import authenticate, get_user
from zhida.accounts.users import User
from zhida.audit import log as audit_log
from zhida.db.tables import login_attempts, sessions, users
from zhida.db.uow import UnitOfWork

Clock = Callable[[], datetime]
TOUCH_EVERY = timedelta(minutes=1)   # how stale `last_seen` may get (idle limits are in tens of minutes)


class LoginThrottled(AuthenticationFailed):
    """Too many failed logins: refused for a while without checking the password."""


class SessionExpired(AuthenticationFailed):
    """No session, an expired or revoked one: log in again."""

    exit_code = 3


@dataclass(frozen=True)
class SessionPolicy:
    max_failures: int = 5                        # per username within the window
    max_source_failures: int = 20                # per client address within the window
    window: timedelta = timedelta(minutes=15)
    idle: timedelta = timedelta(minutes=30)
    lifetime: timedelta = timedelta(hours=12)


DEFAULT_POLICY = SessionPolicy()


@dataclass(frozen=True)
class Session:
    id: int
    user: User
    csrf: str
    expires_at: datetime


def _now() -> datetime:
    return datetime.now(UTC)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def login(uow: UnitOfWork, username: str, password: str, *, source: str, policy: SessionPolicy = DEFAULT_POLICY,
          clock: Clock = _now) -> tuple[str, Session]:
    """Check the password (unless throttled) and open a session; returns its token and the session."""
    username, at = username.strip(), clock()
    with uow:
        since = at - policy.window
        failed = sa.select(sa.func.count()).select_from(login_attempts).where(
            (login_attempts.c.at > since) & ~login_attempts.c.ok)
        by_name = uow.conn.execute(failed.where(login_attempts.c.username == username)).scalar_one()
        by_source = uow.conn.execute(failed.where(login_attempts.c.source == source)).scalar_one()
    if by_name >= policy.max_failures or by_source >= policy.max_source_failures:
        _attempt(uow, username, source, at, ok=False, reason="throttled")
        minutes = int(policy.window.total_seconds() // 60)
        raise LoginThrottled(f"登录失败次数过多，已暂停该账号（或该地址）的登录；请 {minutes} 分钟后再试，"
                             "或联系管理员核实。")
    try:
        user = authenticate(uow, username, password)
    except AuthenticationFailed:
        _attempt(uow, username, source, at, ok=False, reason="wrong")
        raise
    return open_session(uow, user, source=source, method="password", policy=policy, clock=lambda: at)


def open_session(uow: UnitOfWork, user: User, *, source: str, method: str, policy: SessionPolicy = DEFAULT_POLICY,
                 clock: Clock = _now) -> tuple[str, Session]:
    """A new session for a user whose identity was just established (password, 统一身份认证)."""
    at, token = clock(), secrets.token_urlsafe(32)
    with uow:
        uow.conn.execute(sa.insert(login_attempts).values(username=user.username, source=source, at=at, ok=True))
        session_id = uow.conn.execute(sa.insert(sessions).values(
            token_hash=_hash(token), user_id=user.id, csrf=secrets.token_urlsafe(24), source=source, created_at=at,
            last_seen=at, expires_at=at + policy.lifetime).returning(sessions.c.id)).scalar_one()
        audit_log.record(uow, kind="account.login", actor=user.username, subject=f"user:{user.username}",
                         data={"source": source, "session": session_id, "method": method}, clock=lambda: at)
        session = _session(uow, session_id)
        uow.commit()
    return token, session


def current_session(uow: UnitOfWork, token: str | None, *, policy: SessionPolicy = DEFAULT_POLICY,
                    clock: Clock = _now) -> Session:
    """The session of a token, extended by this request; SessionExpired when there is none."""
    if not token:
        raise SessionExpired("请先登录。")
    at = clock()
    with uow:
        row = uow.conn.execute(sa.select(sessions.c.id, sessions.c.last_seen, sessions.c.expires_at,
                                         sessions.c.revoked_at, users.c.active)
                               .select_from(sessions.join(users, users.c.id == sessions.c.user_id))
                               .where(sessions.c.token_hash == _hash(token))).first()
        if row is None or row.revoked_at is not None or not row.active:
            raise SessionExpired("登录已失效，请重新登录。")
        if at >= row.expires_at or at - row.last_seen >= policy.idle:
            raise SessionExpired("登录已过期（长时间未操作或超过当日时限），请重新登录。")
        if at - row.last_seen >= TOUCH_EVERY:   # a write per minute at most, not per request
            uow.conn.execute(sa.update(sessions).where(sessions.c.id == row.id).values(last_seen=at))
        session = _session(uow, row.id)
        uow.commit()
    return session


def logout(uow: UnitOfWork, token: str, *, clock: Clock = _now) -> None:
    with uow:
        uow.conn.execute(sa.update(sessions).where((sessions.c.token_hash == _hash(token))
                                                   & sessions.c.revoked_at.is_(None)).values(revoked_at=clock()))
        uow.commit()


def check_csrf(session: Session, submitted: str | None) -> None:
    """A form posted with this session must carry its CSRF token."""
    if not submitted or not secrets.compare_digest(session.csrf, submitted):
        raise SessionExpired("表单已过期或来源不明（CSRF 校验失败）；请刷新页面后重新提交。")


def _attempt(uow: UnitOfWork, username: str, source: str, at: datetime, *, ok: bool, reason: str) -> None:
    with uow:
        uow.conn.execute(sa.insert(login_attempts).values(username=username, source=source, at=at, ok=ok,
                                                          reason=reason))
        audit_log.record(uow, kind="account.login_failed", actor=username, subject=f"user:{username}",
                         data={"source": source, "reason": reason}, clock=lambda: at)
        uow.commit()


def _session(uow: UnitOfWork, session_id: int) -> Session:
    row = uow.conn.execute(sa.select(sessions.c.csrf, sessions.c.expires_at, users.c.username)
                           .select_from(sessions.join(users, users.c.id == sessions.c.user_id))
                           .where(sessions.c.id == session_id)).one()
    return Session(id=session_id, user=get_user(uow, row.username), csrf=row.csrf, expires_at=row.expires_at)
