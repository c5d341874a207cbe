"""The OpenID Connect relying party, over real HTTP on 127.0.0.1.

Against `oidc-provider-mock` (a real provider built on Authlib's server): the whole sign-in flow.
Against our scriptable provider (`tests.oidc_support`): every way an ID token or a provider can be
wrong, each token signed (or forged) here with joserfc.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Coroutine, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import oidc_provider_mock  # type: ignore[import-untyped]
import pytest

from backend.auth.oidc import (
    MESSAGE_SESSION,
    MESSAGE_UNAVAILABLE,
    OIDCClient,
    OIDCError,
    OIDCRegistry,
    ProviderSettings,
)
from tests.oidc_support import (
    CLIENT_ID,
    CLIENT_SECRET,
    REDIRECT_URI,
    FakeProvider,
    Tenant,
    ec_key,
    hs256_with_public_key,
    rsa_key,
    s256,
    sign,
    tamper,
    unsigned,
)

NONCE = "n-0S6_WzA2Mj"
VERIFIER = "v" * 43 + "-parboard-code-verifier-for-tests-0123456789"
# Generated once: RSA key generation is the slow part of these tests.
KEY_A = rsa_key("signing-1")
KEY_A2 = rsa_key("signing-2")
KEY_B = rsa_key("signing-1")  # province B happens to use the same kid as province A
KEY_NO_KID = rsa_key(None)
KEY_EC = ec_key("ec-1")


def settings(issuer: str, **overrides: Any) -> ProviderSettings:
    values: dict[str, Any] = {
        "issuer": issuer,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "redirect_uri": REDIRECT_URI,
        "timeout_seconds": 2.0,
        "clock_skew_seconds": 60,
    }
    values.update(overrides)
    return ProviderSettings(**values)


async def expect_error(code: str, awaitable: Any) -> OIDCError:
    with pytest.raises(OIDCError) as caught:
        await awaitable
    assert caught.value.code == code, caught.value.detail
    return caught.value


# --- the real mock provider ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def mock_issuer() -> Iterator[str]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")  # the mock's Authlib server refuses http otherwise
        with oidc_provider_mock.run_server_in_thread(port=0, require_nonce=True) as server:
            host, port = server.server_address[:2]
            assert host == "127.0.0.1"
            yield f"http://127.0.0.1:{port}"


@pytest.fixture
async def mock_client(mock_issuer: str) -> AsyncIterator[OIDCClient]:
    client = OIDCClient(settings(mock_issuer))
    yield client
    await client.aclose()


async def authorize_at_mock(issuer: str, client: OIDCClient, sub: str) -> tuple[Any, dict[str, str]]:
    """Sign in at the mock as `sub`: the authorization request and the callback's query parameters."""
    async with httpx.AsyncClient(timeout=5) as browser:
        response = await browser.put(f"{issuer}/users/{sub}", json={"email": f"{sub}@soctp.gov.vn", "name": "Trần B"})
        assert response.status_code == 204
        request = await client.authorization_request(login_hint=f"{sub}@soctp.gov.vn")
        response = await browser.post(request.url, data={"sub": sub})
    assert response.status_code in (302, 303), response.text[:200]
    location = urlsplit(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT_URI
    return request, dict(parse_qsl(location.query))


def complete_at_mock(
    client: OIDCClient, request: Any, callback: dict[str, str], *, state_received: str | None = None
) -> Coroutine[Any, Any, Any]:
    """Redeem the mock's callback with what the authorization request kept (`state_received` to tamper with it)."""
    return client.complete(
        code=callback["code"],
        state_expected=request.state,
        state_received=callback["state"] if state_received is None else state_received,
        nonce=request.nonce,
        code_verifier=request.code_verifier,
    )


async def test_the_configured_scopes_are_asked_and_only_the_scope_s_claims_come_back(mock_issuer: str) -> None:
    client = OIDCClient(settings(mock_issuer, scopes=("openid", "email")))
    try:
        request, callback = await authorize_at_mock(mock_issuer, client, "phamc")
        assert dict(parse_qsl(urlsplit(request.url).query))["scope"] == "openid email"
        result = await complete_at_mock(client, request, callback)
    finally:
        await client.aclose()
    assert result.claims["email"] == "phamc@soctp.gov.vn"
    assert "name" not in result.claims  # released under "profile", which was not asked for


@pytest.mark.parametrize("scopes", [(), ("email", "profile"), ("openid", ""), ("openid", "agency read")])
def test_scopes_without_openid_or_with_a_malformed_one_are_refused(scopes: tuple[str, ...]) -> None:
    with pytest.raises(ValueError, match="openid"):
        settings("https://sso.example.gov.vn", scopes=scopes)


async def test_full_sign_in_against_the_mock_provider(mock_issuer: str, mock_client: OIDCClient) -> None:
    request, callback = await authorize_at_mock(mock_issuer, mock_client, "tranb")

    query = dict(parse_qsl(urlsplit(request.url).query))
    assert urlsplit(request.url).path == "/oauth2/authorize"
    assert query["response_type"] == "code"
    assert query["scope"] == "openid email profile"
    assert query["client_id"] == CLIENT_ID
    assert query["redirect_uri"] == REDIRECT_URI
    assert query["login_hint"] == "tranb@soctp.gov.vn"
    assert query["state"] == request.state == callback["state"]
    assert query["nonce"] == request.nonce
    assert query["code_challenge_method"] == "S256"
    assert query["code_challenge"] == s256(request.code_verifier)  # BASE64URL(SHA256(verifier)), unpadded
    assert len(request.code_verifier) >= 64
    assert "code_verifier" not in query

    result = await complete_at_mock(mock_client, request, callback)
    assert result.claims["sub"] == "tranb"
    assert result.claims["email"] == "tranb@soctp.gov.vn"
    assert result.claims["iss"] == mock_issuer
    assert result.claims["nonce"] == request.nonce
    assert result.id_token.count(".") == 2

    # The code is spent: replaying it is refused by the provider.
    error = await expect_error(
        "token_error",
        complete_at_mock(mock_client, request, callback),
    )
    assert error.message == MESSAGE_SESSION
    assert callback["code"] not in str(error)
    assert callback["code"] not in error.message

    logout = await mock_client.end_session_url(
        id_token_hint=result.id_token, post_logout_redirect_uri="http://127.0.0.1:9/"
    )
    assert logout is not None
    logout_query = dict(parse_qsl(urlsplit(logout).query))
    assert logout.startswith(f"{mock_issuer}/oauth2/end_session?")
    assert logout_query == {
        "client_id": CLIENT_ID,
        "post_logout_redirect_uri": "http://127.0.0.1:9/",
        "id_token_hint": result.id_token,
    }


async def test_each_authorization_request_is_fresh(mock_client: OIDCClient) -> None:
    first = await mock_client.authorization_request()
    second = await mock_client.authorization_request()
    assert "login_hint" not in first.url
    for name in ("state", "nonce", "code_verifier"):
        assert getattr(first, name) != getattr(second, name)
    assert first.code_verifier not in repr(first)


async def test_bad_state_at_the_mock_fails_before_redeeming_the_code(mock_issuer: str, mock_client: OIDCClient) -> None:
    request, callback = await authorize_at_mock(mock_issuer, mock_client, "lec")
    await expect_error(
        "bad_state",
        complete_at_mock(mock_client, request, callback, state_received=callback["state"] + "x"),
    )
    # The code was never sent: it still works for the genuine callback.
    result = await complete_at_mock(mock_client, request, callback)
    assert result.claims["sub"] == "lec"


# --- the scriptable provider ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeProvider]:
    with FakeProvider() as provider:
        yield provider


@pytest.fixture
def tenant(fake: FakeProvider) -> Tenant:
    return fake.tenant("so-noi-vu-a", [KEY_A])


@pytest.fixture
async def client(tenant: Tenant) -> AsyncIterator[OIDCClient]:
    client = OIDCClient(settings(tenant.issuer))
    yield client
    await client.aclose()


async def sign_in(client: OIDCClient, tenant: Tenant, id_token: str, *, code: str = "code-1") -> dict[str, Any]:
    """Redeem `code` at the fake provider, whose token endpoint answers with `id_token`."""
    tenant.id_token = id_token
    tenant.expected_challenge = s256(VERIFIER)
    result = await client.complete(
        code=code, state_expected="st-1", state_received="st-1", nonce=NONCE, code_verifier=VERIFIER
    )
    assert result.id_token == id_token
    return result.claims


async def test_complete_redeems_the_code_with_pkce_and_client_authentication(
    client: OIDCClient, tenant: Tenant
) -> None:
    claims = await sign_in(client, tenant, sign(tenant.claims(NONCE), KEY_A))
    assert claims["sub"] == "cb-0042"
    assert claims["name"] == "Nguyễn Văn A"
    [form] = tenant.token_requests
    assert form["grant_type"] == "authorization_code"
    assert form["code"] == "code-1"
    assert form["code_verifier"] == VERIFIER
    assert form["redirect_uri"] == REDIRECT_URI
    assert form["authorization"].startswith("Basic ")  # client_secret_basic by default
    assert "client_secret" not in form


async def test_client_secret_post_when_the_provider_only_takes_that(client: OIDCClient, tenant: Tenant) -> None:
    tenant.discovery_patch = {"token_endpoint_auth_methods_supported": ["client_secret_post"]}
    await sign_in(client, tenant, sign(tenant.claims(NONCE), KEY_A))
    [form] = tenant.token_requests
    assert form["client_id"] == CLIENT_ID
    assert form["client_secret"] == CLIENT_SECRET
    assert form["authorization"] == ""


async def test_wrong_pkce_verifier_and_replayed_code_are_token_errors(client: OIDCClient, tenant: Tenant) -> None:
    tenant.id_token = sign(tenant.claims(NONCE), KEY_A)
    tenant.expected_challenge = s256(VERIFIER)
    await expect_error(
        "token_error",
        client.complete(
            code="code-1", state_expected="s", state_received="s", nonce=NONCE, code_verifier=VERIFIER + "x"
        ),
    )
    await sign_in(client, tenant, tenant.id_token, code="code-1")
    error = await expect_error("token_error", sign_in(client, tenant, tenant.id_token, code="code-1"))
    assert error.message == MESSAGE_SESSION


async def test_bad_state_never_reaches_the_provider(client: OIDCClient, tenant: Tenant) -> None:
    for expected, received in (("st-1", "st-2"), ("st-1", ""), ("", ""), ("st-1", "st-1\u00e9")):
        await expect_error(
            "bad_state",
            client.complete(
                code="c", state_expected=expected, state_received=received, nonce=NONCE, code_verifier=VERIFIER
            ),
        )
    assert sum(tenant.requests.values()) == 0


@dataclass(frozen=True)
class Offset:
    """Seconds from the moment the test runs."""

    seconds: int


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        pytest.param({"iss": "https://sso.other-province.gov.vn"}, "bad_issuer", id="wrong-issuer"),
        pytest.param({"iss": None}, "missing_claim", id="no-issuer"),
        pytest.param({"aud": "another-app"}, "bad_audience", id="wrong-audience"),
        pytest.param({"aud": ["another-app", "third-app"], "azp": CLIENT_ID}, "bad_audience", id="aud-list-without-us"),
        pytest.param({"aud": 42}, "bad_audience", id="aud-not-a-string"),
        pytest.param({"aud": [CLIENT_ID, "another-app"]}, "bad_azp", id="several-aud-without-azp"),
        pytest.param({"aud": [CLIENT_ID, "another-app"], "azp": "another-app"}, "bad_azp", id="several-aud-wrong-azp"),
        pytest.param({"azp": "another-app"}, "bad_azp", id="azp-mismatch"),
        # Times as offsets from "now", resolved when the test runs: a value computed at collection goes
        # stale on a long run (a token "300 s in the future" is no longer so five minutes later).
        pytest.param({"exp": Offset(-120)}, "expired", id="expired-beyond-skew"),
        pytest.param({"exp": "tomorrow"}, "expired", id="exp-not-a-number"),
        pytest.param({"exp": None}, "missing_claim", id="no-exp"),
        pytest.param({"iat": Offset(+300)}, "issued_in_future", id="iat-in-future-beyond-skew"),
        pytest.param({"iat": None}, "missing_claim", id="no-iat"),
        pytest.param({"nbf": Offset(+300)}, "issued_in_future", id="nbf-in-future"),
        pytest.param({"nonce": None}, "missing_claim", id="no-nonce"),
        pytest.param({"nonce": "n-replayed-from-another-sign-in"}, "bad_nonce", id="wrong-nonce"),
        pytest.param({"nonce": 12345}, "bad_nonce", id="nonce-not-a-string"),
        pytest.param({"sub": None}, "missing_claim", id="no-sub"),
        pytest.param({"sub": ""}, "missing_claim", id="empty-sub"),
        pytest.param({"sub": 42}, "missing_claim", id="sub-not-a-string"),
    ],
)
async def test_claims_are_checked(client: OIDCClient, tenant: Tenant, changes: dict[str, Any], code: str) -> None:
    changes = {k: int(time.time()) + v.seconds if isinstance(v, Offset) else v for k, v in changes.items()}
    token = sign(tenant.claims(NONCE, **changes), KEY_A)
    error = await expect_error(code, sign_in(client, tenant, token))
    assert error.message == MESSAGE_SESSION
    assert token not in str(error)
    assert token not in error.message


