"""The development provider's state: one issuer per province with its own RSA signing key (random `kid`, made at
startup), its clients, codes and access tokens (DEVELOPMENT AND TESTS ONLY)."""

from __future__ import annotations

import secrets
from typing import cast
from urllib.parse import urlsplit

from joserfc.jwk import RSAKey
from litestar import Litestar

from backend.devidp.stores import (
    KEY_SIZE,
    MAX_CODES,
    MAX_TOKENS,
    PROVINCE_CODE,
    STATE_KEY,
    AccessToken,
    Code,
    DevClient,
    DevProvince,
    ExpiringStore,
    Issuer,
)


class DevIdentityProvider:
    """The provider's state: issuers and their keys, clients, codes and access tokens (all in memory)."""

    def __init__(self, provinces: list[DevProvince], clients: list[DevClient], *, base_url: str) -> None:
        self._issuers: dict[str, Issuer] = {}
        for province in provinces:
            if not PROVINCE_CODE.fullmatch(province.code):
                raise ValueError(f"province code {province.code!r} is not a URL-safe slug")
            if province.code in self._issuers:
                raise ValueError(f"province {province.code!r} given twice")
            key = RSAKey.generate_key(
                KEY_SIZE, parameters={"kid": secrets.token_urlsafe(12), "use": "sig", "alg": "RS256"}
            )
            people = {(p.sub, p.tenant_code): p for p in province.people}
            self._issuers[province.code] = Issuer(province, key, people)
        self._clients: dict[str, DevClient] = {}
        for client in clients:
            self.register_client(client)
        self.base_url = base_url
        self.codes: ExpiringStore[Code] = ExpiringStore(MAX_CODES)
        self.access_tokens: ExpiringStore[AccessToken] = ExpiringStore(MAX_TOKENS)

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

    def issuer(self, province_code: str) -> Issuer | None:
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


def dev_idp_of(app: Litestar) -> DevIdentityProvider:
    """The provider behind an app made by `create_dev_idp` (to set its base_url or register a client)."""
    return cast(DevIdentityProvider, app.state[STATE_KEY])
