"""A scriptable OpenID provider for the relying-party tests, served for real on 127.0.0.1.

Several issuers ("tenants") live on one server under a path prefix, like Keycloak realms:
`{base}/{name}/.well-known/openid-configuration`, `{base}/{name}/jwks`, `{base}/{name}/token`.
A test scripts a tenant (its signing keys, discovery, the token endpoint's answer, delays) and signs
ID tokens itself with joserfc, including the malformed and malicious ones.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from joserfc import jwt
from joserfc.jwk import ECKey, Key, RSAKey
from litestar import Litestar, Request, get, post
from litestar.params import FromPath
from litestar.response import Response

from tests.support import LiveServer

CLIENT_ID = "parboard"
CLIENT_SECRET = "s3cret-of-the-client"
REDIRECT_URI = "http://127.0.0.1:9/auth/callback"


def rsa_key(kid: str | None) -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": kid} if kid else None)


def ec_key(kid: str) -> ECKey:
    return ECKey.generate_key("P-256", parameters={"kid": kid})


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def s256(verifier: str) -> str:
    return b64url(hashlib.sha256(verifier.encode("ascii")).digest())


def sign(claims: dict[str, Any], key: Key, *, alg: str = "RS256", kid: str | None = "default") -> str:
    """An ID token signed by `key`; kid "default" means the key's own kid, None means no kid header."""
    header: dict[str, Any] = {"alg": alg}
    key_id = key.kid if kid == "default" else kid
    if key_id is not None:
        header["kid"] = key_id
    return jwt.encode(header, claims, key, algorithms=[alg])


