"""Login through a provincial 统一身份认证 (OpenID Connect, authorization code flow).

    start = begin(provider, redirect_uri)              # → redirect the browser to start.url
    token, session = finish(uow, provider, redirect_uri, start, code=…, state=…, source=…)

`finish` exchanges the code at the provider's token endpoint (client secret over HTTP Basic),
checks the ID token — signature against the provider's published keys (JWKS), issuer, audience,
expiry, and the nonce `begin` made — and opens a session for the account bound to the token's
`sub` (`zhida user add … --oidc-subject`). An identity bound to no account, or to an inactive
one, is refused in Chinese; every refusal and login goes to the audit log. Tokens are checked
with joserfc; the three HTTP calls use the standard library (no other client is needed).
"""

from __future__ import annotations

import base64
import json
import secrets
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jwt import JWTClaimsRegistry

from zhida.accounts.errors import AuthenticationFailed
from zhida.accounts.service import find_by_oidc_subject
from zhida.accounts.sessions import Session, open_session
from zhida.audit import log as audit_log
from zhida.db.uow import UnitOfWork

TIMEOUT_S = 10


class OidcError(AuthenticationFailed):
    """The identity provider could not be reached, or its answer does not verify."""


@dataclass(frozen=True)
class Provider:
    issuer: str
    client_id: str
    client_secret: str
    label: str = "统一身份认证"

    @cached_property
    def metadata(self) -> dict[str, Any]:
        """The provider's OpenID configuration (fetched once per process)."""
        found = _get_json(self.issuer.rstrip("/") + "/.well-known/openid-configuration", self.label)
        if found.get("issuer") != self.issuer:
            raise OidcError(f"{self.label}的配置声明的签发者为 {found.get('issuer')}，与设置的 {self.issuer} 不符；"
                            "请核对 ZHIDA_OIDC_ISSUER。")
        return found


@dataclass(frozen=True)
class Start:
    url: str
    state: str
    nonce: str


def begin(provider: Provider, redirect_uri: str) -> Start:
    """The URL to send the browser to, with a fresh state (against forged callbacks) and nonce
    (against replayed tokens); keep both until the callback."""
    state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    query = urllib.parse.urlencode({"response_type": "code", "client_id": provider.client_id,
                                    "redirect_uri": redirect_uri, "scope": "openid", "state": state, "nonce": nonce})
    return Start(f"{provider.metadata['authorization_endpoint']}?{query}", state, nonce)


def finish(uow: UnitOfWork, provider: Provider, redirect_uri: str, start: Start, *, code: str, state: str,
           source: str) -> tuple[str, Session]:
    """Complete the login the provider redirected back with."""
    if not secrets.compare_digest(state, start.state):
        raise OidcError("登录回调与发起的登录不一致（state 不符）；请重新从登录页发起统一身份认证登录。")
    answer = _post_form(provider.metadata["token_endpoint"],
                        {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri},
                        provider, provider.label)
    claims = _verified_claims(provider, str(answer.get("id_token", "")), start.nonce)
    subject = str(claims["sub"])
    user = find_by_oidc_subject(uow, subject)
    if user is None or not user.active:
        with uow:
            audit_log.record(uow, kind="account.login_failed", actor=subject, subject=f"oidc:{subject}",
                             data={"source": source, "reason": "unbound" if user is None else "inactive"})
            uow.commit()
        raise AuthenticationFailed(
            f"{provider.label}账号尚未绑定政策直达账号，或绑定的账号已停用；请联系管理员办理绑定"
            f"（zhida user add … --oidc-subject {subject}）。")
    return open_session(uow, user, source=source, method="oidc")


def _verified_claims(provider: Provider, id_token: str, nonce: str) -> dict[str, Any]:
    if not id_token:
        raise OidcError(f"{provider.label}没有返回身份令牌（id_token）；请联系统一身份认证平台。")
    keys = KeySet.import_key_set(_get_json(provider.metadata["jwks_uri"], provider.label))  # type: ignore[arg-type]
    try:
        token = jwt.decode(id_token, keys, algorithms=["RS256", "ES256", "PS256"])
        JWTClaimsRegistry(iss={"essential": True, "value": provider.issuer},
                          aud={"essential": True, "value": provider.client_id},
                          sub={"essential": True}, exp={"essential": True},
                          nonce={"essential": True, "value": nonce}).validate(token.claims)
    except (JoseError, ValueError) as e:
        raise OidcError(f"{provider.label}返回的身份令牌未通过校验（{type(e).__name__}）；请重新登录。") from None
    if int(token.claims["exp"]) < time.time():
        raise OidcError(f"{provider.label}返回的身份令牌已过期；请重新登录。")
    return dict(token.claims)


def _get_json(url: str, label: str) -> dict[str, Any]:
    return _call(urllib.request.Request(url, headers={"Accept": "application/json"}), label)


def _post_form(url: str, form: dict[str, str], provider: Provider, label: str) -> dict[str, Any]:
    basic = base64.b64encode(f"{urllib.parse.quote(provider.client_id)}:"
                             f"{urllib.parse.quote(provider.client_secret)}".encode()).decode()
    request = urllib.request.Request(url, data=urllib.parse.urlencode(form).encode(), method="POST",
                                     headers={"Authorization": f"Basic {basic}", "Accept": "application/json",
                                              "Content-Type": "application/x-www-form-urlencoded"})
    return _call(request, label)


def _call(request: urllib.request.Request, label: str) -> dict[str, Any]:
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            found = json.loads(response.read())
    except urllib.error.HTTPError as e:
        raise OidcError(f"{label}拒绝了请求（HTTP {e.code}）；请重新登录，或联系统一身份认证平台。") from None
    except (urllib.error.URLError, TimeoutError, ValueError) as e:
        raise OidcError(f"无法连接{label}（{e}）；请稍后重试。") from None
    if not isinstance(found, dict):
        raise OidcError(f"{label}的回应不是 JSON 对象。")
    return found
