"""OpenID Connect relying party for a province's identity provider (authorization code flow with PKCE).

Authlib's `AsyncOAuth2Client` builds the authorization URL (PKCE S256) and makes the token request;
everything about the ID token is checked here with joserfc: the header's algorithm against an
allow-list *before* any key is looked up, the signature against the issuer's JWKS (by `kid`), then
the claims (iss, aud, azp, exp, iat, nonce, sub).

Discovery and JWKS are cached per issuer (`OIDCRegistry` keeps one client per issuer for the whole
process). An unknown `kid` triggers at most one JWKS refetch per `JWKS_REFETCH_INTERVAL` per issuer,
so a flood of tokens with made-up key ids cannot make us hammer the provider.

Every failure is an `OIDCError`: a machine `code`, a Vietnamese `message` for the person, and an
English `detail` for the logs. None of them ever contains a token, a code or a secret.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import secrets
import ssl
import time
import warnings
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Final
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
from authlib.deprecate import AuthlibDeprecationWarning  # type: ignore[import-untyped]
from authlib.integrations.base_client.errors import OAuthError  # type: ignore[import-untyped]
from joserfc import jws
from joserfc.errors import ExpiredTokenError, InvalidClaimError, JoseError
from joserfc.jwk import ECKey, JWKRegistry, Key, RSAKey
from joserfc.jws import JWSRegistry
from joserfc.jwt import JWTClaimsRegistry

from backend.logging import get_logger

with warnings.catch_warnings():
    # Authlib 1.9 prefers the `httpx2` fork and warns (always, at import) when it falls back to
    # httpx, which is what parboard depends on. The fallback is supported; the warning is noise.
    warnings.simplefilter("ignore", AuthlibDeprecationWarning)
    from authlib.integrations.httpx_client import AsyncOAuth2Client  # type: ignore[import-untyped]

__all__ = [
    "ALLOWED_ALGORITHMS",
    "MESSAGE_PROVIDER_BROKEN",
    "MESSAGE_SESSION",
    "MESSAGE_TIMEOUT",
    "MESSAGE_UNAVAILABLE",
    "AuthorizationRequest",
    "OIDCClient",
    "OIDCError",
    "OIDCRegistry",
    "ProviderSettings",
    "SignInResult",
]

log = get_logger("parboard.oidc")

DEFAULT_SCOPES: Final = ("openid", "email", "profile")
# Asymmetric signatures only: "none" and the HMAC family (whose "secret" an attacker can take from
# the public JWKS) are refused whatever the provider advertises.
ALLOWED_ALGORITHMS: Final = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"})
DEFAULT_SIGNING_ALGORITHMS: Final = ("RS256",)  # OpenID Connect Discovery's default
DISCOVERY_TTL_SECONDS: Final = 3600.0
JWKS_TTL_SECONDS: Final = 3600.0
JWKS_REFETCH_INTERVAL_SECONDS: Final = 60.0
MAX_DOCUMENT_BYTES: Final = 512 * 1024  # discovery document or JWKS
# Besides httpx's per-phase timeouts, a whole call (connect + send + receive) gets this many times
# `timeout_seconds`, so a provider trickling bytes cannot hold a request open indefinitely.
CALL_DEADLINE_FACTOR: Final = 2.0

MESSAGE_UNAVAILABLE: Final = "Không kết nối được với hệ thống đăng nhập của tỉnh. Vui lòng thử lại sau."
MESSAGE_TIMEOUT: Final = "Hệ thống đăng nhập của tỉnh không phản hồi kịp. Vui lòng thử lại sau."
MESSAGE_PROVIDER_BROKEN: Final = (
    "Hệ thống đăng nhập của tỉnh trả lời không hợp lệ. Vui lòng thử lại sau hoặc báo cho quản trị viên."
)
MESSAGE_SESSION: Final = "Phiên đăng nhập không hợp lệ hoặc đã hết hạn. Vui lòng đăng nhập lại."

_MESSAGES: Final[dict[str, str]] = {
    "provider_unavailable": MESSAGE_UNAVAILABLE,
    "provider_timeout": MESSAGE_TIMEOUT,
    "bad_discovery": MESSAGE_PROVIDER_BROKEN,
    "bad_response": MESSAGE_PROVIDER_BROKEN,
}


@cache
def _tls_context() -> ssl.SSLContext:
    """httpx's default verifying context, built once: loading the CA bundle takes ~0.1 s per client."""
    return httpx.create_ssl_context()