@pytest.mark.parametrize(
    "changes",
    [
        # Offsets from "now", resolved when the test runs (not when it is collected).
        pytest.param({"exp": -30}, id="expired-within-skew"),
        pytest.param({"iat": +30}, id="iat-in-future-within-skew"),
        pytest.param({"aud": [CLIENT_ID]}, id="aud-as-a-list"),
        pytest.param({"aud": [CLIENT_ID, "another-app"], "azp": CLIENT_ID}, id="several-aud-with-our-azp"),
        pytest.param({"azp": CLIENT_ID}, id="azp-us"),
    ],
)
async def test_valid_claims_are_accepted(client: OIDCClient, tenant: Tenant, changes: dict[str, Any]) -> None:
    changes = {k: int(time.time()) + v if k in ("exp", "iat") else v for k, v in changes.items()}
    claims = await sign_in(client, tenant, sign(tenant.claims(NONCE, **changes), KEY_A))
    assert claims["sub"] == "cb-0042"


async def test_tampered_payload_fails_the_signature(client: OIDCClient, tenant: Tenant) -> None:
    genuine = sign(tenant.claims(NONCE), KEY_A)
    await expect_error("invalid_signature", client.validate_id_token(tamper(genuine, sub="cb-0001"), nonce=NONCE))
    garbled = genuine[:-6] + ("AAAAAA" if not genuine.endswith("AAAAAA") else "BBBBBB")
    await expect_error("invalid_signature", client.validate_id_token(garbled, nonce=NONCE))
    await expect_error("bad_response", client.validate_id_token("not-a-jwt", nonce=NONCE))


