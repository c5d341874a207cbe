"""Resolve the tenant named by the URL, check the person may act there, and bind the session to it."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from litestar import Controller, Request, Router
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotAuthorizedException, NotFoundException, PermissionDeniedException
from litestar.params import FromPath
from sqlalchemy import String, Uuid, bindparam, cast, func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from backend.auth.permissions import Permission, declared_access
from backend.auth.principal import SCOPE_KEY, Principal, current_principal
from backend.auth.sessions import COOKIE
from backend.db.engine import driver_connection
from backend.db.models import HomeConfigRevision, Province, Tenant
from backend.db.rls import SESSION_SETTING, TENANT_SETTING, USER_SETTING, remember_context, remember_session
from backend.domain.cycle import Cycle, archive_cycle, current_cycle
from backend.web.errors import ClearRefusal


@dataclass(frozen=True)
class Successor:
    """A tenant an archived one became (part of), for the archive's banner and its refusal page."""

    id: uuid.UUID
    name: str
    path: str  # its home page
    province_name: str
    code: str
    province_code: str


@dataclass(frozen=True)
class ArchiveYears:
    """An archive's last years on parboard (None: it has none): where its pages open, what its home shows."""

    assessed: int | None = None  # its last self-assessment
    published: int | None = None  # its last published (appraised) result
    submitted: int | None = None  # its last package sent to the Sở Nội vụ
    board: int | None = None  # its last remedy plan's year
    reported: int | None = None  # its last progress report's year
    first: int | None = None  # the first year it has any record of (a self-assessment, result, package or plan)

    def cycle(self, settings: Mapping[str, Any], archived_on: date) -> Cycle:
        """Where the archive's pages open (`archive_cycle`)."""
        return archive_cycle(
            settings,
            archived_on,
            assessed=self.assessed,
            published=self.published,
            submitted=self.submitted,
            board=self.board,
        )


@dataclass(frozen=True)
class TenantContext:
    tenant: Tenant
    province: Province
    principal: Principal
    successors: tuple[Successor, ...] = ()  # set only for an archive (tenants/lineage.yaml)
    archive: ArchiveYears | None = None  # likewise
    # `home_config_revision` as the tenant and province above were read (the tenant home's cache keys on it)
    config_revision: int | None = None

    @property
    def archived(self) -> bool:
        return self.tenant.archived_on is not None

    # the raw session cookie: the database functions that act for a person in a tenant check it (migration 0020)
    session_token: str = field(default="", repr=False)

    @property
    def id(self) -> uuid.UUID:
        return self.tenant.id

    @property
    def base_path(self) -> str:
        return f"/t/{self.province.code}/{self.tenant.code}"

    @property
    def cycle(self) -> Cycle:
        """The year being assessed in the tenant's province today: where every page opens by default. An archive's
        pages open on its own last year instead (`archive_cycle`)."""
        if self.archive is not None and self.tenant.archived_on is not None:
            return self.archive.cycle(self.province.settings, self.tenant.archived_on)
        return current_cycle(self.province.settings)

    def can(self, permission: str) -> bool:
        """For templates: whether to show a link or action (routes check again on their own)."""
        return self.principal.can(Permission(permission), self.tenant.id)


# Built once: every tenant page runs it. The row also binds the transaction to its tenant and person (row-level
# security), saving a round trip; binding reads nothing, and the application-level check below runs before
# anything of the tenant's is read (a refusal ends the request and rolls the transaction back).
_TENANT = (
    select(
        Tenant,
        Province,
        func.set_config(TENANT_SETTING, cast(Tenant.id, String), True),
        func.set_config(USER_SETTING, bindparam("user", type_=String), True),
        func.set_config(SESSION_SETTING, bindparam("session", type_=String), True),
        # the version of what the provinces declare, from the same snapshot as the rows above (`home_cache`)
        select(HomeConfigRevision.revision).scalar_subquery(),
    )
    .join(Province, Province.id == Tenant.province_id)
    .where(Province.code == bindparam("province"), Tenant.code == bindparam("tenant"), Tenant.is_active)
)


