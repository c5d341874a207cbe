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

from collections.abc import Callable
from typing import TYPE_CHECKING

from litestar import Litestar
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from backend.domain.tenants.config import LoadedProvince
from backend.devidp.endpoints import (
    authorize_choice,
    authorize_page,
    discovery,
    end_session,
    index,
    jwks,
    stylesheet,
    token,
    userinfo,
)
from backend.devidp.keys import DevIdentityProvider
from backend.devidp.stores import STATE_KEY, DevClient, DevPerson, DevProvince


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
