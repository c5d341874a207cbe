"""The development OpenID Connect provider: DEVELOPMENT AND TESTS ONLY, never mount it in the production app.

A separate ASGI app (Litestar) serving the authorization code flow with PKCE (S256 only, required) for
one issuer per province, `{base_url}/{province_code}`. Each issuer signs its ID tokens (RS256) with its
own RSA key, generated at startup with a random `kid`, so a token of one province never verifies
against another province's JWKS. Its "login" is a page listing the province's fictional demo people
(`demo_people` in `tenants/*/province.yaml`): no password, one click.

Endpoints per issuer: `/.well-known/openid-configuration`, `/jwks`, `/authorize` (GET: the page, POST:
the choice), `/token`, `/userinfo`, `/end_session`. Codes (one use, 60 s) and access tokens (300 s)
live in bounded in-memory stores: enough for one uvicorn worker, forgotten on restart.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast
from urllib.parse import parse_qsl, unquote_plus, urlencode, urlsplit, urlunsplit

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import RSAKey
from litestar import Litestar, Request, Response, get, post, route
from litestar.enums import MediaType, ScopeType
from litestar.params import FromPath
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from backend.devidp import pages

if TYPE_CHECKING:
    from backend.domain.tenants.config import LoadedProvince

CODE_TTL = 60  # seconds an authorization code may wait for its redemption
TOKEN_TTL = 300  # lifetime of ID and access tokens
MAX_CODES = 10_000  # codes kept at once (unredeemed or spent but not yet expired); the oldest go first
MAX_TOKENS = 10_000  # access tokens kept at once
MAX_STATE = 1024  # characters of `state`, `nonce` and `login_hint` we keep in memory
MAX_NONCE = 255
KEY_SIZE = 2048
SCOPES = ("openid", "email", "profile", "agency")
# Like a province's SSO, the claims of a scope are released only when it was asked for (OpenID Connect Core
# §5.4); "agency" is the custom scope of the custom claim naming the person's department.
SCOPE_CLAIMS = {"email": ("email", "email_verified"), "profile": ("name",), "agency": ("agency",)}
CLAIMS = ("iss", "sub", "aud", "azp", "exp", "iat", "auth_time", "nonce", "email", "email_verified", "name", "agency")
STATE_KEY = "devidp"
PROVINCE_CODE = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
CODE_CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}")  # base64url(sha256(verifier)), unpadded
CODE_VERIFIER = re.compile(r"[A-Za-z0-9._~-]{43,128}")  # RFC 7636 §4.1


def _released(person: DevPerson, scope: str) -> dict[str, Any]:
    """The person's claims that the granted `scope` releases."""
    values: dict[str, Any] = {
        "email": person.email,
        "email_verified": True,
        "name": person.name,
        "agency": person.tenant_code,
    }
    granted = scope.split()
    return {claim: values[claim] for name in granted for claim in SCOPE_CLAIMS.get(name, ())}


def now() -> float:
    """The provider's clock (seconds since the epoch); the tests replace it to age codes and tokens."""
    return time.time()


@dataclass(frozen=True)
class DevPerson:
    """A demo person offered on the provider's login page."""

    sub: str  # = their e-mail
    email: str
    name: str
    tenant_code: str  # the "agency" claim
    tenant_name: str
    role: str  # role code(s) from the YAML, comma-separated; shown on the page only (parboard's memberships decide)


@dataclass(frozen=True)
class DevProvince:
    code: str  # URL segment: the issuer is f"{base_url}/{code}"
    name: str
    people: list[DevPerson]


@dataclass(frozen=True)
class DevClient:
    client_id: str
    client_secret: str
    redirect_uris: list[str]  # exact match required
    post_logout_redirect_uris: list[str]


@dataclass
class _Code:
    province: str
    client_id: str
    redirect_uri: str
    nonce: str
    code_challenge: str
    scope: str
    person: DevPerson
    auth_time: int
    used: bool = False
    access_token_key: str | None = None  # revoked if the code is replayed


@dataclass(frozen=True)
class _AccessToken:
    province: str
    client_id: str
    person: DevPerson
    scope: str