class OIDCError(Exception):
    """A sign-in step failed.

    `code` is the machine reason (`provider_unavailable`, `provider_timeout`, `bad_discovery`,
    `bad_response`, `token_error`, `bad_state`, `invalid_signature`, `alg_not_allowed`, `unknown_kid`,
    `bad_issuer`, `bad_audience`, `bad_azp`, `expired`, `issued_in_future`, `bad_nonce`,
    `missing_claim`); `message` is Vietnamese, for the person; `detail` is English, for the logs.
    Neither carries a token, an authorization code or a secret.
    """

    def __init__(self, code: str, detail: str = "") -> None:
        self.code = code
        self.message = _MESSAGES.get(code, MESSAGE_SESSION)
        self.detail = detail
        super().__init__(f"{code}: {detail}" if detail else code)

    @property
    def is_provider_problem(self) -> bool:
        """The provider could not be reached or answered nonsense (worth a retry, not a new sign-in)."""
        return self.code in _MESSAGES


@dataclass(frozen=True)
class ProviderSettings:
    """One province's OpenID provider, as registered for parboard."""

    issuer: str
    client_id: str
    client_secret: str = field(repr=False)
    redirect_uri: str
    timeout_seconds: float = 5.0
    clock_skew_seconds: int = 60
    # What the authorization request asks for: providers release custom claims (the agency) only under a
    # scope that asks for them. `openid` is always among them.
    scopes: tuple[str, ...] = DEFAULT_SCOPES

    def __post_init__(self) -> None:
        if not self.issuer or not self.client_id or not self.redirect_uri:
            raise ValueError("issuer, client_id and redirect_uri are required")
        if "openid" not in self.scopes or any(not scope or " " in scope for scope in self.scopes):
            raise ValueError("scopes must include openid and hold no empty or spaced scope")
        if not _is_http_url(self.issuer) or not _is_http_url(self.redirect_uri):
            raise ValueError("issuer and redirect_uri must be absolute http(s) URLs")
        if self.timeout_seconds <= 0:
            raise ValueError("timeout_seconds must be positive")
        if self.clock_skew_seconds < 0:
            raise ValueError("clock_skew_seconds must not be negative")

    @property
    def scope(self) -> str:
        """The `scope` parameter: the configured scopes, space-separated, each once."""
        return " ".join(dict.fromkeys(self.scopes))


@dataclass(frozen=True)
class AuthorizationRequest:
    """Where to send the browser, and the one-time values to keep (server-side) until the callback."""

    url: str
    state: str
    nonce: str
    code_verifier: str = field(repr=False)


@dataclass(frozen=True)
class SignInResult:
    """A completed sign-in: the validated ID-token claims, and the raw ID token for `id_token_hint`."""

    claims: dict[str, Any]
    id_token: str = field(repr=False)


@dataclass(frozen=True)
class _Jwks:
    keys: tuple[Key, ...]
    fetched_at: float


