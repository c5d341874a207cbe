"""The one permission matrix: which role may do what. Every route declares its access here.

A route handler declares `opt={"access": PUBLIC}` or `opt={"access": Permission.X}`; `access_guard`
refuses anything else (fail closed), and a test walks every registered route to prove each declares one.
Tenant-scoped permissions are checked against the person's roles in the tenant named by the URL.
"""

from __future__ import annotations

import enum
from typing import Final

from litestar.connection import ASGIConnection
from litestar.enums import HttpMethod
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.routes import BaseRoute, HTTPRoute

from backend.db.models import Role


class Public(enum.Enum):
    """Access that needs no tenant role: anyone, or anyone signed in."""

    PUBLIC = "public"
    SIGNED_IN = "signed_in"


PUBLIC: Final = Public.PUBLIC
SIGNED_IN: Final = Public.SIGNED_IN


class Permission(enum.StrEnum):
    TENANT_VIEW = "tenant.view"
    TENANT_MANAGE = "tenant.manage"  # members, roles, units of one department
    AUDIT_READ = "audit.read"
    ASSESSMENT_EDIT = "assessment.edit"
    ASSESSMENT_APPROVE = "assessment.approve"
    TASK_EDIT_OWN_UNIT = "task.edit_own_unit"
    TASK_EDIT_ANY = "task.edit_any"
    TASK_CONFIRM = "task.confirm"  # chờ xác nhận → hoàn thành
    EVIDENCE_UPLOAD = "evidence.upload"
    EVIDENCE_DELETE_ANY = "evidence.delete_any"  # anyone's file of the tenant (one's own upload needs no right)
    SUBMISSION_SUBMIT = "submission.submit"
    SUBMISSION_VERIFY = "submission.verify"  # check a package file: who submits it and who appraises it
    REVIEW_APPRAISE = "review.appraise"
    PROVINCE_MANAGE = "province.manage"
    EXTERNAL_SCORES_ENTER = "external.enter"  # survey parts and external indices, by the province's Sở Nội vụ
    PROVINCE_RESULTS = "province.results"  # ranks and heatmap across the province's departments
    PLATFORM_MANAGE = "platform.manage"


P = Permission
_READ = {P.TENANT_VIEW}
MATRIX: Final[dict[Role, frozenset[Permission]]] = {
    Role.VIEWER: frozenset(_READ),
    Role.STAFF: frozenset(_READ | {P.TASK_EDIT_OWN_UNIT, P.EVIDENCE_UPLOAD, P.ASSESSMENT_EDIT}),
    Role.UNIT_HEAD: frozenset(_READ | {P.TASK_EDIT_OWN_UNIT, P.EVIDENCE_UPLOAD, P.ASSESSMENT_EDIT}),
    Role.FOCAL_POINT: frozenset(
        _READ
        | {P.ASSESSMENT_EDIT, P.TASK_EDIT_ANY, P.TASK_EDIT_OWN_UNIT, P.TASK_CONFIRM, P.EVIDENCE_UPLOAD}
        | {P.SUBMISSION_SUBMIT, P.SUBMISSION_VERIFY, P.AUDIT_READ, P.EVIDENCE_DELETE_ANY}
    ),
    Role.LEADER: frozenset(
        _READ
        | {P.ASSESSMENT_APPROVE, P.TASK_CONFIRM, P.SUBMISSION_SUBMIT, P.SUBMISSION_VERIFY, P.AUDIT_READ}
        | {P.TASK_EDIT_ANY}
        | {P.TASK_EDIT_OWN_UNIT}
    ),
    Role.TENANT_ADMIN: frozenset(_READ | {P.TENANT_MANAGE, P.AUDIT_READ}),
    Role.PROVINCE_REVIEWER: frozenset(
        _READ | {P.REVIEW_APPRAISE, P.SUBMISSION_VERIFY, P.PROVINCE_RESULTS, P.EXTERNAL_SCORES_ENTER}
    ),
    Role.PROVINCE_ADMIN: frozenset(
        _READ | {P.PROVINCE_MANAGE, P.PROVINCE_RESULTS, P.AUDIT_READ, P.EXTERNAL_SCORES_ENTER}
    ),
    Role.PLATFORM_ADMIN: frozenset(Permission),
}

Access = Permission | Public

# What anyone may still do in an archived tenant (tenants/lineage.yaml): read. Every other permission is withheld
# there, so the pages show no form or button that would write (the writes themselves are refused with a 423).
ARCHIVE_PERMISSIONS: Final = frozenset({P.TENANT_VIEW, P.AUDIT_READ, P.PROVINCE_RESULTS})


