"""The development OpenID Connect provider, served for real over HTTP and driven like a browser and a client.

PKCE, state and nonce are built by hand here; the login page's forms are parsed and posted as a browser
would. The provider is for development and tests only (see backend/devidp).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, quote_plus, urlsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.errors import BadSignatureError, JoseError
from joserfc.jwk import KeySet

from backend.devidp import (
    DevClient,
    DevIdPServer,
    DevPerson,
    DevProvince,
    create_dev_idp,
    dev_idp_of,
    dev_provinces_from_config,
)
from backend.devidp import stores as devidp
from backend.domain.tenants.config import load_directory
from backend.settings import PROJECT_ROOT
from tests.html_support import squash
from tests.support import LiveServer

CALLBACK = "http://127.0.0.1:8000/auth/callback"
AFTER_LOGOUT = "http://127.0.0.1:8000/"
CLIENT = DevClient(
    client_id="parboard",
    client_secret="dev-secret-for-tests",
    redirect_uris=[CALLBACK],
    post_logout_redirect_uris=[AFTER_LOGOUT],
)
# A secret with the characters that RFC 6749 §2.3.1 form-encodes in HTTP Basic (and Authlib does not).
OTHER_CLIENT = DevClient("other-app", "other secret+/%x", ["http://127.0.0.1:9000/cb"], ["http://127.0.0.1:9000/bye"])
HA_TINH = "ha-tinh"
BRVT = "ba-ria-vung-tau"
PERSON = "quang.nd@stnmt.hatinh.example.vn"  # Nguyễn Đình Quang, Sở Tài nguyên và Môi trường, Hà Tĩnh
PRIVATE_JWK_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth"}


@dataclass(frozen=True)
class Idp:
    url: str
    provinces: dict[str, DevProvince]

    def issuer(self, province: str) -> str:
        return f"{self.url}/{province}"


@pytest.fixture(scope="module")
def idp() -> Iterator[Idp]:
    provinces = dev_provinces_from_config(load_directory(PROJECT_ROOT / "tenants"))
    app = create_dev_idp(provinces, [CLIENT, OTHER_CLIENT], base_url="http://127.0.0.1")
    with LiveServer(app) as server:
        dev_idp_of(app).base_url = server.url  # the port is known only now
        yield Idp(server.url, {p.code: p for p in provinces})


@pytest.fixture
def http(idp: Idp) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=idp.url, follow_redirects=False, timeout=5) as client:
        yield client


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class Request:
    """One authorization request's secrets, as a client keeps them between redirect and callback."""

    verifier: str = field(default_factory=lambda: secrets.token_urlsafe(48))
    state: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    nonce: str = field(default_factory=lambda: secrets.token_urlsafe(16))

    @property
    def challenge(self) -> str:
        return b64url(hashlib.sha256(self.verifier.encode()).digest())

    def params(self, **overrides: str | None) -> dict[str, str]:
        params: dict[str, str | None] = {
            "response_type": "code",
            "client_id": CLIENT.client_id,
            "redirect_uri": CALLBACK,
            "scope": "openid email profile agency",
            "state": self.state,
            "nonce": self.nonce,
            "code_challenge": self.challenge,
            "code_challenge_method": "S256",
            **overrides,
        }
        return {k: v for k, v in params.items() if v is not None}


@dataclass
class Form:
    action: str
    fields: dict[str, str] = field(default_factory=dict)
    buttons: list[tuple[str, str, str]] = field(default_factory=list)  # name, value, label