@dataclass
class _IssuerCache:
    """Discovery and JWKS of one issuer, shared by every client of that issuer."""

    discovery: dict[str, Any] | None = None
    discovery_at: float = 0.0
    jwks: _Jwks | None = None
    last_forced_refetch: float | None = None
    discovery_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    jwks_lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class OIDCClient:
    """The relying party for one provider: discovery, authorization URL, code exchange, ID-token checks.

    Safe to share between concurrent requests of one event loop. `http` (optional) is used for the
    discovery and JWKS requests and is not closed by `aclose`; the token request always goes through
    Authlib's own client, created here with the same timeouts.
    """

    def __init__(self, provider: ProviderSettings, *, http: httpx.AsyncClient | None = None) -> None:
        self.provider = provider
        self._timeout = httpx.Timeout(provider.timeout_seconds)
        self._deadline = provider.timeout_seconds * CALL_DEADLINE_FACTOR
        self._owns_http = http is None
        self._http = (
            http
            if http is not None
            else httpx.AsyncClient(timeout=self._timeout, follow_redirects=False, verify=_tls_context())
        )
        self._oauth = AsyncOAuth2Client(
            client_id=provider.client_id,
            client_secret=provider.client_secret,
            scope=provider.scope,
            redirect_uri=provider.redirect_uri,
            code_challenge_method="S256",
            timeout=self._timeout,
            follow_redirects=False,
            verify=_tls_context(),
        )
        self._cache = _IssuerCache()

    # --- discovery -------------------------------------------------------------------------------

    async def discover(self) -> dict[str, Any]:
        """The provider's discovery document, fetched at most once an hour (checked, then cached)."""
        cache = self._cache
        if cache.discovery is not None and time.monotonic() - cache.discovery_at < DISCOVERY_TTL_SECONDS:
            return cache.discovery
        async with cache.discovery_lock:
            if cache.discovery is not None and time.monotonic() - cache.discovery_at < DISCOVERY_TTL_SECONDS:
                return cache.discovery
            url = self.provider.issuer.rstrip("/") + "/.well-known/openid-configuration"
            document = self._check_discovery(await self._get_json(url, failure="bad_discovery"))
            cache.discovery, cache.discovery_at = document, time.monotonic()
            return document

    def _check_discovery(self, document: Any) -> dict[str, Any]:
        if not isinstance(document, dict):
            raise self._fail("bad_discovery", "discovery is not a JSON object")
        if document.get("issuer") != self.provider.issuer:
            raise self._fail("bad_discovery", "discovery issuer differs from the configured issuer")
        for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            if not _is_http_url(document.get(name)):
                raise self._fail("bad_discovery", f"discovery lacks a usable {name}")
        end_session = document.get("end_session_endpoint")
        if end_session is not None and not _is_http_url(end_session):
            raise self._fail("bad_discovery", "discovery end_session_endpoint is not a URL")
        for name in ("id_token_signing_alg_values_supported", "token_endpoint_auth_methods_supported"):
            values = document.get(name)
            if values is not None and not (isinstance(values, list) and all(isinstance(v, str) for v in values)):
                raise self._fail("bad_discovery", f"discovery {name} is not a list of strings")
        return document

    # --- authorization ---------------------------------------------------------------------------

    async def authorization_request(self, *, login_hint: str | None = None) -> AuthorizationRequest:
        """A fresh authorization URL (code flow, PKCE S256) with new state, nonce and code verifier."""
        discovery = await self.discover()
        state = secrets.token_urlsafe(32)
        nonce = secrets.token_urlsafe(32)
        code_verifier = secrets.token_urlsafe(64)  # 86 characters of [A-Za-z0-9_-] (RFC 7636: 43-128)
        url, _ = self._oauth.create_authorization_url(
            discovery["authorization_endpoint"],
            state=state,
            code_verifier=code_verifier,
            response_type="code",
            scope=self.provider.scope,
            nonce=nonce,
            login_hint=login_hint or None,
        )
        return AuthorizationRequest(url=url, state=state, nonce=nonce, code_verifier=code_verifier)

    async def complete(
        self, *, code: str, state_expected: str, state_received: str, nonce: str, code_verifier: str
    ) -> SignInResult:
        """Finish the sign-in on the callback: check state, redeem the code, validate the ID token."""
        if not state_expected or not _same(state_expected, state_received):
            raise self._fail("bad_state", "state of the callback does not match the sign-in attempt")
        if not code:
            raise self._fail("token_error", "callback without an authorization code")
        if not nonce or not code_verifier:
            raise self._fail("bad_state", "sign-in attempt without nonce or code verifier")
        discovery = await self.discover()
        id_token = await self._redeem_code(discovery, code=code, code_verifier=code_verifier)
        claims = await self.validate_id_token(id_token, nonce=nonce)
        return SignInResult(claims=claims, id_token=id_token)

    async def _redeem_code(self, discovery: dict[str, Any], *, code: str, code_verifier: str) -> str:
        # Basic authentication unless the provider only takes the secret in the body.
        methods = discovery.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
        method = "client_secret_basic"
        if "client_secret_basic" not in methods and "client_secret_post" in methods:
            method = "client_secret_post"
        try:
            async with asyncio.timeout(self._deadline):
                token = await self._oauth.fetch_token(
                    discovery["token_endpoint"],
                    grant_type="authorization_code",
                    code=code,
                    code_verifier=code_verifier,
                    auth=self._oauth.client_auth(method),
                )
        except OAuthError as exc:
            raise self._fail("token_error", f"token endpoint refused the code: {_short(exc.error)}") from None
        except (httpx.TimeoutException, TimeoutError):
            raise self._fail("provider_timeout", "token endpoint did not answer in time") from None
        except httpx.HTTPStatusError as exc:
            status = exc.response.status_code
            code_ = "token_error" if 400 <= status < 500 else "bad_response"
            raise self._fail(code_, f"token endpoint answered HTTP {status}") from None
        except httpx.HTTPError as exc:
            raise self._fail("provider_unavailable", f"token endpoint: {type(exc).__name__}") from None
        except (ValueError, TypeError, KeyError) as exc:
            raise self._fail("bad_response", f"token endpoint response unusable: {type(exc).__name__}") from None
        finally:
            self._oauth.token = None  # keep no access token on this long-lived, shared client
        id_token = token.get("id_token") if isinstance(token, dict) else None
        if not isinstance(id_token, str) or not id_token:
            raise self._fail("bad_response", "token response without an id_token")
        return id_token

    # --- ID token --------------------------------------------------------------------------------

    async def validate_id_token(self, id_token: str, *, nonce: str) -> dict[str, Any]:
        """The claims of `id_token` once its algorithm, signature and claims have all been checked."""
        discovery = await self.discover()
        try:
            compact = jws.extract_compact(id_token.encode("ascii"))
        except (JoseError, ValueError, UnicodeError):
            raise self._fail("bad_response", "ID token is not a compact JWS") from None
        header = compact.headers()
        alg = header.get("alg")
        advertised = discovery.get("id_token_signing_alg_values_supported") or DEFAULT_SIGNING_ALGORITHMS
        if not isinstance(alg, str) or alg not in ALLOWED_ALGORITHMS or alg not in advertised:
            raise self._fail("alg_not_allowed", f"ID token algorithm {_short(alg)!r} is not allowed")
        if "crit" in header or "b64" in header:
            raise self._fail("invalid_signature", "ID token uses JWS extensions we do not accept")
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise self._fail("unknown_kid", "ID token kid is not a string")

        jwks, fresh = await self._jwks(discovery)
        key = _select_key(jwks.keys, kid, alg)
        if key is None and not fresh:
            refreshed = await self._refetch_jwks(discovery, seen=jwks)
            if refreshed is not None:
                key = _select_key(refreshed.keys, kid, alg)
        if key is None:
            raise self._fail("unknown_kid", f"no suitable key for kid {_short(kid)!r} in the provider's JWKS")

        try:
            verified = jws.deserialize_compact(
                id_token, key, registry=JWSRegistry(algorithms=[alg], strict_check_header=False)
            )
        except (JoseError, ValueError):
            raise self._fail("invalid_signature", "ID token signature does not verify") from None
        try:
            claims = json.loads(verified.payload)
        except (TypeError, ValueError):
            claims = None
        if not isinstance(claims, dict):
            raise self._fail("bad_response", "ID token payload is not a JSON object")
        self._check_claims(claims, nonce=nonce)
        return claims

    def _check_claims(self, claims: dict[str, Any], *, nonce: str) -> None:
        provider = self.provider
        missing = [name for name in ("iss", "sub", "aud", "exp", "iat", "nonce") if claims.get(name) is None]
        if missing:
            raise self._fail("missing_claim", f"ID token lacks {', '.join(missing)}")
        if claims["iss"] != provider.issuer:
            raise self._fail("bad_issuer", "ID token issuer is not this provider")
        audience = claims["aud"]
        audiences = [audience] if isinstance(audience, str) else audience
        if not isinstance(audiences, list) or not all(isinstance(a, str) for a in audiences):
            raise self._fail("bad_audience", "ID token aud is neither a string nor a list of strings")
        if provider.client_id not in audiences:
            raise self._fail("bad_audience", "ID token is not meant for this client")
        azp = claims.get("azp")
        if len(audiences) > 1 and azp is None:
            raise self._fail("bad_azp", "ID token with several audiences but no azp")
        if azp is not None and azp != provider.client_id:
            raise self._fail("bad_azp", "ID token azp is another client")
        times: dict[str, Any] = {name: claims[name] for name in ("exp", "iat", "nbf") if name in claims}
        try:
            JWTClaimsRegistry(now=int(time.time()), leeway=provider.clock_skew_seconds).validate(times)
        except ExpiredTokenError:
            raise self._fail("expired", "ID token has expired") from None
        except InvalidClaimError as exc:
            if exc.claim == "exp":
                raise self._fail("expired", "ID token exp is not a NumericDate") from None
            raise self._fail("issued_in_future", f"ID token {exc.claim} is in the future or malformed") from None
        received = claims["nonce"]
        if not nonce or not isinstance(received, str) or not _same(received, nonce):
            raise self._fail("bad_nonce", "ID token nonce does not match the sign-in attempt")
        sub = claims["sub"]
        if not isinstance(sub, str) or not sub.strip():
            raise self._fail("missing_claim", "ID token sub is empty or not a string")

    # --- JWKS ------------------------------------------------------------------------------------

    async def _jwks(self, discovery: dict[str, Any]) -> tuple[_Jwks, bool]:
        """The cached JWKS, fetched if absent or older than an hour; True when fetched by this call."""
        cache = self._cache
        jwks = cache.jwks
        if jwks is not None and time.monotonic() - jwks.fetched_at < JWKS_TTL_SECONDS:
            return jwks, False
        async with cache.jwks_lock:
            if cache.jwks is not None and cache.jwks is not jwks:
                return cache.jwks, True  # another request fetched it while we waited
            cache.jwks = await self._fetch_jwks(discovery)
            return cache.jwks, True

    async def _refetch_jwks(self, discovery: dict[str, Any], *, seen: _Jwks) -> _Jwks | None:
        """Refetch the JWKS for an unknown kid, at most once per interval; None when rate-limited."""
        cache = self._cache
        async with cache.jwks_lock:
            if cache.jwks is not None and cache.jwks is not seen:
                return cache.jwks  # refreshed meanwhile by another request
            now = time.monotonic()
            if (
                cache.last_forced_refetch is not None
                and now - cache.last_forced_refetch < JWKS_REFETCH_INTERVAL_SECONDS
            ):
                log.info("oidc_jwks_refetch_skipped", issuer=self.provider.issuer)
                return None
            cache.last_forced_refetch = now
            log.info("oidc_jwks_refetch", issuer=self.provider.issuer)
            cache.jwks = await self._fetch_jwks(discovery)
            return cache.jwks

    async def _fetch_jwks(self, discovery: dict[str, Any]) -> _Jwks:
        document = await self._get_json(discovery["jwks_uri"], failure="bad_response")
        entries = document.get("keys") if isinstance(document, dict) else None
        if not isinstance(entries, list):
            raise self._fail("bad_response", "JWKS is not a JSON object with a keys list")
        keys: list[Key] = []
        for entry in entries:
            if not isinstance(entry, dict) or entry.get("kty") not in ("RSA", "EC"):
                continue  # RFC 7517 §5: ignore what we do not understand
            if entry.get("use", "sig") != "sig":
                continue
            try:
                key = JWKRegistry.import_key(entry)
            except (JoseError, ValueError, TypeError, KeyError):
                continue
            if isinstance(key, RSAKey | ECKey) and not key.is_private:
                keys.append(key)
        if not keys:
            raise self._fail("bad_response", "JWKS holds no usable public signing key")
        return _Jwks(keys=tuple(keys), fetched_at=time.monotonic())

    # --- logout ----------------------------------------------------------------------------------

    async def end_session_url(self, *, id_token_hint: str | None, post_logout_redirect_uri: str) -> str | None:
        """The provider's RP-initiated logout URL, or None when it advertises no end_session_endpoint."""
        endpoint = (await self.discover()).get("end_session_endpoint")
        if not isinstance(endpoint, str) or not endpoint:
            return None
        params = {"client_id": self.provider.client_id, "post_logout_redirect_uri": post_logout_redirect_uri}
        if id_token_hint:
            params["id_token_hint"] = id_token_hint
        parts = urlsplit(endpoint)
        query = urlencode([*parse_qsl(parts.query, keep_blank_values=True), *params.items()])
        return urlunsplit(parts._replace(query=query))

    async def aclose(self) -> None:
        """Close the HTTP clients this object created (not an `http` client passed in)."""
        await self._oauth.aclose()
        if self._owns_http:
            await self._http.aclose()

    # --- helpers ---------------------------------------------------------------------------------

    async def _get_json(self, url: str, *, failure: str) -> Any:
        """GET a JSON document with the provider's timeouts and a size cap; errors as `OIDCError`."""
        what = "discovery" if failure == "bad_discovery" else "JWKS"
        body = bytearray()
        try:
            async with (
                asyncio.timeout(self._deadline),
                self._http.stream(
                    "GET", url, headers={"Accept": "application/json"}, timeout=self._timeout, follow_redirects=False
                ) as response,
            ):
                if response.status_code != 200:
                    raise self._fail(failure, f"{what} answered HTTP {response.status_code}")
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > MAX_DOCUMENT_BYTES:
                        raise self._fail(failure, f"{what} document is larger than {MAX_DOCUMENT_BYTES} bytes")
        except (httpx.TimeoutException, TimeoutError):
            raise self._fail("provider_timeout", f"{what} did not answer in time") from None
        except httpx.HTTPError as exc:
            raise self._fail("provider_unavailable", f"{what}: {type(exc).__name__}") from None
        except httpx.InvalidURL:
            raise self._fail(failure, f"{what} URL is invalid") from None
        try:
            return json.loads(body)
        except ValueError:
            raise self._fail(failure, f"{what} is not JSON") from None

    def _fail(self, code: str, detail: str) -> OIDCError:
        log.warning("oidc_failure", code=code, detail=detail, issuer=self.provider.issuer)
        return OIDCError(code, detail)