async def provide_tenant_context(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    province_code: FromPath[str],
    tenant_code: FromPath[str],
) -> TenantContext:
    """The application-level wall; row-level security (bound here) is the second one."""
    principal = _signed_in(request)
    token = _token(request)
    parameters = {"province": province_code, "tenant": tenant_code, "user": str(principal.user_id), "session": token}
    row = (await db_session.execute(_TENANT, parameters)).one_or_none()
    if row is None:
        raise NotFoundException("Không tìm thấy đơn vị")
    tenant, province, _, _, _, config_revision = row
    successors: tuple[Successor, ...] = ()
    archive = None
    if tenant.archived_on is None:
        _check_access(request, principal, tenant.id)
    else:
        successors = await successors_of(db_session, tenant.id)
        _check_archive_access(request, principal, tenant, successors)
        archive = await archive_years(db_session, tenant.id)
        # From here on the archive is read-only to everyone: the pages offer no write (`can` says no)
        principal = replace(principal, read_only=principal.read_only | {tenant.id})
        request.scope[SCOPE_KEY] = principal  # type: ignore[literal-required]
    remember_session(db_session, token)
    remember_context(db_session, tenant.id, principal.user_id)  # for the request's later transactions
    return TenantContext(
        tenant=tenant,
        province=province,
        principal=principal,
        successors=successors,
        archive=archive,
        session_token=token,
        config_revision=config_revision,
    )


# The same row for a handler whose statements bind their own tenant and person (a card move): one statement
# outside any transaction, where `_TENANT` costs a transaction of three round trips and an ORM session.
_TENANT_COLUMNS = [column.name for column in Tenant.__table__.columns]
_PROVINCE_COLUMNS = [column.name for column in Province.__table__.columns]
_TENANT_ROW = (
    "SELECT "
    + ", ".join(f"t.{name}" for name in _TENANT_COLUMNS)
    + ", "
    + ", ".join(f"p.{name} AS province_{name}" for name in _PROVINCE_COLUMNS)
    + " FROM tenants t JOIN provinces p ON p.id = t.province_id WHERE p.code = $1 AND t.code = $2 AND t.is_active"
)


async def provide_unbound_tenant_context(
    request: Request[Any, Any, Any],
    db_engine: NamedDependency[AsyncEngine],
    db_session: NamedDependency[AsyncSession],
    province_code: FromPath[str],
    tenant_code: FromPath[str],
) -> TenantContext:
    """`provide_tenant_context` for a handler that reads and writes the tenant's rows through statements that
    bind their own tenant and person: the same wall, read in one statement outside any transaction. The tenant
    and province are detached copies of their rows. `db_session` is bound for any later transaction of its."""
    principal = _signed_in(request)
    async with driver_connection(db_engine) as driver:
        row = await driver.fetchrow(_TENANT_ROW, province_code, tenant_code)
    if row is None:
        raise NotFoundException("Không tìm thấy đơn vị")
    tenant = Tenant(**{name: row[name] for name in _TENANT_COLUMNS})
    if tenant.archived_on is not None:  # these handlers write (a card move): an archive refuses them
        raise ArchivedTenantRefusal(tenant, ())
    _check_access(request, principal, tenant.id)
    values = {name: row[f"province_{name}"] for name in _PROVINCE_COLUMNS}
    if isinstance(values["settings"], str):  # asyncpg hands JSONB over as text
        values["settings"] = json.loads(values["settings"])
    remember_session(db_session, _token(request))
    remember_context(db_session, tenant.id, principal.user_id)
    return TenantContext(tenant=tenant, province=Province(**values), principal=principal, session_token=_token(request))


def _token(request: Request[Any, Any, Any]) -> str:
    """What the database checks who is asking with: the session cookie, or an API token (migration 0025)."""
    principal = current_principal(request)
    if principal is not None and principal.credential:
        return principal.credential
    return request.cookies.get(COOKIE) or ""


def _signed_in(request: Request[Any, Any, Any]) -> Principal:
    principal = current_principal(request)
    if principal is None:
        raise NotAuthorizedException("Cần đăng nhập")
    return principal


# Every tenant an archive became, following the lineage to the end (a → b → c gives b and c).
_SUCCESSORS = text(
    """
    WITH RECURSIVE later(id, depth) AS (
        SELECT successor_id, 1 FROM tenant_lineage WHERE predecessor_id = :tenant
        UNION
        SELECT l.successor_id, later.depth + 1 FROM tenant_lineage l JOIN later ON l.predecessor_id = later.id
         WHERE later.depth < 32
    )
    SELECT DISTINCT ON (t.id) t.id, t.name, t.code, p.code AS province_code, p.name AS province_name, later.depth
      FROM later JOIN tenants t ON t.id = later.id JOIN provinces p ON p.id = t.province_id
     ORDER BY t.id, later.depth
    """
)
# An archive's last years (row-level security: the tenant is bound by `_TENANT` already).
_ARCHIVE_YEARS = text(
    """
    SELECT (SELECT max(year) FROM assessments WHERE tenant_id = :tenant) AS assessed,
           (SELECT max(year) FROM appraised_results WHERE tenant_id = :tenant) AS published,
           (SELECT max(year) FROM submissions WHERE tenant_id = :tenant) AS submitted,
           (SELECT max(year) FROM tasks WHERE tenant_id = :tenant) AS board,
           (SELECT max(year) FROM progress_reports WHERE tenant_id = :tenant) AS reported,
           LEAST((SELECT min(year) FROM assessments WHERE tenant_id = :tenant),
                 (SELECT min(year) FROM appraised_results WHERE tenant_id = :tenant),
                 (SELECT min(year) FROM submissions WHERE tenant_id = :tenant),
                 (SELECT min(year) FROM tasks WHERE tenant_id = :tenant)) AS first
    """
).bindparams(bindparam("tenant", type_=Uuid))
SAFE_METHODS = frozenset({"GET", "HEAD"})


