"""The tenant home, kept rendered between changes (issue 20 item 5): a page built once per tenant, person and day,
served again until PostgreSQL says something it shows changed.

The key holds the versions the database bumps on every write the home shows (migration 0034): the tenant's
`home_revisions` row, bumped for every table of the tenant's own (whoever writes it: the policies make every
written row the tenant's the statement runs as), and `home_config_revision`, bumped by every write to what the
provinces declare (provinces, tenants, lineage, ranking groups, result classes, criteria) and by a write into an
archive. Statement triggers note them and the writer's commit writes them (migration 0035: in one order, so no
two writers deadlock on them), in the same transaction as the rows they count: no reader sees the rows without the
new version or the version without the rows. The first is read before anything else of the page, the second in the
very statement that read the tenant and its province (`TenantContext.config_revision`), so a page stored under them
is never older than they say. Beside them: the person and what they may do here (the waiting work and the links
depend on them), Vietnam's day (deadlines, "quá hạn", the year being assessed), full page or htmx fragment.

Never cached: a page with a flash message waiting (it shows once), an archive (its banner and years come from
its successors), a Sở Nội vụ inspector's home (its queue reads the whole province's submissions), an API token's
request. The CSRF token, one per browser, is kept out of the stored bytes: a marker stands for it and each answer
puts its own token back.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from datetime import date
from typing import Any

from litestar import Request, Response
from litestar.enums import MediaType
from litestar.utils.scope.state import ScopeState
from sqlalchemy import Uuid, bindparam, text
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.permissions import Permission
from backend.domain.tenants.deps import TenantContext
from backend.settings import Settings

# About 12 KB of HTML a page: 2,000 pages are ~25 MB a process, enough for every person who opened a home in the
# last hours of a large province's working day (a page nobody asks for again is evicted first).
HOME_CACHE_SIZE = 2000
_CSRF = b"<!--parboard:csrf-->"

_homes: OrderedDict[tuple[Any, ...], bytes] = OrderedDict()
_REVISION = text("SELECT revision FROM home_revisions WHERE tenant_id = :tenant").bindparams(
    bindparam("tenant", type_=Uuid)
)


def cacheable(request: Request[Any, Any, Any], ctx: TenantContext, settings: Settings) -> bool:
    """Whether this request's home may be served from, or stored in, the cache (see the module's docstring)."""
    principal = ctx.principal
    session = request.scope.get("session")
    return (
        settings.app.home_cache
        and principal.user_id is not None
        and principal.token_id is None
        and not ctx.archived
        and not (isinstance(session, dict) and session.get("_messages"))
        and not ctx.can(Permission.REVIEW_APPRAISE)
        and bool(_csrf_token(request))
    )


async def home_key(
    db: AsyncSession, request: Request[Any, Any, Any], ctx: TenantContext, today: date
) -> tuple[Any, ...]:
    """The page's key: the database's versions (one statement), the person and their rights here, the day, the
    fragment."""
    revision = (await db.execute(_REVISION, {"tenant": ctx.tenant.id})).scalar_one_or_none()
    principal = ctx.principal
    person: uuid.UUID | None = principal.user_id
    return (
        ctx.tenant.id,
        revision,
        ctx.config_revision,
        person,
        principal.display_name,
        principal.roles_in(ctx.tenant.id),
        principal.units.get(ctx.tenant.id),
        today,
        request.headers.get("hx-request") == "true",
    )


def cached_home(request: Request[Any, Any, Any], key: tuple[Any, ...]) -> Response[bytes] | None:
    """The stored page with this request's CSRF token, or None."""
    body = _homes.get(key)
    if body is None:
        return None
    _homes.move_to_end(key)
    return home_response(body.replace(_CSRF, _csrf_token(request).encode()))


def store_home(request: Request[Any, Any, Any], key: tuple[Any, ...], body: bytes) -> None:
    """Keep a rendered home under `key`, its CSRF token replaced by the marker; the least recently served goes."""
    token = _csrf_token(request).encode()
    if not token:
        return
    _homes[key] = body.replace(token, _CSRF)
    _homes.move_to_end(key)
    while len(_homes) > HOME_CACHE_SIZE:
        _homes.popitem(last=False)


def home_response(body: bytes) -> Response[bytes]:
    """The home's answer, as `page` makes it: HTML, the whole page or its htmx fragment (`Vary: HX-Request`)."""
    return Response(content=body, media_type=MediaType.HTML, headers={"Vary": "HX-Request"})


def _csrf_token(request: Request[Any, Any, Any]) -> str:
    token = ScopeState.from_scope(request.scope).csrf_token
    return token if isinstance(token, str) else ""
