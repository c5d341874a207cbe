"""The tenant home, kept rendered between changes (issue 20 item 5): a page built once per tenant, person and day,
served again until PostgreSQL says something it shows changed.

The key holds the versions the database bumps on every write the home shows (migration 0034): the tenant's
`home_revisions` row, bumped for every table of the tenant's own (whoever writes it: the policies make every
written row the tenant's the statement runs as), and `home_config_revision`, bumped by every write to what the
provinces declare (provinces, tenants, lineage, ranking groups, result classes, criteria) and by a write into an
archive. Statement triggers note them and the writer's commit writes them (migration 0035: in one order, so no
two writers deadlock on them), in the same transaction as the rows they count: no reader sees the rows without the
new version or the version without the rows. Both are read with the request's session, in its one statement
(`session_home`, migration 0036: `HomeVersions`), before anything else of the page, so a page stored under them is
never older than they say; the page's own build keys on the `home_config_revision` read with its tenant and province
(`TenantContext.config_revision`). Beside them: the person and what they may do here (the waiting work and the
links depend on them), Vietnam's day (deadlines, "quá hạn", the year being assessed), full page or htmx fragment.

Never cached: a page with a flash message waiting (it shows once), an archive (its banner and years come from
its successors), a Sở Nội vụ inspector's home (its queue reads the whole province's submissions), an API token's
request, a tenant the database does not let the session read.

A kept page is served by the home's route middleware (`serve_kept_home`), after the session's one statement and
before the tenant's dependency and the handler run: no other round trip, no transaction. It goes through every
middleware of the app as any answer does (request log and id, security headers, metrics, CSRF, flash messages'
cookie); the route middleware checks what the tenant's dependency would (the route's declared right in the
tenant, `_check_access`) and the database's `app_tenant()` besides. The CSRF token, one per session, is kept out of
the stored page (a marker stands for it); each session's bytes on the wire, compressed as `compression_middleware`
would compress them for the client's `Accept-Encoding`, are kept beside the page and sent as they are.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from litestar import Response
from litestar.enums import MediaType
from litestar.response.base import ASGIResponse
from litestar.types import ASGIApp, Receive, Scope, Send
from litestar.utils.scope.state import ScopeState

from backend.auth.csrf import csrf_cookie
from backend.auth.permissions import Permission, declared_access
from backend.auth.principal import SCOPE_KEY, Principal
from backend.auth.sessions import HOME_VERSIONS, HomeVersions
from backend.clock import vietnam_today
from backend.settings import Settings
from backend.web.compression import chosen_encoding, compression_config, encoded

# About 12 KB of HTML a page and ~3 KB a session's compressed answer: 2,000 pages are ~25-35 MB a process, enough
# for every person who opened a home in the last hours of a large province's working day (a page nobody asks for
# again is evicted first).
HOME_CACHE_SIZE = 2000
ANSWERS_PER_PAGE = 8  # a person's sessions (browsers) × content-codings; the oldest goes first
_CSRF = b"<!--parboard:csrf-->"
_COMPRESSION = compression_config()
# The answer's headers, as `page` and `compression_middleware` make them: one URL serves the page and its htmx
# fragment; a compressed answer varies with the `Accept-Encoding` too (written as Litestar's compression adds it).
_HEADERS: dict[str | None, dict[str, str]] = {
    None: {"Vary": "HX-Request"},
    **{coding: {"Vary": "HX-Request,Accept-Encoding", "Content-Encoding": coding} for coding in ("br", "gzip")},
}


@dataclass
class KeptHome:
    html: bytes  # the page, its CSRF token replaced by the marker
    # (CSRF token, content-coding) → the bytes on the wire and their content-coding (None: sent as they are)
    answers: dict[tuple[str, str | None], tuple[bytes, str | None]] = field(default_factory=dict)


_homes: OrderedDict[tuple[Any, ...], KeptHome] = OrderedDict()


def home_key(
    scope: Scope,
    principal: Principal,
    tenant_id: uuid.UUID,
    *,
    archived: bool,
    config_revision: int | None,
    settings: Settings,
    today: date,
) -> tuple[Any, ...] | None:
    """The page's key when this request's home may be served from, or stored in, the cache (see the module's
    docstring); None when it may not. `config_revision`: the version what the page shows of the tenant and its
    province was read under."""
    versions = scope.get(HOME_VERSIONS)
    session = scope.get("session")
    if not (
        settings.app.home_cache
        and isinstance(versions, HomeVersions)
        and versions.tenant_id == tenant_id
        and versions.readable
        and principal.user_id is not None
        and principal.token_id is None
        and not archived
        and not (isinstance(session, dict) and session.get("_messages"))
        and not principal.can(Permission.REVIEW_APPRAISE, tenant_id)
        and _csrf_token(scope)
    ):
        return None
    fragment = any(name == b"hx-request" and value == b"true" for name, value in scope["headers"])
    return (
        tenant_id,
        versions.revision,
        config_revision,
        principal.user_id,
        principal.display_name,
        principal.roles_in(tenant_id),
        principal.units.get(tenant_id),
        today,
        fragment,
    )


def store_home(scope: Scope, key: tuple[Any, ...], body: bytes) -> None:
    """Keep a rendered home under `key`, its CSRF token replaced by the marker; the least recently served goes."""
    token = _csrf_token(scope).encode()
    if not token:
        return
    _homes[key] = KeptHome(body.replace(token, _CSRF))
    _homes.move_to_end(key)
    while len(_homes) > HOME_CACHE_SIZE:
        _homes.popitem(last=False)


def kept_home(scope: Scope, key: tuple[Any, ...]) -> tuple[bytes, dict[str, str]] | None:
    """The kept page as this request's answer, its body on the wire (this session's CSRF token, the client's
    content-coding) and its headers; None when no page is kept under `key`."""
    page = _homes.get(key)
    if page is None:
        return None
    _homes.move_to_end(key)
    token = _csrf_token(scope)
    accepted = next((value.decode("latin-1") for name, value in scope["headers"] if name == b"accept-encoding"), "")
    answer_key = (token, chosen_encoding(accepted, _COMPRESSION))
    answer = page.answers.get(answer_key)
    if answer is None:
        answer = encoded(page.html.replace(_CSRF, token.encode()), accepted, _COMPRESSION)
        page.answers[answer_key] = answer
        while len(page.answers) > ANSWERS_PER_PAGE:
            del page.answers[next(iter(page.answers))]
    body, coding = answer
    return body, _HEADERS[coding]


def kept_home_response(scope: Scope, key: tuple[Any, ...]) -> Response[bytes] | None:
    """`kept_home` as the handler's answer."""
    kept = kept_home(scope, key)
    if kept is None:
        return None
    body, headers = kept
    return Response(content=body, media_type=MediaType.HTML, headers=headers)


