"""The development provider's data: the people, provinces and clients it knows, its limits, and the bounded
in-memory stores of codes and access tokens that expire (DEVELOPMENT AND TESTS ONLY)."""

from __future__ import annotations

import base64
import hashlib
import re
import threading
import time
from dataclasses import dataclass
from typing import Generic, TypeVar

from joserfc.jwk import RSAKey

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
class Code:
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
class AccessToken:
    province: str
    client_id: str
    person: DevPerson
    scope: str


@dataclass(frozen=True)
class Issuer:
    province: DevProvince
    key: RSAKey
    people: dict[tuple[str, str], DevPerson]  # (sub, tenant_code)


@dataclass(frozen=True)
class AuthRequest:
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


class ExpiringStore(Generic[V]):
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


def digest(secret: str) -> str:
    """Stores are keyed by a hash of the code or token, never the bearer value itself."""
    return hashlib.sha256(secret.encode()).hexdigest()


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")