@dataclass(frozen=True)
class _Issuer:
    province: DevProvince
    key: RSAKey
    people: dict[tuple[str, str], DevPerson]  # (sub, tenant_code)


@dataclass(frozen=True)
class _AuthRequest:
    """A valid authorization request, as the parameters to carry through the login page."""

    client: DevClient
    redirect_uri: str
    state: str
    nonce: str
    code_challenge: str
    scope: str
    login_hint: str | None

    def hidden_fields(self) -> dict[str, str]:
        fields = {
            "response_type": "code",
            "client_id": self.client.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": self.scope,
            "state": self.state,
            "nonce": self.nonce,
            "code_challenge": self.code_challenge,
            "code_challenge_method": "S256",
        }
        if self.login_hint is not None:
            fields["login_hint"] = self.login_hint
        return fields


V = TypeVar("V")


class _ExpiringStore(Generic[V]):
    """A dict whose entries expire, holding at most `capacity` of them (the oldest are dropped first)."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._items: dict[str, tuple[float, V]] = {}
        self.lock = threading.RLock()

    def add(self, key: str, value: V, expires_at: float) -> None:
        with self.lock:
            moment = now()
            for stale in [k for k, (expiry, _) in self._items.items() if expiry <= moment]:
                del self._items[stale]
            while len(self._items) >= self._capacity:
                del self._items[next(iter(self._items))]
            self._items[key] = (expires_at, value)

    def get(self, key: str) -> V | None:
        with self.lock:
            item = self._items.get(key)
            if item is None:
                return None
            if item[0] <= now():
                del self._items[key]
                return None
            return item[1]

    def discard(self, key: str) -> None:
        with self.lock:
            self._items.pop(key, None)

    def __len__(self) -> int:
        return len(self._items)


def _digest(secret: str) -> str:
    """Stores are keyed by a hash of the code or token, never the bearer value itself."""
    return hashlib.sha256(secret.encode()).hexdigest()


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class DevIdentityProvider:
    """The provider's state: issuers and their keys, clients, codes and access tokens (all in memory)."""

    def __init__(self, provinces: list[DevProvince], clients: list[DevClient], *, base_url: str) -> None:
        self._issuers: dict[str, _Issuer] = {}
        for province in provinces:
            if not PROVINCE_CODE.fullmatch(province.code):
                raise ValueError(f"province code {province.code!r} is not a URL-safe slug")
            if province.code in self._issuers:
                raise ValueError(f"province {province.code!r} given twice")
            key = RSAKey.generate_key(
                KEY_SIZE, parameters={"kid": secrets.token_urlsafe(12), "use": "sig", "alg": "RS256"}
            )
            people = {(p.sub, p.tenant_code): p for p in province.people}
            self._issuers[province.code] = _Issuer(province, key, people)
        self._clients: dict[str, DevClient] = {}
        for client in clients:
            self.register_client(client)
        self.base_url = base_url
        self.codes: _ExpiringStore[_Code] = _ExpiringStore(MAX_CODES)
        self.access_tokens: _ExpiringStore[_AccessToken] = _ExpiringStore(MAX_TOKENS)

    @property
    def base_url(self) -> str:
        return self._base_url

    @base_url.setter
    def base_url(self, value: str) -> None:
        """May change after start (e.g. once the server knows its port): issuers follow it."""
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
            raise ValueError(f"base_url must be an http(s) URL without query or fragment, got {value!r}")
        self._base_url = value.rstrip("/")

    def issuer_url(self, province_code: str) -> str:
        return f"{self._base_url}/{province_code}"

    def issuers(self) -> list[tuple[DevProvince, str]]:
        return [(i.province, self.issuer_url(code)) for code, i in self._issuers.items()]

    def issuer(self, province_code: str) -> _Issuer | None:
        return self._issuers.get(province_code)

    def register_client(self, client: DevClient) -> None:
        """Add a client, or replace the one with the same client_id (e.g. once its port is known)."""
        if not client.client_id or not client.client_secret:
            raise ValueError("a client needs a client_id and a client_secret")
        self._clients[client.client_id] = client

    def client(self, client_id: str) -> DevClient | None:
        return self._clients.get(client_id)

    def form_action_origins(self) -> list[str]:
        """Origins the login forms may end up at (a redirect after a POST is subject to form-action)."""
        origins: set[str] = set()
        for client in self._clients.values():
            for uri in client.redirect_uris:
                parts = urlsplit(uri)
                if parts.scheme in ("http", "https") and parts.netloc:
                    origins.add(f"{parts.scheme}://{parts.netloc}")
        return sorted(origins)