async def successors_of(db: AsyncSession, tenant_id: uuid.UUID) -> tuple[Successor, ...]:
    """The tenants an archive became, nearest first (empty for a tenant that is not an archive)."""
    rows = sorted((await db.execute(_SUCCESSORS, {"tenant": tenant_id})).all(), key=lambda r: (r.depth, r.name))
    return tuple(
        Successor(r.id, r.name, f"/t/{r.province_code}/{r.code}", r.province_name, r.code, r.province_code)
        for r in rows
    )


async def archive_years(db: AsyncSession, tenant_id: uuid.UUID) -> ArchiveYears:
    """An archive's last years on parboard (call while bound to it)."""
    return ArchiveYears(**(await db.execute(_ARCHIVE_YEARS, {"tenant": tenant_id})).one()._asdict())


class ArchivedTenantRefusal(ClearRefusal):
    """A write to an archived tenant: a read-only archive since its reorganisation."""

    def __init__(self, tenant: Tenant, successors: tuple[Successor, ...]) -> None:
        later = ", ".join(f"{s.name} ({s.province_name})" for s in successors)
        super().__init__(
            status_code=423,
            detail=(
                f"{tenant.name} đã được sắp xếp lại từ ngày {tenant.archived_on:%d/%m/%Y}"
                + (f" và nay là {later}" if later else "")
                + ": hồ sơ của đơn vị chỉ còn để xem (lưu trữ), không thêm, sửa hay xoá được nữa. "
                "Hãy làm việc ở đơn vị kế tiếp."
            ),
        )


async def ensure_writable(db: AsyncSession, tenant: Tenant) -> None:
    """Refuse a write into an archived tenant (423, naming its successors) before anything is written: the
    services that write into a tenant other than the one in the URL call it (the Sở Nội vụ's review, invitations),
    so every path to them, a page or an API, is refused alike."""
    if tenant.archived_on is not None:
        raise ArchivedTenantRefusal(tenant, await successors_of(db, tenant.id))


def _check_archive_access(
    request: Request[Any, Any, Any], principal: Principal, tenant: Tenant, successors: tuple[Successor, ...]
) -> None:
    """An archive is read by its own people (their memberships stay) and by its successors' people, with the
    read rights they have there; nobody writes to it."""
    if request.method not in SAFE_METHODS:
        if not principal.can(Permission.TENANT_VIEW, tenant.id) and not any(
            principal.can(Permission.TENANT_VIEW, s.id) for s in successors
        ):
            raise PermissionDeniedException("Không có quyền trong đơn vị này")
        raise ArchivedTenantRefusal(tenant, successors)
    access = declared_access(request.route_handler)
    if not isinstance(access, Permission):
        raise PermissionDeniedException("Không có quyền trong đơn vị này")
    if principal.can(access, tenant.id) or any(principal.can(access, s.id) for s in successors):
        return
    raise PermissionDeniedException("Không có quyền trong đơn vị này")


def _check_access(request: Request[Any, Any, Any], principal: Principal, tenant_id: uuid.UUID) -> None:
    access = declared_access(request.route_handler)
    if not isinstance(access, Permission) or not principal.can(access, tenant_id):
        raise PermissionDeniedException("Không có quyền trong đơn vị này")


TENANT_PATH = "/t/{province_code:str}/{tenant_code:str}"


def tenant_router(*controllers: type[Controller]) -> Router:
    """The tenant's pages, under /t/<province>/<tenant>/, each given the tenant's context as `tenant`
    (`provide_tenant_context`: the person's membership checked and row-level security bound to the tenant). A
    handler may override the dependency (the board's move takes `provide_unbound_tenant_context`)."""
    return Router(
        path=TENANT_PATH,
        route_handlers=list(controllers),
        dependencies={"tenant": Provide(provide_tenant_context)},
    )