async def test_alg_none_is_refused_before_any_key_is_fetched(client: OIDCClient, tenant: Tenant) -> None:
    await expect_error("alg_not_allowed", sign_in(client, tenant, unsigned(tenant.claims(NONCE))))
    assert tenant.requests["jwks"] == 0


async def test_hs256_keyed_with_the_public_key_is_refused(client: OIDCClient, tenant: Tenant) -> None:
    for kid in (KEY_A.kid, None):
        forged = hs256_with_public_key(tenant.claims(NONCE), KEY_A, kid)
        await expect_error("alg_not_allowed", client.validate_id_token(forged, nonce=NONCE))
    assert tenant.requests["jwks"] == 0
    # Even a provider that (wrongly) advertises HS256 does not make it acceptable.
    tenant.algorithms = ["RS256", "HS256"]
    other = OIDCClient(settings(tenant.issuer))
    try:
        forged = hs256_with_public_key(tenant.claims(NONCE), KEY_A, KEY_A.kid)
        await expect_error("alg_not_allowed", other.validate_id_token(forged, nonce=NONCE))
    finally:
        await other.aclose()


async def test_only_advertised_algorithms_are_accepted(client: OIDCClient, tenant: Tenant) -> None:
    tenant.keys = [KEY_A, KEY_EC]
    es256 = sign(tenant.claims(NONCE), KEY_EC, alg="ES256")
    await expect_error("alg_not_allowed", client.validate_id_token(es256, nonce=NONCE))  # discovery: RS256 only

    tenant.algorithms = ["RS256", "ES256"]
    other = OIDCClient(settings(tenant.issuer))
    try:
        assert (await other.validate_id_token(es256, nonce=NONCE))["sub"] == "cb-0042"
        # RS256 with the EC key's kid: that key cannot verify RS256.
        mislabelled = sign(tenant.claims(NONCE), KEY_A, kid="ec-1")
        await expect_error("unknown_kid", other.validate_id_token(mislabelled, nonce=NONCE))
    finally:
        await other.aclose()