def home_response(body: bytes) -> Response[bytes]:
    """A home not kept, as `page` makes it: HTML, the whole page or its htmx fragment (`Vary: HX-Request`), compressed
    by `compression_middleware`."""
    return Response(content=body, media_type=MediaType.HTML, headers=_HEADERS[None])


def serve_kept_home(app: ASGIApp) -> ASGIApp:
    """Route middleware of the tenant home: a kept page answers at once, with the versions and the person the
    session's statement read; anything else goes on to the tenant's dependency and the handler."""

    async def serving(scope: Scope, receive: Receive, send: Send) -> None:
        kept = _kept(scope)
        if kept is None:
            await app(scope, receive, send)
            return
        body, headers = kept
        await ASGIResponse(body=body, media_type=MediaType.HTML, headers=headers)(scope, receive, send)

    return serving


def _kept(scope: Scope) -> tuple[bytes, dict[str, str]] | None:
    versions = scope.get(HOME_VERSIONS)
    principal = scope.get(SCOPE_KEY)
    if not isinstance(versions, HomeVersions) or not isinstance(principal, Principal):
        return None
    # what the tenant's dependency checks first (`_check_access`): the route's declared right in this tenant
    access = declared_access(scope["route_handler"])
    if not isinstance(access, Permission) or not principal.can(access, versions.tenant_id):
        return None
    key = home_key(
        scope,
        principal,
        versions.tenant_id,
        archived=versions.archived,
        config_revision=versions.config_revision,
        settings=scope["litestar_app"].state["settings"],
        today=vietnam_today(),
    )
    return kept_home(scope, key) if key is not None else None


def _csrf_token(scope: Scope) -> str:
    """The page's CSRF token: Litestar's middleware's, or before it runs (the route middleware runs first) the
    cookie it takes it from, the session's own (`bind_csrf_to_session`)."""
    token = ScopeState.from_scope(scope).csrf_token
    return token if isinstance(token, str) else csrf_cookie(scope)
