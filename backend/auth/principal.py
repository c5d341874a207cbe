"""Who is asking: the person behind a request, and their roles per tenant."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from litestar.connection import ASGIConnection

from backend.auth.permissions import ARCHIVE_PERMISSIONS, TOKEN_SCOPE_PERMISSION, Permission, TokenScope, allows
from backend.db.models import Role

SCOPE_KEY = "parboard_principal"


@dataclass(frozen=True)
class TokenRate:
    """An API token's rate this minute, counted by the database for every process (`api_token_use`): the request's
    place in the minute, the limit (None: none), and when the minute ends."""

    count: int
    limit: int | None
    resets_at: datetime

    @property
    def exceeded(self) -> bool:
        return self.limit is not None and self.count > self.limit


@dataclass(frozen=True)
class Principal:
    user_id: uuid.UUID | None
    display_name: str
    email: str = ""
    roles: dict[uuid.UUID, frozenset[Role]] = field(default_factory=dict)
    # The units a person belongs to, per tenant (unit staff act on their unit's tasks).
    units: dict[uuid.UUID, frozenset[uuid.UUID]] = field(default_factory=dict)
    is_platform_admin: bool = False
    session_id: uuid.UUID | None = None
    province_id: uuid.UUID | None = None
    # An API token instead of a session (`backend.auth.tokens`): its id, its one tenant (a province token's is the
    # province's Sở Nội vụ), its scopes, and the raw token the database checks like a session cookie.
    token_id: uuid.UUID | None = None
    token_tenant_id: uuid.UUID | None = None
    token_scopes: frozenset[TokenScope] | None = None
    credential: str = field(default="", repr=False)
    rate: TokenRate | None = None
    # Archived tenants of the request: only ARCHIVE_PERMISSIONS there, whatever the roles (set by the tenant context).
    read_only: frozenset[uuid.UUID] = frozenset()

    def roles_in(self, tenant_id: uuid.UUID) -> frozenset[Role]:
        if self.is_platform_admin:
            return frozenset({Role.PLATFORM_ADMIN})
        return self.roles.get(tenant_id, frozenset())

    @property
    def tenant_ids(self) -> frozenset[uuid.UUID]:
        return frozenset(self.roles)

    def can(self, permission: Permission, tenant_id: uuid.UUID) -> bool:
        if tenant_id in self.read_only and permission not in ARCHIVE_PERMISSIONS:
            return False
        if self.token_scopes is not None:  # a token has no roles: what its scopes grant, in its tenant
            return tenant_id == self.token_tenant_id and any(
                TOKEN_SCOPE_PERMISSION[scope] == permission for scope in self.token_scopes
            )
        return allows(self.roles_in(tenant_id), permission)


def current_principal(connection: ASGIConnection) -> Principal | None:  # type: ignore[type-arg]
    principal = connection.scope.get(SCOPE_KEY)
    return principal if isinstance(principal, Principal) else None