async def test_unknown_kid_refetches_the_jwks_once_then_fails(client: OIDCClient, tenant: Tenant) -> None:
    await client.validate_id_token(sign(tenant.claims(NONCE), KEY_A), nonce=NONCE)
    assert tenant.requests["jwks"] == 1

    stranger = rsa_key("made-up-kid")
    error = await expect_error(
        "unknown_kid", client.validate_id_token(sign(tenant.claims(NONCE), stranger), nonce=NONCE)
    )
    assert error.message == MESSAGE_SESSION
    assert tenant.requests["jwks"] == 2  # exactly one refetch

    # A flood of made-up kids within the minute: no further request to the provider.
    flood = [sign(tenant.claims(NONCE), stranger, kid=f"bogus-{i}") for i in range(20)]
    results = await asyncio.gather(*(client.validate_id_token(t, nonce=NONCE) for t in flood), return_exceptions=True)
    assert all(isinstance(r, OIDCError) and r.code == "unknown_kid" for r in results)
    assert tenant.requests["jwks"] == 2
    # The known key still works from the cache.
    await client.validate_id_token(sign(tenant.claims(NONCE), KEY_A), nonce=NONCE)
    assert tenant.requests["jwks"] == 2


async def test_key_rotation_is_picked_up_by_one_refetch(client: OIDCClient, tenant: Tenant) -> None:
    await client.validate_id_token(sign(tenant.claims(NONCE), KEY_A), nonce=NONCE)
    tenant.keys = [KEY_A2]  # the provider rotates to a new key and retires the old one
    claims = await client.validate_id_token(sign(tenant.claims(NONCE), KEY_A2), nonce=NONCE)
    assert claims["sub"] == "cb-0042"
    assert tenant.requests["jwks"] == 2
    await client.validate_id_token(sign(tenant.claims(NONCE), KEY_A2), nonce=NONCE)
    assert tenant.requests["jwks"] == 2
    assert tenant.requests["discovery"] == 1


