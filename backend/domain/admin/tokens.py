"""API token pages: a tenant admin's tokens for their tenant, a province admin's for the province (in its Sở Nội
vụ). Create (the token is shown on the answer to the creation, once), list, revoke."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth import tokens
from backend.auth.permissions import PROVINCE_TOKENS_MANAGE, TENANT_TOKENS_MANAGE, Permission
from backend.db.models import TokenKind
from backend.domain.admin.province import home_affairs_only
from backend.domain.tenants.deps import TenantContext
from backend.web.flash import notice
from backend.web.templating import page

PATHS = {TokenKind.TENANT: "/quan-tri/ma-api", TokenKind.PROVINCE: "/quan-tri/tinh/ma-api"}


def _today() -> datetime:
    return datetime.now(tokens.VIETNAM)


async def _page(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    tenant: TenantContext,
    kind: TokenKind,
    *,
    errors: dict[str, str] | None = None,
    form: dict[str, Any] | None = None,
    created: str | None = None,
    status_code: int = 200,
) -> Template:
    response = page(
        request,
        "admin/tokens.html",
        block="content",
        ctx=tenant,
        section="tokens" if kind is TokenKind.TENANT else "province-tokens",
        kind=kind.value,
        action=f"{tenant.base_path}{PATHS[kind]}",
        scopes=[(s.value, tokens.SCOPE_LABELS[s]) for s in tokens.scopes_for(kind)],
        rows=await tokens.listed(db, tenant.tenant.id, kind),
        now=datetime.now(UTC),
        errors=errors or {},
        form=form or {},
        created=created,
        latest=tokens.latest_expiry(_today().date()),
    )
    response.status_code = status_code
    if created:  # the one answer that shows the token: kept by no cache
        response.headers["Cache-Control"] = "no-store"
    return response


async def _create(
    request: Request[Any, Any, Any], db: AsyncSession, tenant: TenantContext, kind: TokenKind
) -> Template:
    raw = await request.form()
    form = tokens.parse_form(raw, kind, _today().date())
    typed = {"ten": raw.get("ten") or "", "het-han": raw.get("het-han") or "", "quyen": raw.getall("quyen", [])}
    if form.errors:
        return await _page(request, db, tenant, kind, errors=form.errors, form=typed, status_code=422)
    user = tenant.principal.user_id
    if user is None:  # an API token never reaches these routes (no token scope); a person always has an id
        raise NotFoundException("Không tìm thấy người dùng")
    _, token = await tokens.create(db, tenant_id=tenant.tenant.id, kind=kind, form=form, created_by=user)
    return await _page(request, db, tenant, kind, created=token, status_code=201)


async def _revoke(
    request: Request[Any, Any, Any], db: AsyncSession, tenant: TenantContext, kind: TokenKind, token_id: uuid.UUID
) -> Redirect:
    user = tenant.principal.user_id
    if user is None:
        raise NotFoundException("Không tìm thấy người dùng")
    row = await tokens.revoke(db, tenant_id=tenant.tenant.id, kind=kind, token_id=token_id, by=user)
    if row is None:
        raise NotFoundException("Không tìm thấy mã API còn hiệu lực")
    notice(request, f"Đã thu hồi mã «{row.name}»: hệ thống dùng mã này sẽ bị từ chối từ bây giờ.")
    return Redirect(f"{tenant.base_path}{PATHS[kind]}", status_code=303)


def _controller(kind: TokenKind, access: Permission, names: str, doc: str) -> type[Controller]:
    """The token pages of one kind: the tenant's and the province's differ only by path, route names and access.
    `names` prefixes the route names ("admin:" + names + "tokens", ...)."""
    opt = {"access": access}

    def in_scope(tenant: TenantContext) -> TenantContext:
        return home_affairs_only(tenant) if kind is TokenKind.PROVINCE else tenant

    class TokensController(Controller):
        __doc__ = doc
        path = PATHS[kind]  # under the tenant router (`tenant_router`), which brings the tenant
        include_in_schema = False

        @get("/", name=f"admin:{names}tokens", opt=opt)
        async def listing(
            self,
            request: Request[Any, Any, Any],
            db_session: NamedDependency[AsyncSession],
            tenant: NamedDependency[TenantContext],
        ) -> Template:
            return await _page(request, db_session, in_scope(tenant), kind)

        @post("/", name=f"admin:{names}token-create", opt=opt, status_code=201)
        async def create(
            self,
            request: Request[Any, Any, Any],
            db_session: NamedDependency[AsyncSession],
            tenant: NamedDependency[TenantContext],
        ) -> Template:
            return await _create(request, db_session, in_scope(tenant), kind)

        @post("/{token_id:uuid}/thu-hoi", name=f"admin:{names}token-revoke", opt=opt, status_code=303)
        async def revoke(
            self,
            request: Request[Any, Any, Any],
            db_session: NamedDependency[AsyncSession],
            tenant: NamedDependency[TenantContext],
            token_id: FromPath[uuid.UUID],
        ) -> Redirect:
            return await _revoke(request, db_session, in_scope(tenant), kind, token_id)

    TokensController.__name__ = TokensController.__qualname__ = f"{kind.name.title()}TokensController"
    return TokensController


TenantTokensController = _controller(
    TokenKind.TENANT,
    TENANT_TOKENS_MANAGE,
    "",
    "A tenant admin's API tokens, for the tenant's own systems (evidence from the document system, results).",
)
ProvinceTokensController = _controller(
    TokenKind.PROVINCE,
    PROVINCE_TOKENS_MANAGE,
    "province-",
    "A province admin's API tokens, for the province's systems (its results portal, survey and index imports).",
)