class TokenScope(enum.StrEnum):
    """What an API token may be used for. A route that a token may call declares its scope beside its access
    (`opt={"access": Permission.X, "token_scope": TokenScope.Y}`); a route without one refuses every token."""

    RESULTS_READ = "results:read"
    EVIDENCE_READ = "evidence:read"
    EVIDENCE_UPLOAD = "evidence:upload"
    TASKS_READ = "tasks:read"
    PROVINCE_RESULTS_READ = "province-results:read"
    EXTERNAL_SCORES_WRITE = "external-scores:write"


S = TokenScope
# The permission each scope grants: a token's permissions are these, for its scopes only (intersected with what
# the route declares: a token passes a route when its scopes name the route's scope AND grant the route's access).
TOKEN_SCOPE_PERMISSION: Final[dict[TokenScope, Permission]] = {
    S.RESULTS_READ: P.TENANT_VIEW,
    S.EVIDENCE_READ: P.TENANT_VIEW,
    S.EVIDENCE_UPLOAD: P.EVIDENCE_UPLOAD,
    S.TASKS_READ: P.TENANT_VIEW,
    S.PROVINCE_RESULTS_READ: P.PROVINCE_RESULTS,
    S.EXTERNAL_SCORES_WRITE: P.EXTERNAL_SCORES_ENTER,
}
# A tenant admin's tokens serve their tenant; a province admin's (in the Sở Nội vụ) the province.
TENANT_TOKEN_SCOPES: Final = (S.RESULTS_READ, S.EVIDENCE_READ, S.EVIDENCE_UPLOAD, S.TASKS_READ)
PROVINCE_TOKEN_SCOPES: Final = (S.PROVINCE_RESULTS_READ, S.EXTERNAL_SCORES_WRITE)
# Who creates and revokes each kind of token.
TENANT_TOKENS_MANAGE: Final = P.TENANT_MANAGE
PROVINCE_TOKENS_MANAGE: Final = P.PROVINCE_MANAGE


def declared_token_scope(handler: BaseRouteHandler) -> TokenScope | None:
    scope = handler.opt.get("token_scope")
    return scope if isinstance(scope, TokenScope) else None


# Role sets the domain asks about, defined here only.
# Held within one unit of a department: they see and act on their unit's tasks, and their membership names the unit.
UNIT_ROLES: Final = frozenset({Role.UNIT_HEAD, Role.STAFF})
# What a department's admin grants, most trusted first (a Sở Nội vụ's admin also grants province reviewers).
TENANT_ROLES: Final = (Role.TENANT_ADMIN, Role.FOCAL_POINT, Role.LEADER, Role.UNIT_HEAD, Role.STAFF, Role.VIEWER)


def allows(roles: set[Role] | frozenset[Role], permission: Permission) -> bool:
    """Whether any of `roles` grants `permission`."""
    return any(permission in MATRIX[role] for role in roles)


def declared_access(handler: BaseRouteHandler) -> Access | None:
    access = handler.opt.get("access")
    return access if isinstance(access, Permission | Public) else None


def declare_automatic_options_public(route: BaseRoute) -> None:
    """Litestar adds an OPTIONS handler to every HTTP route that answers 204 with the `Allow` header.

    It declares no access of its own, so the guard would refuse it; it shows nothing but the route's
    methods, so it is public. Only that generated handler is marked (by its function's qualified name):
    should Litestar rename it, the route-walk test lists it instead of it silently becoming public.
    """
    if not isinstance(route, HTTPRoute):
        return
    for handler in route.route_handlers:
        generated = handler.fn.__qualname__.startswith("HTTPRoute.create_options_handler.")
        if generated and handler.http_methods == {HttpMethod.OPTIONS} and "access" not in handler.opt:
            handler.opt["access"] = PUBLIC


async def access_guard(connection: ASGIConnection, handler: BaseRouteHandler) -> None:  # type: ignore[type-arg]
    """App-wide guard: a route without a declared access is refused; a non-public one needs a person.

    A coroutine although it awaits nothing: Litestar runs a plain function guard in a worker thread, a
    thread hand-off on every request for a few attribute reads.

    The tenant-level check (this person's roles in the URL's tenant) happens when the tenant is
    resolved (`backend.domain.tenants.deps`), against the same declared permission.
    """
    access = declared_access(handler)
    if access is None:
        raise PermissionDeniedException("Route declares no access")
    if access is PUBLIC:
        return
    principal = connection.scope.get("parboard_principal")
    if principal is None:
        raise NotAuthorizedException("Cần đăng nhập")
    token_scopes = getattr(principal, "token_scopes", None)
    if token_scopes is not None:  # an API token: only the routes of its scopes
        scope = declared_token_scope(handler)
        if scope is None or scope not in token_scopes:
            raise PermissionDeniedException("Mã truy cập API không được cấp quyền cho thao tác này")
