"""The development provider's endpoints per issuer: discovery, JWKS, the login page (GET /authorize) and the choice
(POST), the token endpoint (PKCE S256 required), userinfo and end_session (DEVELOPMENT AND TESTS ONLY)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, unquote_plus, urlencode, urlsplit, urlunsplit

from joserfc import jwt
from joserfc.errors import JoseError
from litestar import Request, Response, get, post, route
from litestar.enums import MediaType
from litestar.params import FromPath

from backend.devidp import pages, stores
from backend.devidp.keys import DevIdentityProvider, dev_idp_of
from backend.devidp.stores import (
    CLAIMS,
    CODE_CHALLENGE,
    CODE_TTL,
    CODE_VERIFIER,
    MAX_NONCE,
    MAX_STATE,
    SCOPE_CLAIMS,
    SCOPES,
    TOKEN_TTL,
    AccessToken,
    AuthRequest,
    Code,
    DevClient,
    DevPerson,
    Issuer,
    b64url,
    digest,
)


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
    provider: DevIdentityProvider, issuer: Issuer, params: Mapping[str, str], duplicates: list[str]
) -> AuthRequest | Response[Any]:
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
    return AuthRequest(client, redirect_uri, state, nonce, challenge, scope, login_hint)


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
    moment = stores.now()
    provider.codes.add(
        digest(code),
        Code(
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
    return hmac.compare_digest(b64url(hashlib.sha256(verifier.encode("ascii")).digest()), challenge)


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
    code_key = digest(code_value)
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

    moment = int(stores.now())
    access_token = secrets.token_urlsafe(32)
    code.access_token_key = digest(access_token)
    person = code.person
    provider.access_tokens.add(
        code.access_token_key, AccessToken(province, client.client_id, person, code.scope), moment + TOKEN_TTL
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
        "at_hash": b64url(hashlib.sha256(access_token.encode("ascii")).digest()[:16]),
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
    grant = provider.access_tokens.get(digest(value.strip())) if scheme.lower() == "bearer" and value else None
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