async def test_token_without_kid_needs_exactly_one_suitable_key(client: OIDCClient, tenant: Tenant) -> None:
    tenant.keys = [KEY_NO_KID, KEY_EC]  # the EC key cannot verify RS256, so one suitable key
    claims = await client.validate_id_token(sign(tenant.claims(NONCE), KEY_NO_KID, kid=None), nonce=NONCE)
    assert claims["sub"] == "cb-0042"

    tenant.keys = [KEY_A, KEY_A2]
    other = OIDCClient(settings(tenant.issuer))
    try:
        await expect_error(
            "unknown_kid", other.validate_id_token(sign(tenant.claims(NONCE), KEY_A, kid=None), nonce=NONCE)
        )
    finally:
        await other.aclose()


async def test_a_token_of_province_b_is_refused_by_province_a(
    fake: FakeProvider, client: OIDCClient, tenant: Tenant
) -> None:
    province_b = fake.tenant("so-noi-vu-b", [KEY_B])
    client_b = OIDCClient(settings(province_b.issuer))
    try:
        token_b = sign(province_b.claims(NONCE), KEY_B)  # same kid "signing-1" as province A's key
        assert (await client_b.validate_id_token(token_b, nonce=NONCE))["iss"] == province_b.issuer
        await expect_error("invalid_signature", client.validate_id_token(token_b, nonce=NONCE))
        # B's issuer on a token that A's key signed (say, a shared signing service): still not A's token.
        await expect_error("bad_issuer", client.validate_id_token(sign(province_b.claims(NONCE), KEY_A), nonce=NONCE))
    finally:
        await client_b.aclose()