def create_dev_idp(provinces: list[DevProvince], clients: list[DevClient], *, base_url: str) -> Litestar:
    """The provider as an ASGI app. DEVELOPMENT AND TESTS ONLY: serve it on its own port, never in parboard."""
    provider = DevIdentityProvider(provinces, clients, base_url=base_url)
    app = Litestar(
        route_handlers=[
            index,
            stylesheet,
            discovery,
            jwks,
            authorize_page,
            authorize_choice,
            token,
            userinfo,
            end_session,
        ],
        openapi_config=None,
        logging_config=None,
        request_max_body_size=64 * 1024,
        debug=False,
    )
    app.state[STATE_KEY] = provider
    app.asgi_handler = _security_headers(provider)(app.asgi_handler)
    return app


def dev_idp_of(app: Litestar) -> DevIdentityProvider:
    """The provider behind an app made by `create_dev_idp` (to set its base_url or register a client)."""
    return cast(DevIdentityProvider, app.state[STATE_KEY])


def dev_provinces_from_config(loaded: list[LoadedProvince]) -> list[DevProvince]:
    """The demo people of each province, one entry per person and tenant (their roles there joined)."""
    provinces: list[DevProvince] = []
    for item in loaded:
        info = item.config.province
        people: dict[tuple[str, str], DevPerson] = {}
        for tenant in item.config.tenants:
            for person in tenant.demo_people:
                key = (person.email.lower(), tenant.code)
                known = people.get(key)
                if known is None:
                    people[key] = DevPerson(
                        sub=person.email,
                        email=person.email,
                        name=person.name,
                        tenant_code=tenant.code,
                        tenant_name=tenant.name,
                        role=person.role,
                    )
                elif person.role not in known.role.split(", "):
                    people[key] = DevPerson(
                        sub=known.sub,
                        email=known.email,
                        name=known.name,
                        tenant_code=known.tenant_code,
                        tenant_name=known.tenant_name,
                        role=f"{known.role}, {person.role}",
                    )
        provinces.append(DevProvince(code=info.code, name=info.name, people=list(people.values())))
    return provinces


# --------------------------------------------------------------------------------------------------
# Responses


def _html(body: str, status: int = 200) -> Response[str]:
    return Response(content=body, status_code=status, media_type=MediaType.HTML)


def _json(content: Mapping[str, Any], status: int = 200, headers: Mapping[str, str] | None = None) -> Response[Any]:
    return Response(content=dict(content), status_code=status, media_type=MediaType.JSON, headers=dict(headers or {}))


def _oauth_error(
    error: str, description: str, status: int = 400, headers: Mapping[str, str] | None = None
) -> Response[Any]:
    return _json({"error": error, "error_description": description}, status, headers)


def _redirect(uri: str, params: Mapping[str, str]) -> Response[bytes]:
    """302 to `uri` with `params` added to its query (any query it already has is kept)."""
    parts = urlsplit(uri)
    query = urlencode([*parse_qsl(parts.query, keep_blank_values=True), *params.items()])
    location = urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))
    return Response(content=b"", status_code=302, headers={"Location": location})


def _not_found() -> Response[str]:
    return _html(pages.error_page("Không tìm thấy", "Không có tỉnh (issuer) này trên nhà cung cấp phát triển."), 404)


def _bad_request(message: str) -> Response[str]:
    return _html(pages.error_page("Yêu cầu đăng nhập không hợp lệ", message), 400)