def unsigned(claims: dict[str, Any]) -> str:
    """The `alg: none` token: header and payload, empty signature."""
    header = b64url(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{header}.{b64url(json.dumps(claims).encode())}."


def hs256_with_public_key(claims: dict[str, Any], key: RSAKey, kid: str | None) -> str:
    """The key-confusion attack: HMAC-SHA256 keyed with the provider's *public* key (PEM)."""
    header: dict[str, Any] = {"alg": "HS256", "typ": "JWT"}
    if kid:
        header["kid"] = kid
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
    secret = key.as_pem(private=False)
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"


def tamper(token: str, **changes: Any) -> str:
    """The same header and signature over a payload with `changes` applied."""
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims.update(changes)
    return f"{header}.{b64url(json.dumps(claims).encode())}.{signature}"


@dataclass
class Tenant:
    """One issuer on the fake provider; tests change these fields freely."""

    name: str
    issuer: str
    keys: list[Key]
    algorithms: list[str] | None = field(default_factory=lambda: ["RS256"])
    end_session: bool = True
    discovery_patch: dict[str, Any] = field(default_factory=dict)
    discovery_raw: tuple[int, str, bytes] | None = None  # status, media type, body
    jwks_raw: tuple[int, str, bytes] | None = None
    token_raw: tuple[int, str, bytes] | None = None
    id_token: str | None = None
    expected_challenge: str | None = None  # PKCE: the token endpoint checks the verifier against it
    delays: dict[str, float] = field(default_factory=dict)  # endpoint name → seconds
    used_codes: set[str] = field(default_factory=set)
    requests: Counter[str] = field(default_factory=Counter)
    token_requests: list[dict[str, Any]] = field(default_factory=list)

    def claims(self, nonce: str, /, **changes: Any) -> dict[str, Any]:
        """Valid ID-token claims for this issuer, with `changes` (a value of None removes the claim)."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": "cb-0042",
            "aud": CLIENT_ID,
            "exp": now + 300,
            "iat": now,
            "nonce": nonce,
            "email": "nguyen.van.a@baria-vungtau.gov.vn",
            "name": "Nguyễn Văn A",
        }
        claims.update(changes)
        return {name: value for name, value in claims.items() if value is not None}


class FakeProvider:
    """The provider app under `LiveServer`; `tenant(name)` gives a fresh issuer for each test."""

    def __init__(self) -> None:
        self.tenants: dict[str, Tenant] = {}
        self.closing = False
        self.server = LiveServer(self._app())

    def __enter__(self) -> FakeProvider:
        self.server.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.closing = True
        self.server.__exit__(*exc)

    @property
    def url(self) -> str:
        return self.server.url

    def tenant(self, name: str, keys: list[Key]) -> Tenant:
        tenant = Tenant(name=name, issuer=f"{self.url}/{name}", keys=keys)
        self.tenants[name] = tenant
        return tenant

    async def _delay(self, tenant: Tenant, endpoint: str) -> None:
        # Polls flags set from the test thread (an asyncio.Event is not thread-safe), so that a test that
        # clears its delays, or stopping the server, does not wait out a long delay.
        deadline = time.monotonic() + tenant.delays.get(endpoint, 0.0)
        while time.monotonic() < deadline and endpoint in tenant.delays and not self.closing:  # noqa: ASYNC110
            await asyncio.sleep(0.02)

    def _app(self) -> Litestar:
        provider = self

        def find(name: str) -> Tenant:
            return provider.tenants[name]

        async def served(tenant: Tenant, endpoint: str, raw: tuple[int, str, bytes] | None) -> Response[Any] | None:
            """Count the request and wait out any delay set on the endpoint; the raw answer a test set, if any."""
            tenant.requests[endpoint] += 1
            await provider._delay(tenant, endpoint)
            if raw is None:
                return None
            status, media_type, body = raw
            return Response(body, status_code=status, media_type=media_type)

        @get("/{name:str}/.well-known/openid-configuration")
        async def discovery(name: FromPath[str]) -> Response[Any]:
            tenant = find(name)
            if (answer := await served(tenant, "discovery", tenant.discovery_raw)) is not None:
                return answer
            document: dict[str, Any] = {
                "issuer": tenant.issuer,
                "authorization_endpoint": f"{tenant.issuer}/authorize",
                "token_endpoint": f"{tenant.issuer}/token",
                "jwks_uri": f"{tenant.issuer}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "code_challenge_methods_supported": ["S256"],
            }
            if tenant.algorithms is not None:
                document["id_token_signing_alg_values_supported"] = tenant.algorithms
            if tenant.end_session:
                document["end_session_endpoint"] = f"{tenant.issuer}/logout?ui=vi"
            document.update(tenant.discovery_patch)
            return Response(document)

        @get("/{name:str}/jwks")
        async def jwks(name: FromPath[str]) -> Response[Any]:
            tenant = find(name)
            if (answer := await served(tenant, "jwks", tenant.jwks_raw)) is not None:
                return answer
            return Response({"keys": [key.as_dict(private=False) for key in tenant.keys]})

        @post("/{name:str}/token")
        async def token(name: FromPath[str], request: Request[Any, Any, Any]) -> Response[Any]:
            tenant = find(name)
            form = dict(await request.form())
            tenant.token_requests.append({**form, "authorization": request.headers.get("authorization", "")})
            if (answer := await served(tenant, "token", tenant.token_raw)) is not None:
                return answer
            code = str(form.get("code", ""))
            verifier = str(form.get("code_verifier", ""))
            if form.get("grant_type") != "authorization_code" or not code or code in tenant.used_codes:
                return Response({"error": "invalid_grant"}, status_code=400)
            if tenant.expected_challenge is not None and s256(verifier) != tenant.expected_challenge:
                return Response({"error": "invalid_grant", "error_description": "PKCE"}, status_code=400)
            tenant.used_codes.add(code)
            body: dict[str, Any] = {"access_token": "at-" + code, "token_type": "Bearer", "expires_in": 300}
            if tenant.id_token is not None:
                body["id_token"] = tenant.id_token
            return Response(body, headers={"Cache-Control": "no-store"})

        return Litestar([discovery, jwks, token], debug=False)
