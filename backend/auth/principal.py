"""Who is asking: the person behind a request, and their roles per tenant."""

from __future__ import annotations

import ipaddress
import uuid
from dataclasses import dataclass, field

from litestar.connection import ASGIConnection

from backend.auth.permissions import Permission, allows
from backend.db.models import Role
from backend.settings import Settings

SCOPE_KEY = "parboard_principal"


@dataclass(frozen=True)
class Principal:
    user_id: uuid.UUID | None
    display_name: str
    roles: dict[uuid.UUID, frozenset[Role]] = field(default_factory=dict)
    is_platform_admin: bool = False
    # The foundation's demo shortcut: a read-only visitor of every tenant, on loopback in dev mode only.
    is_dev_visitor: bool = False

    def roles_in(self, tenant_id: uuid.UUID) -> frozenset[Role]:
        if self.is_platform_admin:
            return frozenset({Role.PLATFORM_ADMIN})
        if self.is_dev_visitor:
            return frozenset({Role.VIEWER})
        return self.roles.get(tenant_id, frozenset())

    def can(self, permission: Permission, tenant_id: uuid.UUID) -> bool:
        return allows(self.roles_in(tenant_id), permission)


DEV_VISITOR = Principal(user_id=None, display_name="Khách (chế độ phát triển)", is_dev_visitor=True)


def is_loopback(connection: ASGIConnection) -> bool:  # type: ignore[type-arg]
    client = connection.client
    if client is None:
        return False
    try:
        return ipaddress.ip_address(client.host).is_loopback
    except ValueError:
        return False


def resolve_principal(connection: ASGIConnection, settings: Settings) -> Principal | None:  # type: ignore[type-arg]
    """The person behind `connection`, or None for an anonymous visitor."""
    if settings.app.dev_login and settings.app.env == "development" and is_loopback(connection):
        return DEV_VISITOR
    return None


def current_principal(connection: ASGIConnection) -> Principal | None:  # type: ignore[type-arg]
    principal = connection.scope.get(SCOPE_KEY)
    return principal if isinstance(principal, Principal) else None