class Forms(HTMLParser):
    """The forms of a page: hidden fields and submit buttons, as a browser would post them."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self.scripts = 0
        self.inline_styles = 0
        self._button: list[str] | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.scripts += tag == "script"
        self.inline_styles += tag == "style" or "style" in a
        if tag == "form":
            assert a.get("method") == "post"
            self.forms.append(Form(a["action"]))
        elif tag == "input" and a.get("type") == "hidden":
            self.forms[-1].fields[a["name"]] = a["value"]
        elif tag == "button":
            self._button = [a.get("name", ""), a.get("value", ""), ""]

    def handle_data(self, data: str) -> None:
        if self._button is not None:
            self._button[2] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "button" and self._button is not None:
            name, value, label = self._button
            self.forms[-1].buttons.append((name, value, label.strip()))
            self._button = None

    def choosing(self, name: str, value: str) -> dict[str, str]:
        """The data the browser posts when the button `name=value` is pressed."""
        for form in self.forms:
            for button_name, button_value, _ in form.buttons:
                if (button_name, button_value) == (name, value):
                    return {**form.fields, name: value}
        raise AssertionError(f"no button {name}={value} on the page")


def callback_params(response: httpx.Response, callback: str = CALLBACK) -> dict[str, str]:
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert location.startswith(callback + "?")
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def sign_in(
    http: httpx.Client, request: Request, province: str = HA_TINH, email: str = PERSON, *, scope: str | None = None
) -> str:
    """Open the login page, press "Đăng nhập với tư cách …" for `email`: the authorization code."""
    page = http.get(f"/{province}/authorize", params=request.params(**({"scope": scope} if scope else {})))
    assert page.status_code == 200, page.text
    forms = Forms(page.text)
    form = forms.choosing("sub", email)
    assert forms.forms[0].action == f"/{province}/authorize"
    params = callback_params(http.post(f"/{province}/authorize", data=form))
    assert params["state"] == request.state
    return params["code"]


def redeem(
    http: httpx.Client,
    code: str,
    request: Request,
    province: str = HA_TINH,
    *,
    verifier: str | None = "",
    auth: tuple[str, str] | None = (CLIENT.client_id, CLIENT.client_secret),
    **extra: str,
) -> httpx.Response:
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK, **extra}
    if verifier is not None:
        data["code_verifier"] = verifier or request.verifier
    return http.post(f"/{province}/token", data=data, auth=auth)


def jwks_of(http: httpx.Client, province: str) -> KeySet:
    return KeySet.import_key_set(http.get(f"/{province}/jwks").json())


# --------------------------------------------------------------------------------------------------


def test_discovery_and_jwks(idp: Idp, http: httpx.Client) -> None:
    kids = set()
    for province in (HA_TINH, BRVT):
        iss = idp.issuer(province)
        response = http.get(f"/{province}/.well-known/openid-configuration")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/json")
        config = response.json()
        assert config["issuer"] == iss
        assert config["authorization_endpoint"] == f"{iss}/authorize"
        assert config["token_endpoint"] == f"{iss}/token"
        assert config["userinfo_endpoint"] == f"{iss}/userinfo"
        assert config["jwks_uri"] == f"{iss}/jwks"
        assert config["end_session_endpoint"] == f"{iss}/end_session"
        assert config["response_types_supported"] == ["code"]
        assert config["subject_types_supported"] == ["public"]
        assert config["id_token_signing_alg_values_supported"] == ["RS256"]
        assert config["code_challenge_methods_supported"] == ["S256"]
        assert config["token_endpoint_auth_methods_supported"] == ["client_secret_basic", "client_secret_post"]
        assert config["scopes_supported"] == ["openid", "email", "profile", "agency"]
        assert {"sub", "email", "name", "agency", "nonce"} <= set(config["claims_supported"])

        keys = http.get(config["jwks_uri"].removeprefix(idp.url)).json()["keys"]
        assert len(keys) == 1
        (key,) = keys
        assert key["kty"] == "RSA"
        assert key["alg"] == "RS256"
        assert key["use"] == "sig"
        assert key["kid"]
        assert {"n", "e"} <= key.keys()
        assert not PRIVATE_JWK_MEMBERS & key.keys()
        kids.add(key["kid"])
    assert len(kids) == 2  # one key per province

    assert http.get("/quang-tri/.well-known/openid-configuration").status_code == 404
    assert http.get("/quang-tri/jwks").status_code == 404
    assert http.get("/quang-tri/authorize", params=Request().params()).status_code == 404


def test_security_headers(http: httpx.Client) -> None:
    for response in (http.get(f"/{HA_TINH}/authorize", params=Request().params()), http.get("/no/such/path")):
        csp = response.headers["content-security-policy"]
        assert "default-src 'self'" in csp
        assert "script-src 'none'" in csp
        assert "frame-ancestors 'none'" in csp
        # The login forms end with a redirect to the client: form-action must allow its origin.
        assert "form-action 'self' http://127.0.0.1:8000 http://127.0.0.1:9000" in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"
    css = http.get("/_static/devidp.css")
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")


def test_code_flow_gives_a_valid_rs256_id_token(idp: Idp, http: httpx.Client) -> None:
    request = Request()
    code = sign_in(http, request)
    response = redeem(http, code, request)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 300
    assert body["access_token"]

    token = jwt.decode(body["id_token"], jwks_of(http, HA_TINH), algorithms=["RS256"])
    assert token.header["alg"] == "RS256"
    assert token.header["kid"] == http.get(f"/{HA_TINH}/jwks").json()["keys"][0]["kid"]
    claims = token.claims
    jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": idp.issuer(HA_TINH)},
        aud={"essential": True, "value": CLIENT.client_id},
        sub={"essential": True, "value": PERSON},
        nonce={"essential": True, "value": request.nonce},
        exp={"essential": True},
        iat={"essential": True},
    ).validate(claims)
    assert claims["azp"] == CLIENT.client_id
    assert claims["exp"] == claims["iat"] + 300
    assert claims["iat"] - 5 <= claims["auth_time"] <= claims["iat"]
    assert claims["email"] == PERSON
    assert claims["email_verified"] is True
    assert claims["name"] == "Nguyễn Đình Quang"
    assert claims["agency"] == "so-tai-nguyen-moi-truong"
    at_hash = b64url(hashlib.sha256(body["access_token"].encode()).digest()[:16])
    assert claims["at_hash"] == at_hash

    info = http.get(f"/{HA_TINH}/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert info.status_code == 200
    assert info.json() == {
        "sub": PERSON,
        "email": PERSON,
        "email_verified": True,
        "name": "Nguyễn Đình Quang",
        "agency": "so-tai-nguyen-moi-truong",
    }
    # An access token belongs to its issuer, and a made-up one is nobody's.
    assert http.get(f"/{BRVT}/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"}).status_code == 401
    assert http.get(f"/{HA_TINH}/userinfo", headers={"Authorization": "Bearer nope"}).status_code == 401


@pytest.mark.parametrize(
    ("scope", "released"),
    [
        ("openid", set()),
        ("openid email", {"email", "email_verified"}),
        ("openid profile", {"name"}),
        ("openid email profile", {"email", "email_verified", "name"}),
        ("openid agency", {"agency"}),
    ],
)
def test_a_claim_is_released_only_under_the_scope_that_asks_for_it(
    http: httpx.Client, scope: str, released: set[str]
) -> None:
    request = Request()
    code = sign_in(http, request, scope=scope)
    body = redeem(http, code, request).json()
    claims = jwt.decode(body["id_token"], jwks_of(http, HA_TINH), algorithms=["RS256"]).claims
    person = {"email", "email_verified", "name", "agency"}
    assert person & claims.keys() == released
    info = http.get(f"/{HA_TINH}/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"}).json()
    assert info.keys() == {"sub"} | released


def test_client_secret_post_and_the_iss_of_the_authorization_response(idp: Idp, http: httpx.Client) -> None:
    request = Request()
    page = http.get(f"/{HA_TINH}/authorize", params=request.params())
    response = http.post(f"/{HA_TINH}/authorize", data=Forms(page.text).choosing("sub", PERSON))
    assert callback_params(response)["iss"] == idp.issuer(HA_TINH)  # RFC 9207: mix-up defence
    code = callback_params(response)["code"]
    token = redeem(http, code, request, auth=None, client_id=CLIENT.client_id, client_secret=CLIENT.client_secret)
    assert token.status_code == 200, token.text


@pytest.mark.parametrize("encode", [pytest.param(True, id="rfc6749-form-encoded"), pytest.param(False, id="raw")])
def test_http_basic_credentials_encoded_or_not(http: httpx.Client, encode: bool) -> None:
    request = Request()
    callback = OTHER_CLIENT.redirect_uris[0]
    params = request.params(client_id=OTHER_CLIENT.client_id, redirect_uri=callback)
    page = Forms(http.get(f"/{HA_TINH}/authorize", params=params).text)
    code = callback_params(http.post(f"/{HA_TINH}/authorize", data=page.choosing("sub", PERSON)), callback)["code"]
    client_id, secret = OTHER_CLIENT.client_id, OTHER_CLIENT.client_secret
    credentials = f"{quote_plus(client_id)}:{quote_plus(secret)}" if encode else f"{client_id}:{secret}"
    response = http.post(
        f"/{HA_TINH}/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": callback},
        headers={"Authorization": "Basic " + base64.b64encode(credentials.encode()).decode()},
    )
    assert response.status_code == 400  # authenticated; only the verifier is missing
    assert response.json()["error"] == "invalid_grant"


def test_login_page_lists_the_demo_people_of_that_province_only(idp: Idp, http: httpx.Client) -> None:
    page = http.get(f"/{HA_TINH}/authorize", params=Request().params(login_hint=PERSON))
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    html = squash(page.text)
    assert "Nhà cung cấp định danh phát triển — Tỉnh Hà Tĩnh" in html
    assert "chỉ dùng khi phát triển" in html.lower()
    forms = Forms(html)
    assert forms.scripts == 0
    assert forms.inline_styles == 0

    people = idp.provinces[HA_TINH].people
    assert people
    offered = {(value, form.fields.get("agency")) for form in forms.forms for name, value, _ in form.buttons if name}
    assert {(p.sub, p.tenant_code) for p in people} | {("deny", None)} == offered
    for person in people:
        assert f"Đăng nhập với tư cách {person.name}" in html
        assert person.email in html
        assert person.tenant_name in html
    for other in idp.provinces[BRVT].people:
        assert other.email not in html
        assert other.name not in html
    assert "Quản trị sở" in html
    assert "Đầu mối CCHC" in html
    assert "Thẩm định viên (Sở Nội vụ)" in html
    assert ("action", "deny", "Từ chối") in [b for f in forms.forms for b in f.buttons]
    # login_hint: that person is highlighted and their button has the focus.
    assert f'<button type="submit" name="sub" value="{PERSON}" autofocus>' in html
    assert html.count("autofocus") == 1
    # Every authorize parameter travels in the forms.
    assert forms.forms[0].fields["code_challenge_method"] == "S256"
    assert forms.forms[0].fields["login_hint"] == PERSON


def test_deny_and_unknown_person(http: httpx.Client) -> None:
    request = Request()
    page = Forms(http.get(f"/{HA_TINH}/authorize", params=request.params()).text)
    denied = callback_params(http.post(f"/{HA_TINH}/authorize", data=page.choosing("action", "deny")))
    assert denied["error"] == "access_denied"
    assert denied["state"] == request.state
    assert "code" not in denied

    for sub in ("tung.ht@snv.brvt.example.vn", "nobody@example.vn"):  # another province's person, or no one
        form = {**page.choosing("sub", PERSON), "sub": sub, "agency": "so-noi-vu"}
        response = http.post(f"/{HA_TINH}/authorize", data=form)
        assert response.status_code == 400
        assert "location" not in response.headers
    # Hidden fields are checked again on the POST: no code for a tampered request.
    tampered = {**page.choosing("sub", PERSON), "code_challenge_method": "plain"}
    assert callback_params(http.post(f"/{HA_TINH}/authorize", data=tampered))["error"] == "invalid_request"


@pytest.mark.parametrize(
    "verifier",
    [
        pytest.param("x" * 43, id="wrong-verifier"),
        pytest.param(None, id="missing-verifier"),
        pytest.param("short", id="malformed-verifier"),
    ],
)
def test_pkce_is_enforced_at_the_token_endpoint(http: httpx.Client, verifier: str | None) -> None:
    request = Request()
    code = sign_in(http, request)
    response = redeem(http, code, request, verifier=verifier)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert response.json()["error_description"] == "PKCE verification failed"
    # The code was spent on that attempt: the right verifier cannot use it afterwards.
    assert redeem(http, code, request).json()["error"] == "invalid_grant"


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        pytest.param({"code_challenge_method": "plain"}, "invalid_request", id="plain"),
        pytest.param({"code_challenge_method": None}, "invalid_request", id="no-method"),
        pytest.param({"code_challenge": None}, "invalid_request", id="no-challenge"),
        pytest.param({"code_challenge": "too-short"}, "invalid_request", id="bad-challenge"),
        pytest.param({"nonce": None}, "invalid_request", id="no-nonce"),
        pytest.param({"scope": "email profile"}, "invalid_scope", id="no-openid"),
        pytest.param({"response_type": "token"}, "unsupported_response_type", id="implicit"),
        pytest.param({"prompt": "none"}, "login_required", id="prompt-none"),
    ],
)
def test_bad_authorization_requests_go_back_with_an_error(
    http: httpx.Client, overrides: dict[str, str | None], error: str
) -> None:
    request = Request()
    params = callback_params(http.get(f"/{HA_TINH}/authorize", params=request.params(**overrides)))
    assert params["error"] == error
    assert params["state"] == request.state
    assert "code" not in params


def test_missing_state_goes_back_with_an_error_and_no_state(http: httpx.Client) -> None:
    params = callback_params(http.get(f"/{HA_TINH}/authorize", params=Request().params(state=None)))
    assert params["error"] == "invalid_request"
    assert "state" not in params


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"redirect_uri": "https://attacker.example/cb"}, id="unregistered-uri"),
        pytest.param({"redirect_uri": CALLBACK + "/"}, id="not-exactly-the-registered-uri"),
        pytest.param({"redirect_uri": OTHER_CLIENT.redirect_uris[0]}, id="another-clients-uri"),
        pytest.param({"redirect_uri": None}, id="no-uri"),
        pytest.param({"client_id": "unknown"}, id="unknown-client"),
        pytest.param({"client_id": "unknown", "code_challenge_method": "plain"}, id="unknown-client-and-plain"),
    ],
)
def test_unregistered_client_or_redirect_uri_is_an_error_page_never_a_redirect(
    http: httpx.Client, overrides: dict[str, str | None]
) -> None:
    response = http.get(f"/{HA_TINH}/authorize", params=Request().params(**overrides))
    assert response.status_code == 400
    assert "location" not in response.headers
    assert response.headers["content-type"].startswith("text/html")
    assert "không hợp lệ" in response.text or "không khớp" in response.text


def test_replayed_code_is_refused_and_its_tokens_revoked(http: httpx.Client) -> None:
    request = Request()
    code = sign_in(http, request)
    first = redeem(http, code, request)
    assert first.status_code == 200
    bearer = {"Authorization": f"Bearer {first.json()['access_token']}"}
    assert http.get(f"/{HA_TINH}/userinfo", headers=bearer).status_code == 200

    replay = redeem(http, code, request)
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    assert http.get(f"/{HA_TINH}/userinfo", headers=bearer).status_code == 401


def test_expired_code_is_refused(http: httpx.Client, monkeypatch: pytest.MonkeyPatch) -> None:
    request = Request()
    code = sign_in(http, request)
    issued = devidp.now()
    monkeypatch.setattr(devidp, "now", lambda: issued + 61)
    response = redeem(http, code, request)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_code_is_bound_to_its_client_redirect_uri_and_issuer(http: httpx.Client) -> None:
    request = Request()
    code = sign_in(http, request)
    other = redeem(http, code, request, auth=(OTHER_CLIENT.client_id, OTHER_CLIENT.client_secret))
    assert other.json()["error"] == "invalid_grant"
    assert redeem(http, code, request, BRVT).json()["error"] == "invalid_grant"
    assert redeem(http, code, request, redirect_uri=CALLBACK + "?x=1").status_code == 400  # spends it
    assert redeem(http, code, request).json()["error"] == "invalid_grant"


@pytest.mark.parametrize(
    ("auth", "data"),
    [
        pytest.param((CLIENT.client_id, "wrong"), {}, id="basic-wrong-secret"),
        pytest.param(None, {"client_id": CLIENT.client_id, "client_secret": "wrong"}, id="post-wrong-secret"),
        pytest.param(None, {"client_id": CLIENT.client_id}, id="no-secret"),
        pytest.param(("unknown", CLIENT.client_secret), {}, id="unknown-client"),
    ],
)
def test_wrong_client_credentials_are_401(
    http: httpx.Client, auth: tuple[str, str] | None, data: dict[str, str]
) -> None:
    request = Request()
    code = sign_in(http, request)
    response = redeem(http, code, request, auth=auth, **data)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response.headers["cache-control"] == "no-store"
    if auth is not None:
        assert response.headers["www-authenticate"].startswith("Basic ")
    # The code was not touched: the real client still gets its tokens.
    assert redeem(http, code, request).status_code == 200


def test_id_token_of_one_province_does_not_verify_with_another_provinces_jwks(http: httpx.Client) -> None:
    request = Request()
    id_token = redeem(http, sign_in(http, request), request).json()["id_token"]
    assert jwt.decode(id_token, jwks_of(http, HA_TINH), algorithms=["RS256"]).claims["sub"] == PERSON

    other_keys = jwks_of(http, BRVT)
    with pytest.raises(JoseError):  # no key with that kid
        jwt.decode(id_token, other_keys, algorithms=["RS256"])
    (other_key,) = other_keys.keys
    with pytest.raises(BadSignatureError):  # and the other key, forced, does not verify it
        jwt.decode(id_token, other_key, algorithms=["RS256"])


def test_province_b_signs_in_its_own_people(idp: Idp, http: httpx.Client) -> None:
    request = Request()
    email = "tam.mtt@snv.brvt.example.vn"
    id_token = redeem(http, sign_in(http, request, BRVT, email), request, BRVT).json()["id_token"]
    claims = jwt.decode(id_token, jwks_of(http, BRVT), algorithms=["RS256"]).claims
    assert (claims["iss"], claims["sub"], claims["agency"]) == (idp.issuer(BRVT), email, "so-noi-vu")
    with pytest.raises(AssertionError, match="no button"):  # a Hà Tĩnh person is not on Bà Rịa's page
        sign_in(http, Request(), BRVT, PERSON)


def test_end_session_redirects_only_to_registered_uris(http: httpx.Client) -> None:
    request = Request()
    id_token = redeem(http, sign_in(http, request), request).json()["id_token"]

    back = http.get(
        f"/{HA_TINH}/end_session",
        params={"id_token_hint": id_token, "post_logout_redirect_uri": AFTER_LOGOUT, "state": "s1"},
    )
    assert back.status_code == 302
    assert back.headers["location"] == AFTER_LOGOUT + "?state=s1"
    by_client_id = http.get(
        f"/{HA_TINH}/end_session", params={"client_id": CLIENT.client_id, "post_logout_redirect_uri": AFTER_LOGOUT}
    )
    assert by_client_id.status_code == 302
    assert by_client_id.headers["location"] == AFTER_LOGOUT

    refused: list[dict[str, Any]] = [
        {"id_token_hint": id_token, "post_logout_redirect_uri": "https://attacker.example/"},
        {"id_token_hint": id_token, "post_logout_redirect_uri": OTHER_CLIENT.post_logout_redirect_uris[0]},
        {"post_logout_redirect_uri": AFTER_LOGOUT},  # no client named
        {"id_token_hint": id_token, "client_id": OTHER_CLIENT.client_id, "post_logout_redirect_uri": AFTER_LOGOUT},
        {"id_token_hint": id_token[:-4] + "AAAA", "post_logout_redirect_uri": AFTER_LOGOUT},  # forged
        {"id_token_hint": id_token},
    ]
    for params in refused:
        page = http.get(f"/{HA_TINH}/end_session", params=params)
        assert page.status_code == 200, params
        assert "location" not in page.headers
        assert "Bạn đã đăng xuất" in page.text
    # Hà Tĩnh's token is no hint at Bà Rịa – Vũng Tàu.
    elsewhere = http.get(
        f"/{BRVT}/end_session", params={"id_token_hint": id_token, "post_logout_redirect_uri": AFTER_LOGOUT}
    )
    assert elsewhere.status_code == 200
    assert "location" not in elsewhere.headers


def test_dev_provinces_from_config_merges_roles_per_tenant() -> None:
    loaded = load_directory(PROJECT_ROOT / "tenants")
    provinces = {p.code: p for p in dev_provinces_from_config(loaded)}
    assert set(provinces) == {HA_TINH, BRVT, "ho-chi-minh"}
    assert provinces[HA_TINH].name == "Tỉnh Hà Tĩnh"
    for item in loaded:
        expected = {(person.email, tenant.code) for tenant in item.config.tenants for person in tenant.demo_people}
        people = provinces[item.config.province.code].people
        assert {(p.sub, p.tenant_code) for p in people} == expected
        assert all(p.sub == p.email for p in people)
    quang = next(p for p in provinces[HA_TINH].people if p.sub == PERSON)
    assert quang == DevPerson(
        sub=PERSON,
        email=PERSON,
        name="Nguyễn Đình Quang",
        tenant_code="so-tai-nguyen-moi-truong",
        tenant_name="Sở Tài nguyên và Môi trường",
        role="tenant_admin",
    )


def test_stores_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    store: devidp.ExpiringStore[int] = devidp.ExpiringStore(3)
    for i in range(5):
        store.add(str(i), i, devidp.now() + 60)
    assert len(store) == 3
    assert store.get("0") is None
    assert store.get("4") == 4
    later = devidp.now() + 61
    monkeypatch.setattr(devidp, "now", lambda: later)
    assert store.get("4") is None
    store.add("5", 5, later + 60)
    assert len(store) == 1  # the expired ones are swept on insertion


def test_dev_idp_server_serves_in_a_thread() -> None:
    app = create_dev_idp([DevProvince("thu", "Tỉnh Thử", [])], [CLIENT], base_url="http://127.0.0.1")
    with DevIdPServer(app, port=0) as server:
        dev_idp_of(app).base_url = server.url
        config = httpx.get(f"{server.url}/thu/.well-known/openid-configuration", timeout=5).json()
        assert config["issuer"] == f"{server.url}/thu"
        page = httpx.get(f"{server.url}/thu/authorize", params=Request().params(), timeout=5)
        assert "chưa có người dùng mẫu" in page.text
    assert not server.thread.is_alive()