# --- the provider misbehaving ----------------------------------------------------------------------


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_provider_down_is_unavailable_without_waiting_for_the_timeout() -> None:
    # A refused connection is told at once: with a minute's timeout, waiting for it would answer provider_timeout
    # (after the minute), never provider_unavailable.
    client = OIDCClient(settings(f"http://127.0.0.1:{unused_port()}", timeout_seconds=60))
    try:
        error = await expect_error("provider_unavailable", client.authorization_request())
        assert error.message == MESSAGE_UNAVAILABLE
        assert error.is_provider_problem
    finally:
        await client.aclose()


@pytest.mark.parametrize("endpoint", ["discovery", "jwks", "token"])
async def test_slow_provider_times_out(tenant: Tenant, endpoint: str) -> None:
    client = OIDCClient(settings(tenant.issuer, timeout_seconds=0.5))
    try:
        if endpoint != "discovery":
            await client.discover()
        asked = tenant.requests[endpoint]
        tenant.delays[endpoint] = 60.0  # the provider holds the request until the test ends (120 × the timeout)
        await expect_error("provider_timeout", sign_in(client, tenant, sign(tenant.claims(NONCE), KEY_A)))
        assert tenant.requests[endpoint] == asked + 1  # asked once, and given up on by our own timeout
    finally:
        tenant.delays.clear()
        await client.aclose()


@pytest.mark.parametrize(
    ("raw", "patch"),
    [
        pytest.param((200, "text/html", b"<html><body>Bao tri he thong</body></html>"), {}, id="html"),
        pytest.param((500, "application/json", b"{}"), {}, id="http-500"),
        pytest.param((404, "text/plain", b"not found"), {}, id="http-404"),
        pytest.param((200, "application/json", b"[1, 2, 3]"), {}, id="json-not-an-object"),
        pytest.param(None, {"issuer": "https://sso.other-province.gov.vn"}, id="issuer-mismatch"),
        pytest.param(None, {"token_endpoint": None}, id="no-token-endpoint"),
        pytest.param(None, {"jwks_uri": "ftp://example.org/keys"}, id="jwks-uri-not-http"),
        pytest.param(None, {"id_token_signing_alg_values_supported": "RS256"}, id="algs-not-a-list"),
    ],
)
async def test_bad_discovery(
    client: OIDCClient, tenant: Tenant, raw: tuple[int, str, bytes] | None, patch: dict[str, Any]
) -> None:
    tenant.discovery_raw = raw
    tenant.discovery_patch = patch
    error = await expect_error("bad_discovery", client.authorization_request())
    assert error.is_provider_problem
    # A broken discovery is not cached: once the provider is fixed, sign-in works.
    tenant.discovery_raw, tenant.discovery_patch = None, {}
    assert (await client.authorization_request()).url.startswith(f"{tenant.issuer}/authorize?")