class OIDCRegistry:
    """One `OIDCClient` per issuer for the whole process, so discovery and JWKS caches are shared.

    Create it at application start-up and `aclose` it at shutdown. Asking again for an issuer with
    changed settings (a new client secret, say) gives a new client that keeps the issuer's caches.
    """

    def __init__(self, *, http: httpx.AsyncClient | None = None) -> None:
        self._http = http
        self._clients: dict[str, OIDCClient] = {}
        self._retired: list[OIDCClient] = []

    def client_for(self, provider: ProviderSettings) -> OIDCClient:
        """The shared client of `provider.issuer`, created on first use."""
        current = self._clients.get(provider.issuer)
        if current is not None and current.provider == provider:
            return current
        client = OIDCClient(provider, http=self._http)
        if current is not None:
            client._cache = current._cache  # same issuer, same keys
            self._retired.append(current)  # may still serve a request in flight; closed at shutdown
        self._clients[provider.issuer] = client
        return client

    async def aclose(self) -> None:
        """Close every client."""
        clients = [*self._clients.values(), *self._retired]
        self._clients.clear()
        self._retired.clear()
        for client in clients:
            await client.aclose()


def _is_http_url(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("https", "http") and bool(parts.netloc)


def _select_key(keys: tuple[Key, ...], kid: str | None, alg: str) -> Key | None:
    """The key to verify with: the one named by `kid`, or without kid the only key fit for `alg`."""
    model = JWSRegistry.algorithms[alg]

    def fits(key: Key) -> bool:
        try:
            model.check_key(key)
        except JoseError:
            return False
        return True

    candidates = [key for key in keys if (kid is None or key.kid == kid) and fits(key)]
    if kid is None:
        return candidates[0] if len(candidates) == 1 else None
    return candidates[0] if candidates else None


def _same(a: str, b: str) -> bool:
    """Constant-time equality of two strings (any code points, even lone surrogates)."""
    return hmac.compare_digest(a.encode("utf-8", "surrogatepass"), b.encode("utf-8", "surrogatepass"))


def _short(value: object) -> str:
    """A provider-supplied value, trimmed for a log line."""
    return str(value)[:64]
