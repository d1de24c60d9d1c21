"""统一身份认证 login against a small OpenID Connect provider started by the test: a bound
identity opens a session; an unbound one, a forged callback, a replayed code and ID tokens with
the wrong nonce, audience, signing key or expiry are refused in Chinese."""

import pytest

from zhida.accounts import SYSTEM, Role
from zhida.accounts.errors import AuthenticationFailed
from zhida.accounts.oidc import OidcError, Provider, begin, finish
from zhida.accounts.service import add_user
from zhida.audit import log as audit_log

from .oidc_provider import CLIENT_ID, CLIENT_SECRET
from .oidc_provider import Provider as LocalProvider

REDIRECT = "http://127.0.0.1:8000/login/oidc/callback"


@pytest.fixture
def idp():
    p = LocalProvider()
    yield p
    p.close()


@pytest.fixture
def provider(idp):
    return Provider(issuer=idp.issuer, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, label="浙里办统一身份认证")


@pytest.fixture
def db(database):
    add_user(database.uow(), username="li", display_name="李四", password=None, roles=[Role.LEADER],
             oidc_subject="zjzwfw:330300-li", actor=SYSTEM)
    return database


def test_a_bound_identity_logs_in(db, idp, provider):
    start = begin(provider, REDIRECT)
    assert start.url.startswith(f"{idp.issuer}/authorize?") and "scope=openid" in start.url
    code, state = idp.authorize(start.url)
    token, session = finish(db.uow(), provider, REDIRECT, start, code=code, state=state, source="10.0.0.7")
    assert session.user.username == "li" and token
    login = audit_log.entries(db.uow(), actor=SYSTEM, kind="account.login")[0]
    assert login.data["method"] == "oidc"


def test_an_unbound_identity_is_refused_and_recorded(db, idp, provider):
    idp.subject = "zjzwfw:nobody"
    start = begin(provider, REDIRECT)
    code, state = idp.authorize(start.url)
    with pytest.raises(AuthenticationFailed, match="尚未绑定"):
        finish(db.uow(), provider, REDIRECT, start, code=code, state=state, source="a")
    assert audit_log.entries(db.uow(), actor=SYSTEM, kind="account.login_failed")[0].data["reason"] == "unbound"


def test_a_forged_callback_and_a_replayed_code_are_refused(db, idp, provider):
    start = begin(provider, REDIRECT)
    code, state = idp.authorize(start.url)
    with pytest.raises(OidcError, match="state"):
        finish(db.uow(), provider, REDIRECT, start, code=code, state="forged", source="a")
    finish(db.uow(), provider, REDIRECT, start, code=code, state=state, source="a")
    with pytest.raises(OidcError, match="HTTP 400"):
        finish(db.uow(), provider, REDIRECT, start, code=code, state=state, source="a")


@pytest.mark.parametrize("tamper", ["nonce", "audience", "key", "expired"])
def test_an_id_token_that_does_not_verify_is_refused(db, idp, provider, tamper):
    idp.tamper = tamper
    start = begin(provider, REDIRECT)
    code, state = idp.authorize(start.url)
    with pytest.raises(OidcError, match=r"未通过校验|已过期"):
        finish(db.uow(), provider, REDIRECT, start, code=code, state=state, source="a")


def test_a_wrong_client_secret_is_refused(db, idp):
    wrong = Provider(issuer=idp.issuer, client_id=CLIENT_ID, client_secret="guess")
    start = begin(wrong, REDIRECT)
    code, state = idp.authorize(start.url)
    with pytest.raises(OidcError, match="HTTP 401"):
        finish(db.uow(), wrong, REDIRECT, start, code=code, state=state, source="a")
