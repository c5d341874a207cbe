"""Apply the validated tenant configuration to the database, idempotently and all-or-nothing.

Runs as the owner role. Tenant-owned rows are written with that tenant's context set, so row-level
security (FORCEd, hence binding the owner too) checks every write. Tenants removed from the files
are deactivated, never deleted: their data stays.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import msgspec
from sqlalchemy import delete, func, select, text
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from backend.db.engine import create_session_maker
from backend.db.models import (
    BoardColumn,
    Membership,
    Province,
    RankingGroup,
    ResultClass,
    Task,
    Tenant,
    Unit,
    UnitGroup,
    UnitGroupMember,
    User,
)
from backend.db.rls import bind_tenant
from backend.domain.submissions.calendar import to_settings
from backend.domain.tenants.config import (
    BoardColumnConfig,
    ConfigProblem,
    LoadedProvince,
    ProvinceInfo,
    TenantConfig,
    TenantConfigError,
    parse_percentage,
)
from backend.domain.tenants.lineage import LoadedLineage, apply_lineage, audit_sync


@dataclass
class SyncReport:
    changes: Counter[str] = field(default_factory=Counter)
    lines: list[str] = field(default_factory=list)  # the lineage's changes, one line each (the preview)

    def count(self, what: str, n: int = 1) -> None:
        self.changes[what] += n

    def summary(self) -> str:
        if not self.changes:
            return "không có thay đổi"
        return ", ".join(f"{what}: {n}" for what, n in sorted(self.changes.items()))


class _Preview(Exception):
    pass


async def sync_tenants(
    owner_engine: AsyncEngine,
    provinces: list[LoadedProvince],
    *,
    demo_people: bool = False,
    lineage: LoadedLineage | None = None,
    preview: bool = False,
) -> SyncReport:
    """Apply every province, then the lineage, in one transaction; any failure leaves the database as it was.
    With `preview`, everything is worked out and reported, then rolled back."""
    report = SyncReport()
    session_maker = create_session_maker(owner_engine)
    async with session_maker() as session:
        try:
            async with session.begin():
                for loaded in provinces:
                    await _sync_province(session, loaded, report, demo_people=demo_people)
                applied = await apply_lineage(session, lineage)
                report.lines.extend(applied.lines)
                for what, n in applied.counts.items():
                    report.count(what, n)
                if preview:
                    raise _Preview
        except _Preview:
            pass
        except (IntegrityError, DataError) as exc:
            raise TenantConfigError(
                [ConfigProblem("tenants/", "$", f"cơ sở dữ liệu từ chối thay đổi: {exc.orig}")]
            ) from exc
    return report


async def _sync_result_classes(
    session: AsyncSession, province: Province, info: ProvinceInfo, report: SyncReport
) -> None:
    """The province's result classes become exactly its file's, year by year (nothing refers to a class row)."""
    wanted = [
        (year, position, entry.code, entry.label, parse_percentage(entry.min_index), parse_percentage(entry.area_floor))
        for year, classes in sorted(info.result_classes.items())
        for position, entry in enumerate(classes, start=1)
    ]
    current = [
        (c.year, c.position, c.code, c.label, c.min_index, c.area_floor)
        for c in await session.scalars(
            select(ResultClass)
            .where(ResultClass.province_id == province.id)
            .order_by(ResultClass.year, ResultClass.position)
        )
    ]
    if current == wanted:
        return
    await session.execute(delete(ResultClass).where(ResultClass.province_id == province.id))
    for year, position, code, label, min_index, area_floor in wanted:
        session.add(
            ResultClass(
                province_id=province.id,
                year=year,
                position=position,
                code=code,
                label=label,
                min_index=min_index,
                area_floor=area_floor,
            )
        )
    report.count("xếp loại cập nhật")
    await session.flush()


async def _sync_province(
    session: AsyncSession, loaded: LoadedProvince, report: SyncReport, *, demo_people: bool
) -> None:
    info = loaded.config.province
    idp = info.identity_provider
    settings: dict[str, Any] = {
        "report_deadlines": [{"period": d.period, "due": d.due} for d in info.report_deadlines],
        "calendar": {
            str(year): to_settings(msgspec.to_builtins(entry)) for year, entry in sorted(info.calendar.items())
        },
        "holidays": {str(year): msgspec.to_builtins(entry) for year, entry in sorted(info.holidays.items())},
        "index_places": info.index_places,
    }
    if info.demo:
        settings["demo"] = True
    if idp is not None:
        settings["identity_provider"] = {
            "issuer": idp.issuer,
            "client_id": idp.client_id,
            "scopes": list(idp.scopes),
            "agency_claim": idp.agency_claim,
            "email_claim": idp.email_claim,
            "name_claim": idp.name_claim,
            "trust_email_without_verified": idp.trust_email_without_verified,
            "claim_mappings": [
                {"claim": m.claim or idp.agency_claim, "value": m.value, "tenant": m.tenant, "role": m.role}
                for m in idp.claim_mappings
            ],
        }
    if info.survey_answers is not None:
        settings["survey_answers"] = {
            "shares": {k: str(parse_percentage(v)) for k, v in info.survey_answers.shares.items()},
            "min_answers": info.survey_answers.min_answers,
        }
    province = await session.scalar(select(Province).where(Province.code == info.code))
    if province is None:
        province = Province(code=info.code, name=info.name, settings=settings)
        session.add(province)
        report.count("tỉnh mới")
    elif (province.name, province.settings) != (info.name, settings):
        province.name, province.settings = info.name, settings
        report.count("tỉnh cập nhật")
    await session.flush()

    groups = {
        g.code: g for g in await session.scalars(select(RankingGroup).where(RankingGroup.province_id == province.id))
    }
    for group_config in info.ranking_groups:
        group = groups.get(group_config.code)
        if group is None:
            group = RankingGroup(province_id=province.id, code=group_config.code, name=group_config.name)
            session.add(group)
            groups[group.code] = group
            report.count("nhóm xếp hạng mới")
        elif group.name != group_config.name:
            group.name = group_config.name
            report.count("nhóm xếp hạng cập nhật")
    await session.flush()

    await _sync_result_classes(session, province, info, report)

    tenants = {t.code: t for t in await session.scalars(select(Tenant).where(Tenant.province_id == province.id))}
    state = await _read_state(session, province.id)
    wanted = {t.code for t in loaded.config.tenants}
    for code, tenant in tenants.items():
        if code not in wanted and tenant.is_active:
            tenant.is_active = False
            report.count("đơn vị ngừng hoạt động")
    for t_index, tenant_config in enumerate(loaded.config.tenants):
        ranking_group_id = groups[tenant_config.ranking_group].id if tenant_config.ranking_group else None
        values = {
            "name": tenant_config.name,
            "short_name": tenant_config.short_name,
            "kind": tenant_config.kind,
            "ranking_group_id": ranking_group_id,
            "attributes": list(tenant_config.attributes),
            "is_active": True,
        }
        existing = tenants.get(tenant_config.code)
        columns = tenant_config.board_columns if tenant_config.board_columns is not None else info.board_columns
        if (
            existing is not None
            and all(getattr(existing, k) == v for k, v in values.items())
            and not (demo_people and tenant_config.demo_people)
            and state.matches(existing.id, tenant_config, columns)
        ):
            continue  # as the files say: nothing read or written one tenant at a time
        if existing is None:
            tenant = Tenant(id=uuid.uuid4(), province_id=province.id, code=tenant_config.code, **values)
            session.add(tenant)
            report.count("sở, ngành mới")
        else:
            tenant = existing
            if any(getattr(tenant, k) != v for k, v in values.items()):
                for key, value in values.items():
                    setattr(tenant, key, value)
                report.count("sở, ngành cập nhật")
        await session.flush()
        await bind_tenant(session, tenant.id)
        changed, removed = await _sync_units(session, tenant, tenant_config, report)
        if demo_people and info.identity_provider is not None:
            await _sync_demo_people(session, tenant, tenant_config, info.identity_provider.issuer, report)
        # Units go last, once demo people have moved to the units they now belong to.
        await _delete_units(
            session, removed, changed, report, file=str(loaded.file), path=f"$.tenants[{t_index}].units"
        )
        await _sync_board_columns(
            session, tenant, columns, report, file=str(loaded.file), path=f"$.tenants[{t_index}].board_columns"
        )
        if changed:
            audit_sync(session, tenant, "sync", "units", {"changes": changed})
            await session.flush()
    await bind_tenant(session, None)


@dataclass
class _State:
    """What a province's tenants have of what the files configure (units, unit groups, board columns), read for
    all of them at once; a tenant that matches its file is left alone."""

    units: dict[uuid.UUID, dict[uuid.UUID, tuple[str, str, str, int]]] = field(default_factory=dict)
    groups: dict[uuid.UUID, dict[uuid.UUID, tuple[str, str]]] = field(default_factory=dict)
    members: dict[uuid.UUID, set[uuid.UUID]] = field(default_factory=dict)
    columns: dict[uuid.UUID, dict[str, tuple[str, int, int | None, bool, bool]]] = field(default_factory=dict)

    def matches(self, tenant_id: uuid.UUID, config: TenantConfig, columns: list[BoardColumnConfig] | None) -> bool:
        units = self.units.get(tenant_id, {})
        have_units = {code: (name, kind, position) for code, name, kind, position in units.values()}
        want_units = {u.code: (u.name, u.kind, position) for position, u in enumerate(config.units)}
        if have_units != want_units:
            return False
        code_of = {unit_id: unit[0] for unit_id, unit in units.items()}
        have_groups = {
            code: (name, frozenset(code_of.get(u, "") for u in self.members.get(group_id, set())))
            for group_id, (code, name) in self.groups.get(tenant_id, {}).items()
        }
        want_groups = {g.code: (g.name, frozenset(g.members)) for g in config.unit_groups}
        if have_groups != want_groups:
            return False
        have_columns = self.columns.get(tenant_id, {})
        if columns is None:
            return bool(have_columns)  # an unconfigured board keeps what it has; a new one gets the defaults
        want_columns = {
            c.code: (c.name, position, c.wip_limit, c.done, c.needs_confirmation) for position, c in enumerate(columns)
        }
        return have_columns == want_columns


_STATE_TENANTS = "SELECT id FROM tenants WHERE province_id = :province"


async def _read_state(session: AsyncSession, province_id: uuid.UUID) -> _State:
    """The province's units, unit groups, their members and board columns, in four statements across its tenants
    (the owner's `sync_reads` policy, migration 0027, on for these reads only)."""
    state = _State()
    params = {"province": province_id}
    await session.execute(text("SELECT set_config('app.sync_reads', 'on', true)"))
    try:
        for row in await session.execute(
            text(f"SELECT tenant_id, id, code, name, kind, position FROM units WHERE tenant_id IN ({_STATE_TENANTS})"),
            params,
        ):
            state.units.setdefault(row.tenant_id, {})[row.id] = (row.code, row.name, row.kind, row.position)
        for row in await session.execute(
            text(f"SELECT tenant_id, id, code, name FROM unit_groups WHERE tenant_id IN ({_STATE_TENANTS})"), params
        ):
            state.groups.setdefault(row.tenant_id, {})[row.id] = (row.code, row.name)
        for row in await session.execute(
            text(f"SELECT unit_group_id, unit_id FROM unit_group_members WHERE tenant_id IN ({_STATE_TENANTS})"),
            params,
        ):
            state.members.setdefault(row.unit_group_id, set()).add(row.unit_id)
        for row in await session.execute(
            text(
                "SELECT tenant_id, code, name, position, wip_limit, is_done, needs_confirmation FROM board_columns "
                f"WHERE tenant_id IN ({_STATE_TENANTS})"
            ),
            params,
        ):
            state.columns.setdefault(row.tenant_id, {})[row.code] = (
                row.name,
                row.position,
                row.wip_limit,
                row.is_done,
                row.needs_confirmation,
            )
    finally:
        await session.execute(text("SELECT set_config('app.sync_reads', '', true)"))
    return state


DEFAULT_BOARD_COLUMNS = (
    # code, name, is_done, needs_confirmation
    ("chua-thuc-hien", "Chưa thực hiện", False, False),
    ("dang-thuc-hien", "Đang thực hiện", False, False),
    ("cho-xac-nhan", "Chờ xác nhận", False, False),
    ("hoan-thanh", "Hoàn thành", True, True),
)


async def _sync_board_columns(
    session: AsyncSession,
    tenant: Tenant,
    config: list[BoardColumnConfig] | None,
    report: SyncReport,
    *,
    file: str,
    path: str,
) -> None:
    """The tenant's board columns as configured (by code: name, order, WIP limit, flags), or the four
    defaults for a new board when nothing is configured. A column left out of the configuration is removed
    only when no task is in it; otherwise the whole sync is refused with the count, so no card is lost."""
    existing = {c.code: c for c in await session.scalars(select(BoardColumn))}
    if config is None:
        if existing:
            return  # an unconfigured board keeps what it has
        config = [
            BoardColumnConfig(code=code, name=name, done=done, needs_confirmation=confirm)
            for code, name, done, confirm in DEFAULT_BOARD_COLUMNS
        ]
    wanted = {c.code for c in config}
    for column in existing.values():
        if column.code in wanted:
            continue
        cards = await session.scalar(select(func.count()).where(Task.column_id == column.id)) or 0
        if cards:
            raise TenantConfigError(
                [
                    ConfigProblem(
                        file,
                        path,
                        f"{tenant.code}: không bỏ được cột {column.code!r} ({column.name}) vì còn {cards} nhiệm vụ; "
                        "chuyển các nhiệm vụ sang cột khác trước",
                    )
                ]
            )
        await session.delete(column)
        report.count("cột bảng đã bỏ")
    await session.flush()
    for position, column_config in enumerate(config):
        values = {
            "name": column_config.name,
            "position": position,
            "wip_limit": column_config.wip_limit,
            "is_done": column_config.done,
            "needs_confirmation": column_config.needs_confirmation,
        }
        kept = existing.get(column_config.code)
        if kept is None:
            session.add(BoardColumn(id=uuid.uuid4(), tenant_id=tenant.id, code=column_config.code, **values))
            report.count("cột bảng mới")
        elif any(getattr(kept, k) != v for k, v in values.items()):
            for key, value in values.items():
                setattr(kept, key, value)
            report.count("cột bảng cập nhật")
    await session.flush()


async def _sync_units(
    session: AsyncSession, tenant: Tenant, config: TenantConfig, report: SyncReport
) -> tuple[list[dict[str, Any]], list[Unit]]:
    """Create and update the tenant's units and unit groups; return the changes and the units to delete."""
    units = {u.code: u for u in await session.scalars(select(Unit).where(Unit.tenant_id == tenant.id))}
    changed: list[dict[str, Any]] = []
    for position, unit_config in enumerate(config.units):
        unit = units.get(unit_config.code)
        after = {
            "code": unit_config.code,
            "name": unit_config.name,
            "kind": unit_config.kind,
            "position": position,
        }
        if unit is None:
            unit = Unit(id=uuid.uuid4(), tenant_id=tenant.id, **after)
            session.add(unit)
            units[unit.code] = unit
            changed.append({"action": "create", "after": after})
            report.count("phòng, đơn vị mới")
        elif (unit.name, unit.kind, unit.position) != (unit_config.name, unit_config.kind, position):
            before = {"code": unit.code, "name": unit.name, "kind": unit.kind, "position": unit.position}
            unit.name, unit.kind, unit.position = unit_config.name, unit_config.kind, position
            changed.append({"action": "update", "before": before, "after": after})
            report.count("phòng, đơn vị cập nhật")
    wanted = {u.code for u in config.units}
    removed = [units.pop(code) for code in [c for c in units if c not in wanted]]
    await session.flush()

    groups = {g.code: g for g in await session.scalars(select(UnitGroup).where(UnitGroup.tenant_id == tenant.id))}
    members: dict[uuid.UUID, set[uuid.UUID]] = {}
    for row in await session.execute(select(UnitGroupMember.unit_group_id, UnitGroupMember.unit_id)):
        members.setdefault(row.unit_group_id, set()).add(row.unit_id)
    for group_config in config.unit_groups:
        group = groups.pop(group_config.code, None)
        if group is None:
            group = UnitGroup(id=uuid.uuid4(), tenant_id=tenant.id, code=group_config.code, name=group_config.name)
            session.add(group)
            await session.flush()
            report.count("nhóm phòng, đơn vị mới")
        elif group.name != group_config.name:
            group.name = group_config.name
            report.count("nhóm phòng, đơn vị cập nhật")
        wanted_members = {units[code].id for code in group_config.members}
        current = members.get(group.id, set())
        if wanted_members != current:
            await session.execute(delete(UnitGroupMember).where(UnitGroupMember.unit_group_id == group.id))
            session.add_all(
                UnitGroupMember(tenant_id=tenant.id, unit_group_id=group.id, unit_id=unit_id)
                for unit_id in sorted(wanted_members)
            )
            changed.append({"action": "members", "group": group_config.code, "members": group_config.members})
    for stale in groups.values():
        await session.delete(stale)
        changed.append({"action": "delete-group", "before": {"code": stale.code}})
        report.count("nhóm phòng, đơn vị xoá")
    await session.flush()
    return changed, removed


async def _delete_units(
    session: AsyncSession,
    removed: list[Unit],
    changed: list[dict[str, Any]],
    report: SyncReport,
    *,
    file: str,
    path: str,
) -> None:
    """Delete units gone from the file, unless someone is still assigned to one: then reject the whole sync."""
    if not removed:
        return
    rows = await session.execute(
        select(Membership.unit_id, func.count())
        .where(Membership.unit_id.in_([u.id for u in removed]))
        .group_by(Membership.unit_id)
    )
    assigned: dict[uuid.UUID | None, int] = {unit_id: n for unit_id, n in rows}
    blocked = [
        ConfigProblem(
            file,
            path,
            f"không thể xoá phòng, đơn vị {unit.code!r} ({unit.name}): còn {assigned[unit.id]} người dùng "
            "được phân quyền ở đó; chuyển họ sang phòng, đơn vị khác trước",
        )
        for unit in removed
        if unit.id in assigned
    ]
    if blocked:
        raise TenantConfigError(blocked)
    for unit in removed:
        await session.delete(unit)
        changed.append({"action": "delete", "before": {"code": unit.code, "name": unit.name}})
        report.count("phòng, đơn vị xoá")
    await session.flush()


async def _sync_demo_people(
    session: AsyncSession, tenant: Tenant, config: TenantConfig, issuer: str, report: SyncReport
) -> None:
    units = {u.code: u.id for u in await session.scalars(select(Unit).where(Unit.tenant_id == tenant.id))}
    for person in config.demo_people:
        user = await session.scalar(select(User).where(User.issuer == issuer, User.subject == person.email))
        if user is None:
            user = User(
                id=uuid.uuid4(),
                issuer=issuer,
                subject=person.email,
                email=person.email,
                full_name=person.name,
            )
            session.add(user)
            await session.flush()
            report.count("người dùng mẫu mới")
        elif (user.email, user.full_name) != (person.email, person.name):
            user.email, user.full_name = person.email, person.name
            report.count("người dùng mẫu cập nhật")
        unit_id = units[person.unit] if person.unit else None
        membership = await session.scalar(
            select(Membership).where(
                Membership.tenant_id == tenant.id,
                Membership.user_id == user.id,
                Membership.role == person.role,
            )
        )
        if membership is None:
            session.add(Membership(tenant_id=tenant.id, user_id=user.id, role=person.role, unit_id=unit_id))
            report.count("phân quyền mẫu mới")
        elif membership.unit_id != unit_id:
            membership.unit_id = unit_id
            report.count("phân quyền mẫu cập nhật")
    await session.flush()