async def test_discovery_is_cached(client: OIDCClient, tenant: Tenant) -> None:
    for _ in range(3):
        await client.authorization_request()
    assert tenant.requests["discovery"] == 1


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param((500, "text/plain", b"Internal Server Error"), id="http-500"),
        pytest.param((200, "text/html", b"<html></html>"), id="html"),
        pytest.param((200, "application/json", b'{"keys": "none"}'), id="keys-not-a-list"),
        pytest.param((200, "application/json", b'{"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}'), id="only-a-secret"),
    ],
)
async def test_bad_jwks(client: OIDCClient, tenant: Tenant, raw: tuple[int, str, bytes]) -> None:
    tenant.jwks_raw = raw
    await expect_error("bad_response", client.validate_id_token(sign(tenant.claims(NONCE), KEY_A), nonce=NONCE))


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        pytest.param((500, "text/html", b"<h1>Loi he thong</h1>"), "bad_response", id="http-500"),
        pytest.param((502, "application/json", b'{"error": "server_error"}'), "bad_response", id="http-502-json"),
        pytest.param((200, "text/html", b"<html></html>"), "bad_response", id="html"),
        pytest.param((200, "application/json", b'{"access_token": "at"}'), "bad_response", id="no-id-token"),
        pytest.param((200, "application/json", b'{"error": "invalid_grant"}'), "token_error", id="error-with-200"),
        pytest.param((401, "application/json", b'{"error": "invalid_client"}'), "token_error", id="invalid-client"),
        pytest.param((400, "text/html", b"<html>Bad Request</html>"), "token_error", id="http-400-html"),
    ],
)
async def test_bad_token_response(client: OIDCClient, tenant: Tenant, raw: tuple[int, str, bytes], code: str) -> None:
    tenant.token_raw = raw
    await expect_error(code, sign_in(client, tenant, "unused"))


async def test_end_session_url_is_none_without_an_endpoint(client: OIDCClient, tenant: Tenant) -> None:
    tenant.end_session = False
    assert await client.end_session_url(id_token_hint="t", post_logout_redirect_uri="http://127.0.0.1:9/") is None


async def test_end_session_url_keeps_the_endpoint_query(client: OIDCClient, tenant: Tenant) -> None:
    url = await client.end_session_url(id_token_hint=None, post_logout_redirect_uri="http://127.0.0.1:9/bye")
    assert url is not None
    assert url.startswith(f"{tenant.issuer}/logout?")
    assert dict(parse_qsl(urlsplit(url).query)) == {
        "ui": "vi",
        "client_id": CLIENT_ID,
        "post_logout_redirect_uri": "http://127.0.0.1:9/bye",
    }


async def test_registry_shares_one_client_and_its_caches_per_issuer(tenant: Tenant) -> None:
    registry = OIDCRegistry()
    try:
        client = registry.client_for(settings(tenant.issuer))
        assert registry.client_for(settings(tenant.issuer)) is client
        await client.validate_id_token(sign(tenant.claims(NONCE), KEY_A), nonce=NONCE)

        rotated_secret = registry.client_for(settings(tenant.issuer, client_secret="new-secret"))
        assert rotated_secret is not client
        await rotated_secret.validate_id_token(sign(tenant.claims(NONCE), KEY_A), nonce=NONCE)
        assert tenant.requests["discovery"] == 1
        assert tenant.requests["jwks"] == 1
    finally:
        await registry.aclose()


def test_settings_hide_the_secret_and_reject_nonsense() -> None:
    provider = settings("https://sso.baria-vungtau.gov.vn/realms/cchc")
    assert CLIENT_SECRET not in repr(provider)
    with pytest.raises(ValueError, match="timeout"):
        settings("https://sso.example.vn", timeout_seconds=0)
    with pytest.raises(ValueError, match="required"):
        settings("")
    with pytest.raises(ValueError, match="absolute"):
        settings("sso.baria-vungtau.gov.vn")
