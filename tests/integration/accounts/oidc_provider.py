"""A small OpenID Connect provider for the tests, on a loopback port: discovery, an authorize
endpoint that signs the user in at once (as the test says who), a one-time code exchanged at the
token endpoint (client secret required), and its JWKS. `tamper` makes it misbehave on purpose."""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from joserfc import jwt
from joserfc.jwk import RSAKey

CLIENT_ID, CLIENT_SECRET = "zhida-test", "s3cret-for-tests"


class Provider:
    def __init__(self) -> None:
        self.key = RSAKey.generate_key(2048, parameters={"kid": "k1"})
        self.other_key = RSAKey.generate_key(2048, parameters={"kid": "k1"})
        self.subject = "zjzwfw:330300-li"
        self.tamper: str | None = None          # nonce | audience | key | expired
        self.codes: dict[str, dict[str, str]] = {}
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.issuer = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def authorize(self, url: str) -> tuple[str, str]:
        """What the browser would do: open the authorize URL; returns (code, state) from the redirect."""
        import urllib.request

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
                return None

        try:
            urllib.request.build_opener(NoRedirect).open(url)
        except urllib.error.HTTPError as e:   # the 302 itself
            query = urllib.parse.parse_qs(urllib.parse.urlparse(e.headers["Location"]).query)
            return query["code"][0], query["state"][0]
        raise AssertionError("the provider did not redirect back")

    def _id_token(self, nonce: str) -> str:
        now = int(time.time())
        claims = {"iss": self.issuer, "sub": self.subject, "aud": CLIENT_ID, "iat": now,
                  "exp": now - 60 if self.tamper == "expired" else now + 300,
                  "nonce": "another" if self.tamper == "nonce" else nonce}
        if self.tamper == "audience":
            claims["aud"] = "someone-else"
        key = self.other_key if self.tamper == "key" else self.key
        return jwt.encode({"alg": "RS256", "kid": "k1"}, claims, key)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _json(self, body: object, status: int = 200) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                url = urllib.parse.urlparse(self.path)
                if url.path == "/.well-known/openid-configuration":
                    self._json({"issuer": provider.issuer, "authorization_endpoint": f"{provider.issuer}/authorize",
                                "token_endpoint": f"{provider.issuer}/token", "jwks_uri": f"{provider.issuer}/jwks",
                                "response_types_supported": ["code"], "subject_types_supported": ["public"],
                                "id_token_signing_alg_values_supported": ["RS256"]})
                elif url.path == "/jwks":
                    self._json({"keys": [provider.key.as_dict(private=False)]})
                elif url.path == "/authorize":
                    q = {k: v[0] for k, v in urllib.parse.parse_qs(url.query).items()}
                    code = secrets.token_urlsafe(16)
                    provider.codes[code] = q
                    self.send_response(302)
                    self.send_header("Location", q["redirect_uri"] + "?" + urllib.parse.urlencode(
                        {"code": code, "state": q["state"]}))
                    self.end_headers()
                else:
                    self._json({"error": "not_found"}, 404)

            def do_POST(self) -> None:
                form = {k: v[0] for k, v in urllib.parse.parse_qs(
                    self.rfile.read(int(self.headers["Content-Length"])).decode()).items()}
                basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
                if self.headers.get("Authorization") != f"Basic {basic}":
                    return self._json({"error": "invalid_client"}, 401)
                asked = provider.codes.pop(form.get("code", ""), None)   # one time only
                if asked is None or asked["redirect_uri"] != form.get("redirect_uri"):
                    return self._json({"error": "invalid_grant"}, 400)
                self._json({"access_token": secrets.token_urlsafe(16), "token_type": "Bearer",
                            "id_token": provider._id_token(asked["nonce"])})

        return Handler