def _security_headers(provider: DevIdentityProvider) -> Callable[[ASGIApp], ASGIApp]:
    """Outermost ASGI wrapper: the usual headers on every response, the router's own 404/405 included."""

    def wrap(app: ASGIApp) -> ASGIApp:
        async def handle(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != ScopeType.HTTP:
                await app(scope, receive, send)
                return

            async def send_wrapper(message: Message) -> None:
                if message["type"] == "http.response.start":
                    headers = list(message.get("headers", []))
                    names = {name.lower() for name, _ in headers}
                    form_action = " ".join(["'self'", *provider.form_action_origins()])
                    csp = (
                        "default-src 'self'; script-src 'none'; style-src 'self'; img-src 'self'; "
                        f"object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action {form_action}"
                    )
                    headers.extend(
                        [
                            (b"content-security-policy", csp.encode()),
                            (b"x-content-type-options", b"nosniff"),
                            (b"x-frame-options", b"DENY"),
                            (b"referrer-policy", b"no-referrer"),
                            (b"cross-origin-opener-policy", b"same-origin"),
                        ]
                    )
                    if b"cache-control" not in names:
                        headers.extend([(b"cache-control", b"no-store"), (b"pragma", b"no-cache")])
                    message["headers"] = headers
                await send(message)

            await app(scope, receive, send_wrapper)

        return handle

    return wrap


# --------------------------------------------------------------------------------------------------
# Parameters


def _collect(items: Iterable[tuple[str, Any]]) -> tuple[dict[str, str], list[str]]:
    """Request parameters as single strings (the first of each), and the names given more than once:
    an error for every endpoint (RFC 6749 §3.1). A file upload counts as an empty value."""
    params: dict[str, str] = {}
    duplicates: list[str] = []
    for name, value in items:
        if name in params:
            duplicates.append(name)
        else:
            params[name] = value if isinstance(value, str) else ""
    return params, duplicates


def _provider(request: Request[Any, Any, Any]) -> DevIdentityProvider:
    return dev_idp_of(request.app)


def _validate_authorization(
    provider: DevIdentityProvider, issuer: _Issuer, params: Mapping[str, str], duplicates: list[str]
) -> _AuthRequest | Response[Any]:
    """The checks of an authorization request, in the order the specs ask for.

    Until the client and its redirect_uri are known to match, errors are a page (never a redirect to an
    unregistered URI); after that, they go back to the client as `error=...&state=...`.
    """
    iss = provider.issuer_url(issuer.province.code)
    client = provider.client(params.get("client_id", ""))
    if client is None or "client_id" in duplicates:
        return _bad_request("Ứng dụng (client_id) không hợp lệ hoặc chưa đăng ký với nhà cung cấp này.")
    redirect_uri = params.get("redirect_uri", "")
    if redirect_uri not in client.redirect_uris or "redirect_uri" in duplicates:
        return _bad_request("Địa chỉ quay lại (redirect_uri) không khớp với địa chỉ đã đăng ký của ứng dụng.")
    state = params.get("state", "")
    back: dict[str, str] = {"state": state} if state and len(state) <= MAX_STATE else {}

    def refuse(description: str, error: str = "invalid_request") -> Response[Any]:
        return _redirect(redirect_uri, {"error": error, "error_description": description, **back, "iss": iss})

    if duplicates:
        return refuse(f"parameter {duplicates[0]} given more than once")
    if params.get("response_type") != "code":
        return refuse("response_type must be code", "unsupported_response_type")
    scopes = params.get("scope", "").split()
    if "openid" not in scopes:
        return refuse("scope must contain openid", "invalid_scope")
    if not state:
        return refuse("state is required")
    if len(state) > MAX_STATE:
        return refuse(f"state is longer than {MAX_STATE} characters")
    nonce = params.get("nonce", "")
    if not nonce:
        return refuse("nonce is required")
    if len(nonce) > MAX_NONCE:
        return refuse(f"nonce is longer than {MAX_NONCE} characters")
    challenge = params.get("code_challenge", "")
    if not challenge:
        return refuse("code_challenge is required (PKCE)")
    if params.get("code_challenge_method") != "S256":
        return refuse("code_challenge_method must be S256 (plain is not supported)")
    if not CODE_CHALLENGE.fullmatch(challenge):
        return refuse("code_challenge must be the 43-character base64url SHA-256 of the code_verifier")
    if params.get("request") or params.get("request_uri"):
        return refuse("request objects are not supported", "request_not_supported")
    if "none" in params.get("prompt", "").split():
        return refuse("this provider has no session: an interactive login is required", "login_required")
    login_hint = params.get("login_hint") or None
    if login_hint is not None and len(login_hint) > MAX_STATE:
        login_hint = None
    scope = " ".join(s for s in dict.fromkeys(scopes) if s in SCOPES)
    return _AuthRequest(client, redirect_uri, state, nonce, challenge, scope, login_hint)


# --------------------------------------------------------------------------------------------------
# Handlers


@get("/", media_type=MediaType.HTML, sync_to_thread=False)
def index(request: Request[Any, Any, Any]) -> Response[str]:
    return _html(pages.index_page(_provider(request).issuers()))


@get(pages.STYLESHEET_PATH, media_type="text/css", sync_to_thread=False)
def stylesheet() -> Response[str]:
    return Response(content=pages.STYLESHEET, media_type="text/css", headers={"Cache-Control": "public, max-age=3600"})


@get("/{province:str}/.well-known/openid-configuration", sync_to_thread=False)
def discovery(request: Request[Any, Any, Any], province: FromPath[str]) -> Response[Any]:
    provider = _provider(request)
    if provider.issuer(province) is None:
        return _not_found()
    iss = provider.issuer_url(province)
    return _json(
        {
            "issuer": iss,
            "authorization_endpoint": f"{iss}/authorize",
            "token_endpoint": f"{iss}/token",
            "userinfo_endpoint": f"{iss}/userinfo",
            "jwks_uri": f"{iss}/jwks",
            "end_session_endpoint": f"{iss}/end_session",
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "scopes_supported": list(SCOPES),
            "claims_supported": list(CLAIMS),
            "authorization_response_iss_parameter_supported": True,
            "request_parameter_supported": False,
            "request_uri_parameter_supported": False,
            "claims_parameter_supported": False,
        }
    )


@get("/{province:str}/jwks", sync_to_thread=False)
def jwks(request: Request[Any, Any, Any], province: FromPath[str]) -> Response[Any]:
    issuer = _provider(request).issuer(province)
    if issuer is None:
        return _not_found()
    return _json({"keys": [issuer.key.as_dict(private=False)]})


@get("/{province:str}/authorize", sync_to_thread=False)
def authorize_page(request: Request[Any, Any, Any], province: FromPath[str]) -> Response[Any]:
    provider = _provider(request)
    issuer = provider.issuer(province)
    if issuer is None:
        return _not_found()
    auth = _validate_authorization(provider, issuer, *_collect(request.query_params.multi_items()))
    if isinstance(auth, Response):
        return auth
    return _html(
        pages.login_page(
            issuer.province,
            auth.hidden_fields(),
            client_id=auth.client.client_id,
            redirect_uri=auth.redirect_uri,
            login_hint=auth.login_hint,
        )
    )


@post("/{province:str}/authorize", status_code=302)
async def authorize_choice(request: Request[Any, Any, Any], province: FromPath[str]) -> Response[Any]:
    """The person chosen on the page (or "Từ chối"): a one-time code back to the client."""
    provider = _provider(request)
    issuer = provider.issuer(province)
    if issuer is None:
        return _not_found()
    form, duplicates = _collect((await request.form()).multi_items())
    choice = {name: form.pop(name) for name in ("sub", "agency", "action") if name in form}
    auth = _validate_authorization(provider, issuer, form, [d for d in duplicates if d not in choice])
    if isinstance(auth, Response):
        return auth
    if any(d in choice for d in duplicates):
        return _bad_request("Mỗi lần chỉ đăng nhập với tư cách một người.")
    iss = provider.issuer_url(province)
    if choice.get("action") == "deny":
        return _redirect(
            auth.redirect_uri,
            {"error": "access_denied", "error_description": "the user refused", "state": auth.state, "iss": iss},
        )
    sub, agency = choice.get("sub"), choice.get("agency")
    candidates = [
        person
        for (person_sub, tenant_code), person in issuer.people.items()
        if person_sub == sub and (agency is None or tenant_code == agency)
    ]
    if not sub or len(candidates) != 1:
        return _bad_request("Người dùng này không có trong danh sách người dùng mẫu của tỉnh.")
    code = secrets.token_urlsafe(32)
    moment = now()
    provider.codes.add(
        _digest(code),
        _Code(
            province=province,
            client_id=auth.client.client_id,
            redirect_uri=auth.redirect_uri,
            nonce=auth.nonce,
            code_challenge=auth.code_challenge,
            scope=auth.scope,
            person=candidates[0],
            auth_time=int(moment),
        ),
        moment + CODE_TTL,
    )
    return _redirect(auth.redirect_uri, {"code": code, "state": auth.state, "iss": iss})


NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _authenticate_client(
    provider: DevIdentityProvider, request: Request[Any, Any, Any], form: Mapping[str, str], iss: str
) -> DevClient | Response[Any]:
    """client_secret_basic or client_secret_post (one of them, not both): RFC 6749 §2.3.1."""
    authorization = request.headers.get("authorization", "")
    scheme, _, credentials = authorization.partition(" ")
    basic = scheme.lower() == "basic"
    challenge = {"WWW-Authenticate": f'Basic realm="{iss}"'} if basic else {}

    def invalid_client(description: str) -> Response[Any]:
        return _oauth_error("invalid_client", description, 401, {**NO_STORE, **challenge})

    if basic:
        if "client_secret" in form:
            return _oauth_error("invalid_request", "use one client authentication method, not two", 400, NO_STORE)
        try:
            raw = base64.b64decode(credentials.strip(), validate=True)
        except binascii.Error:
            return invalid_client("malformed HTTP Basic credentials")
        try:
            decoded = raw.decode("utf-8")
        except UnicodeDecodeError:
            decoded = raw.decode("latin-1")
        raw_id, colon, raw_secret = decoded.partition(":")
        if not colon:
            return invalid_client("malformed HTTP Basic credentials")
        # RFC 6749 §2.3.1 form-encodes both before base64; Authlib (and others) send them as they are.
        # Either is accepted, which only matters for ids and secrets with '%' or '+'.
        candidates = [(unquote_plus(raw_id), unquote_plus(raw_secret)), (raw_id, raw_secret)]
        if "client_id" in form and form["client_id"] not in (raw_id, candidates[0][0]):
            return _oauth_error(
                "invalid_request", "client_id in the body differs from the authenticated one", 400, NO_STORE
            )
    else:
        candidates = [(form.get("client_id", ""), form.get("client_secret", ""))]
        if not all(candidates[0]):
            return invalid_client("client authentication is required")
    for client_id, secret in candidates:
        client = provider.client(client_id)
        if client is not None and hmac.compare_digest(client.client_secret.encode(), secret.encode()):
            return client
    return invalid_client("unknown client or wrong client secret")


def _pkce_matches(verifier: str, challenge: str) -> bool:
    if not CODE_VERIFIER.fullmatch(verifier):
        return False
    return hmac.compare_digest(_b64url(hashlib.sha256(verifier.encode("ascii")).digest()), challenge)


@post("/{province:str}/token", status_code=200)
async def token(request: Request[Any, Any, Any], province: FromPath[str]) -> Response[Any]:
    provider = _provider(request)
    issuer = provider.issuer(province)
    if issuer is None:
        return _not_found()

    def grant_error(description: str) -> Response[Any]:
        return _oauth_error("invalid_grant", description, 400, NO_STORE)

    form, duplicates = _collect((await request.form()).multi_items())
    if duplicates:
        return _oauth_error("invalid_request", f"parameter {duplicates[0]} given more than once", 400, NO_STORE)
    iss = provider.issuer_url(province)
    client = _authenticate_client(provider, request, form, iss)
    if isinstance(client, Response):
        return client
    if form.get("grant_type") != "authorization_code":
        return _oauth_error("unsupported_grant_type", "only authorization_code is supported", 400, NO_STORE)
    code_value = form.get("code", "")
    if not code_value:
        return _oauth_error("invalid_request", "code is required", 400, NO_STORE)
    code_key = _digest(code_value)
    with provider.codes.lock:
        code = provider.codes.get(code_key)
        if code is None or code.province != province:
            return grant_error("unknown or expired authorization code")
        if code.client_id != client.client_id:
            return grant_error("the authorization code was issued to another client")
        if code.used:
            # RFC 6749 §4.1.2: a code used twice is refused, and the tokens issued from it revoked.
            if code.access_token_key is not None:
                provider.access_tokens.discard(code.access_token_key)
            return grant_error("the authorization code has already been used")
        code.used = True  # one attempt per code, whatever its outcome below
    if form.get("redirect_uri") != code.redirect_uri:
        return grant_error("redirect_uri differs from the one of the authorization request")
    if not _pkce_matches(form.get("code_verifier", ""), code.code_challenge):
        return grant_error("PKCE verification failed")

    moment = int(now())
    access_token = secrets.token_urlsafe(32)
    code.access_token_key = _digest(access_token)
    person = code.person
    provider.access_tokens.add(
        code.access_token_key, _AccessToken(province, client.client_id, person, code.scope), moment + TOKEN_TTL
    )
    claims = {
        "iss": iss,
        "sub": person.sub,
        "aud": client.client_id,
        "azp": client.client_id,
        "exp": moment + TOKEN_TTL,
        "iat": moment,
        "auth_time": code.auth_time,
        "nonce": code.nonce,
        "at_hash": _b64url(hashlib.sha256(access_token.encode("ascii")).digest()[:16]),
        **_released(person, code.scope),
    }
    id_token = jwt.encode({"alg": "RS256", "kid": issuer.key.kid}, claims, issuer.key, algorithms=["RS256"])
    return _json(
        {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": TOKEN_TTL,
            "id_token": id_token,
            "scope": code.scope,
        },
        200,
        NO_STORE,
    )


@route("/{province:str}/userinfo", http_method=["GET", "POST"], status_code=200)
async def userinfo(request: Request[Any, Any, Any], province: FromPath[str]) -> Response[Any]:
    provider = _provider(request)
    if provider.issuer(province) is None:
        return _not_found()
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    grant = provider.access_tokens.get(_digest(value.strip())) if scheme.lower() == "bearer" and value else None
    if grant is None or grant.province != province:
        return _oauth_error(
            "invalid_token",
            "missing, unknown or expired access token",
            401,
            {"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    return _json({"sub": grant.person.sub, **_released(grant.person, grant.scope)})


@route("/{province:str}/end_session", http_method=["GET", "POST"], status_code=200)
async def end_session(request: Request[Any, Any, Any], province: FromPath[str]) -> Response[Any]:
    """RP-initiated logout: back to a registered post_logout_redirect_uri, or a "signed out" page."""
    provider = _provider(request)
    issuer = provider.issuer(province)
    if issuer is None:
        return _not_found()
    items = list(request.query_params.multi_items())
    if request.method == "POST":
        items.extend((await request.form()).multi_items())
    params, duplicates = _collect(items)
    if duplicates:
        return _html(pages.logged_out_page(issuer.province))
    client_ids: set[str] = set()
    if hint := params.get("id_token_hint"):
        try:
            # An expired hint is fine (RFC: the session may have outlived the token); a forged one is not.
            claims = jwt.decode(hint, issuer.key, algorithms=["RS256"]).claims
        except (JoseError, ValueError):
            claims = {}
        if claims.get("iss") == provider.issuer_url(province):
            audience = claims.get("aud")
            client_ids.update([audience] if isinstance(audience, str) else audience or [])
        else:
            client_ids.add("")  # a hint that is not ours: never redirect
    if client_id := params.get("client_id"):
        client_ids.add(client_id)
    target = params.get("post_logout_redirect_uri", "")
    client = provider.client(next(iter(client_ids))) if len(client_ids) == 1 else None
    if client is not None and target and target in client.post_logout_redirect_uris:
        state = params.get("state", "")
        return _redirect(target, {"state": state} if state else {})
    return _html(pages.logged_out_page(issuer.province))
