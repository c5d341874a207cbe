"""Tenant lineage (`tenants/lineage.yaml`): a tenant renamed, merged, split or moved to another province, a
province merged into another. Nothing is deleted: a predecessor becomes a read-only archive of what it did, and
its successor shows its years, can carry its open remedy tasks over and receives its people.

Validated before anything is written (`file: path: reason`, like the provinces' files); applied by
`tenants sync` in the same transaction as the provinces, so a rejected lineage changes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import yaml
from sqlalchemy import delete, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.permissions import Permission
from backend.db.models import (
    AppraisedResult,
    AuditEntry,
    Invitation,
    LineageKind,
    Membership,
    Province,
    Tenant,
    TenantLineage,
    Unit,
    User,
)
from backend.db.rls import Person, bind_tenant, reading_archive
from backend.domain.tenants.config import (
    ConfigProblem,
    LoadedProvince,
    StrictLoader,
    TenantConfigError,
    shape_error,
    yaml_reason,
)

LINEAGE_FILE = "lineage.yaml"
ACTOR = "system:tenants-sync"
REINVITE_DAYS = 60  # a re-invitation to a successor in another province (another identity provider)
KIND_NAMES = {
    LineageKind.RENAME: "đổi tên",
    LineageKind.MERGE: "hợp nhất",
    LineageKind.SPLIT: "chia tách",
    LineageKind.MOVE: "chuyển tỉnh",
    LineageKind.PROVINCE_MERGE: "sáp nhập tỉnh",
}


class _Strict(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    pass


class LineageEvent(_Strict, frozen=True):
    kind: str
    date: str  # dd/mm/yyyy: from this day on the predecessors are archives
    from_: str | list[str] = msgspec.field(name="from")  # "province/tenant", or a province code (province_merge)
    to: str | list[str]
    tenants: dict[str, str] = {}  # province_merge: a tenant of the merged province → its successor's code
    note: str = ""


class LineageConfig(_Strict, frozen=True):
    events: list[LineageEvent] = []


Ref = tuple[str, str]  # (province code, tenant code)


@dataclass(frozen=True)
class Edge:
    predecessor: Ref
    successor: Ref
    kind: LineageKind
    effective_on: date
    position: int
    path: str  # where in the file it was declared


@dataclass(frozen=True)
class LoadedLineage:
    file: Path
    edges: list[Edge]
    merged_provinces: dict[str, str]  # merged province → the province it joined


def load_lineage(directory: Path, provinces: list[LoadedProvince]) -> LoadedLineage | None:
    """`directory/lineage.yaml` validated against the provinces' files, or None when there is none."""
    file = directory / LINEAGE_FILE
    if not file.is_file():
        return None
    name = str(file)
    try:
        raw = yaml.load(file.read_text(encoding="utf-8"), Loader=StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except UnicodeDecodeError as exc:
        raise TenantConfigError([ConfigProblem(name, "$", "tệp không phải UTF-8")]) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"dòng {mark.line + 1}, cột {mark.column + 1}" if mark is not None else "$"
        raise TenantConfigError(
            [ConfigProblem(name, where, yaml_reason(str(getattr(exc, "problem", None) or exc)))]
        ) from exc
    try:
        config = msgspec.convert(raw or {}, LineageConfig, strict=True)
    except msgspec.ValidationError as exc:
        found = shape_error(str(exc), format_name="định dạng lineage.yaml (xem tenants/README.md)")
        path = f"{found.path}.{found.field}" if found.field else found.path
        raise TenantConfigError([ConfigProblem(name, path, found.reason)]) from exc
    edges, merged, problems = _edges(config, name, provinces)
    problems += _claims_into_archives(edges, provinces)
    if problems:
        raise TenantConfigError(problems)
    return LoadedLineage(file, edges, merged)


def _claims_into_archives(edges: list[Edge], provinces: list[LoadedProvince]) -> list[ConfigProblem]:
    """A claim mapping that grants a role in a tenant the lineage archives: an archive takes no new member."""
    archived = {edge.predecessor: edge for edge in edges}
    problems = []
    for loaded in provinces:
        info = loaded.config.province
        if info.identity_provider is None:
            continue
        for index, mapping in enumerate(info.identity_provider.claim_mappings):
            edge = archived.get((info.code, mapping.tenant))
            if edge is not None:
                problems.append(
                    ConfigProblem(
                        str(loaded.file),
                        f"$.province.identity_provider.claim_mappings[{index}].tenant",
                        f"đơn vị {mapping.tenant!r} đã được sắp xếp lại từ ngày {edge.effective_on:%d/%m/%Y} "
                        f"(lineage.yaml {edge.path}): hồ sơ lưu trữ không nhận thêm người; "
                        f"ánh xạ claim sang đơn vị kế tiếp {'/'.join(edge.successor)}",
                    )
                )
    return problems


def _parse_date(text: str) -> date | None:
    try:
        day, month, year = (int(part) for part in text.split("/"))
        return date(year, month, day)
    except ValueError:
        return None


def _edges(
    config: LineageConfig, name: str, provinces: list[LoadedProvince]
) -> tuple[list[Edge], dict[str, str], list[ConfigProblem]]:
    problems: list[ConfigProblem] = []

    def bad(path: str, reason: str) -> None:
        problems.append(ConfigProblem(name, path, reason))

    by_province = {p.config.province.code: p for p in provinces}
    known: set[Ref] = {(p.config.province.code, t.code) for p in provinces for t in p.config.tenants}
    edges: list[Edge] = []
    merged: dict[str, str] = {}
    first_seen: dict[Ref, str] = {}  # predecessor → the event that archived it

    def ref(path: str, text: str) -> Ref | None:
        province, _, tenant = text.partition("/")
        if not province or not tenant:
            bad(path, f"{text!r} phải có dạng <mã tỉnh>/<mã đơn vị>, ví dụ ha-tinh/so-noi-vu")
            return None
        if province not in by_province:
            bad(path, f"tỉnh {province!r} không có trong tenants/")
            return None
        if (province, tenant) not in known:
            bad(path, f"đơn vị {tenant!r} không có trong {by_province[province].file}")
            return None
        return province, tenant

    for index, event in enumerate(config.events):
        path = f"$.events[{index}]"
        if event.kind not in set(LineageKind):
            bad(f"{path}.kind", f"loại {event.kind!r} không hợp lệ; chọn một trong {', '.join(LineageKind)}")
            continue
        kind = LineageKind(event.kind)
        effective = _parse_date(event.date)
        if effective is None:
            bad(f"{path}.date", f'ngày {event.date!r} phải có dạng dd/mm/yyyy (ví dụ "01/07/2025") và có thật')
            continue
        sources = [event.from_] if isinstance(event.from_, str) else list(event.from_)
        targets = [event.to] if isinstance(event.to, str) else list(event.to)
        if event.tenants and kind != LineageKind.PROVINCE_MERGE:
            bad(f"{path}.tenants", "khóa 'tenants' chỉ dùng cho kind: province_merge")
        pairs: list[tuple[str, Ref, Ref, int]] = []  # (path, predecessor, successor, position)
        if kind == LineageKind.PROVINCE_MERGE:
            if len(sources) != 1 or len(targets) != 1:
                bad(path, "sáp nhập tỉnh: 'from' và 'to' là một mã tỉnh mỗi bên")
                continue
            source, target = sources[0], targets[0]
            if source not in by_province or target not in by_province:
                missing = source if source not in by_province else target
                bad(f"{path}.{'from' if missing == source else 'to'}", f"tỉnh {missing!r} không có trong tenants/")
                continue
            if source == target:
                bad(f"{path}.to", "một tỉnh không sáp nhập vào chính nó")
                continue
            if source in merged:
                bad(f"{path}.from", f"tỉnh {source!r} đã sáp nhập vào {merged[source]!r} ở một sự kiện khác")
                continue
            merged[source] = target
            target_codes = {t.code for t in by_province[target].config.tenants}
            source_codes = {t.code for t in by_province[source].config.tenants}
            for code in event.tenants:
                if code not in source_codes:
                    bad(f"{path}.tenants.{code}", f"đơn vị {code!r} không có trong {by_province[source].file}")
            for position, tenant in enumerate(by_province[source].config.tenants):
                successor_code = event.tenants.get(tenant.code, tenant.code)
                if successor_code not in target_codes:
                    bad(
                        f"{path}.tenants",
                        f"đơn vị {tenant.code!r} của {source!r} chưa có đơn vị kế tiếp ở {target!r}: "
                        f"khai báo '{tenant.code}: <mã đơn vị của {target}>'",
                    )
                    continue
                pairs.append((f"{path}.tenants", (source, tenant.code), (target, successor_code), position))
        else:
            wanted = {
                LineageKind.RENAME: (1, 1),
                LineageKind.MOVE: (1, 1),
                LineageKind.MERGE: (2, 1),
                LineageKind.SPLIT: (1, 2),
            }[kind]
            if (len(sources) < wanted[0]) or (kind != LineageKind.MERGE and len(sources) != 1):
                bad(
                    f"{path}.from",
                    f"{KIND_NAMES[kind]}: 'from' cần {'ít nhất hai' if wanted[0] == 2 else 'một'} đơn vị",
                )
                continue
            if (len(targets) < wanted[1]) or (kind != LineageKind.SPLIT and len(targets) != 1):
                bad(f"{path}.to", f"{KIND_NAMES[kind]}: 'to' cần {'ít nhất hai' if wanted[1] == 2 else 'một'} đơn vị")
                continue
            found_sources = [
                ref(f"{path}.from[{i}]" if len(sources) > 1 else f"{path}.from", s) for i, s in enumerate(sources)
            ]
            found_targets = [
                ref(f"{path}.to[{i}]" if len(targets) > 1 else f"{path}.to", t) for i, t in enumerate(targets)
            ]
            source_refs = [r for r in found_sources if r is not None]
            target_refs = [r for r in found_targets if r is not None]
            if len(source_refs) != len(sources) or len(target_refs) != len(targets):
                continue
            pairs.extend(
                (f"{path}.from", source_ref, target_ref, position)
                for position, source_ref in enumerate(source_refs)
                for target_ref in target_refs
            )
            same_province = source_refs[0][0] == target_refs[0][0]
            if kind == LineageKind.RENAME and not same_province:
                bad(f"{path}.to", "đổi tên giữ nguyên tỉnh; sang tỉnh khác dùng kind: move")
            if kind == LineageKind.MOVE and same_province:
                bad(f"{path}.to", "chuyển tỉnh: đơn vị kế tiếp phải ở tỉnh khác (cùng tỉnh dùng kind: rename)")
        seen_here: set[Ref] = set()
        for where, predecessor, successor, position in pairs:
            if predecessor == successor:
                bad(where, f"đơn vị {'/'.join(predecessor)} không kế tiếp chính nó")
                continue
            if predecessor not in seen_here:
                if predecessor in first_seen:
                    bad(
                        where,
                        f"đơn vị {'/'.join(predecessor)} đã được sắp xếp ở {first_seen[predecessor]}: một đơn vị chỉ "
                        "được sáp nhập, chia tách, đổi tên hay chuyển đi một lần",
                    )
                    continue
                first_seen[predecessor] = path
                seen_here.add(predecessor)
            successor_province = by_province[successor[0]].config.province
            if successor_province.identity_provider is None:
                bad(
                    where,
                    f"đơn vị kế tiếp {'/'.join(successor)} thuộc tỉnh chưa có nhà cung cấp định danh "
                    "(identity_provider): người của đơn vị không đăng nhập được",
                )
                continue
            edges.append(Edge(predecessor, successor, kind, effective, position, where))
    problems.extend(_cycles(edges, name))
    if problems:
        return [], {}, problems
    return edges, merged, []


def _cycles(edges: list[Edge], name: str) -> list[ConfigProblem]:
    """A lineage that comes back to where it started (a → b → a) is refused, once per cycle."""
    following: dict[Ref, list[Edge]] = {}
    for edge in edges:
        following.setdefault(edge.predecessor, []).append(edge)
    problems: list[ConfigProblem] = []
    state: dict[Ref, int] = {}  # 1: on the current path, 2: done

    def visit(node: Ref, trail: list[Ref]) -> None:
        state[node] = 1
        for edge in following.get(node, []):
            nxt = edge.successor
            if state.get(nxt) == 1:
                loop = [*trail[trail.index(nxt) :], nxt] if nxt in trail else [node, nxt]
                problems.append(
                    ConfigProblem(name, edge.path, f"vòng lặp kế thừa: {' → '.join('/'.join(r) for r in loop)}")
                )
            elif state.get(nxt) is None:
                visit(nxt, [*trail, nxt])
        state[node] = 2

    for start in sorted(following):
        if start not in state:
            visit(start, [start])
    return problems


# -- applying it (inside `sync_tenants`' transaction, as the owner) ---------------------------------------------


def audit_sync(session: AsyncSession, tenant: Tenant, action: str, entity: str, after: dict[str, Any]) -> None:
    """Record in the tenant's audit log what `tenants sync` (the provinces' units or the lineage) did to it."""
    session.add(
        AuditEntry(tenant_id=tenant.id, actor=ACTOR, action=action, entity=entity, entity_id=tenant.code, after=after)
    )


@dataclass
class Applied:
    lines: list[str]
    counts: dict[str, int]


async def apply_lineage(session: AsyncSession, lineage: LoadedLineage | None) -> Applied:
    """The database's lineage becomes the file's. A new edge archives its predecessor and gives its people a
    place in the successor (the same membership in the same province, an invitation in another); an edge
    already there changes nothing, so a second run is a no-op."""
    applied = Applied([], {})

    def count(what: str) -> None:
        applied.counts[what] = applied.counts.get(what, 0) + 1

    await bind_tenant(session, None)
    provinces = {p.code: p for p in await session.scalars(select(Province))}
    tenants: dict[Ref, Tenant] = {}
    for tenant in await session.scalars(select(Tenant)):
        province = next(p for p in provinces.values() if p.id == tenant.province_id)
        tenants[(province.code, tenant.code)] = tenant
    edges = lineage.edges if lineage is not None else []
    merged = lineage.merged_provinces if lineage is not None else {}
    wanted = {(tenants[e.predecessor].id, tenants[e.successor].id): e for e in edges}
    existing = {(r.predecessor_id, r.successor_id): r for r in await session.scalars(select(TenantLineage))}
    by_id = {t.id: ref for ref, t in tenants.items()}

    for key, row in existing.items():
        if key not in wanted:
            await session.execute(delete(TenantLineage).where(TenantLineage.id == row.id))
            applied.lines.append(f"bỏ quan hệ kế thừa {'/'.join(by_id[key[0]])} → {'/'.join(by_id[key[1]])}")
            count("quan hệ kế thừa bỏ")
    new_edges: list[Edge] = []
    for key, edge in wanted.items():
        current = existing.get(key)
        if current is None:
            session.add(
                TenantLineage(
                    id=uuid.uuid4(),
                    predecessor_id=key[0],
                    successor_id=key[1],
                    kind=edge.kind.value,
                    effective_on=edge.effective_on,
                    position=edge.position,
                )
            )
            new_edges.append(edge)
            applied.lines.append(
                f"{KIND_NAMES[edge.kind]} ({edge.effective_on:%d/%m/%Y}): {'/'.join(edge.predecessor)} → "
                f"{'/'.join(edge.successor)}"
            )
            count("quan hệ kế thừa mới")
        elif (current.kind, current.effective_on, current.position) != (
            edge.kind.value,
            edge.effective_on,
            edge.position,
        ):
            current.kind, current.effective_on, current.position = edge.kind.value, edge.effective_on, edge.position
            count("quan hệ kế thừa cập nhật")
    await session.flush()

    archived: dict[uuid.UUID, date] = {}
    for (predecessor_id, _), edge in wanted.items():
        archived[predecessor_id] = min(archived.get(predecessor_id, edge.effective_on), edge.effective_on)
    for ref, tenant in tenants.items():
        on = archived.get(tenant.id)
        if tenant.archived_on != on:
            applied.lines.append(f"lưu trữ {'/'.join(ref)} từ {on:%d/%m/%Y}" if on else f"thôi lưu trữ {'/'.join(ref)}")
            count("đơn vị lưu trữ" if on else "đơn vị thôi lưu trữ")
            tenant.archived_on = on
    for code, province in provinces.items():
        target = provinces[merged[code]].id if code in merged else None
        if province.merged_into_id != target:
            province.merged_into_id = target
            applied.lines.append(f"tỉnh {code} sáp nhập vào {merged[code]}" if target else f"tỉnh {code} thôi sáp nhập")
            count("tỉnh sáp nhập")
    await session.flush()

    for edge in new_edges:
        await _hand_over(session, tenants[edge.predecessor], tenants[edge.successor], edge, applied, count)
    await bind_tenant(session, None)
    return applied


async def _hand_over(
    session: AsyncSession,
    predecessor: Tenant,
    successor: Tenant,
    edge: Edge,
    applied: Applied,
    count: Callable[[str], None],
) -> None:
    """The predecessor's active people get the same role in the successor: a membership when both are in one
    province (one identity provider), else an invitation to their e-mail (the successor's provider signs them in).
    Their membership of the archive stays, so they can still read it. Both tenants' audit logs say so."""
    await bind_tenant(session, predecessor.id)
    people = list(
        await session.execute(
            select(Membership.role, Membership.unit_id, User.id, User.email, Unit.code)
            .join(User, User.id == Membership.user_id)
            .outerjoin(Unit, Unit.id == Membership.unit_id)
            .where(Membership.tenant_id == predecessor.id, Membership.is_active, User.is_active)
            .order_by(User.email, Membership.role)
        )
    )
    audit_sync(
        session,
        predecessor,
        "lineage.archive",
        "tenant",
        {"successor": "/".join(edge.successor), "kind": edge.kind.value, "on": edge.effective_on.isoformat()},
    )
    await session.flush()
    await bind_tenant(session, successor.id)
    units = {u.code: u.id for u in await session.scalars(select(Unit).where(Unit.tenant_id == successor.id))}
    same_province = predecessor.province_id == successor.province_id
    moved, invited = [], []
    for role, _, user_id, email, unit_code in people:
        unit_id = units.get(unit_code) if unit_code else None
        if same_province:
            exists = await session.scalar(
                select(Membership.id).where(
                    Membership.tenant_id == successor.id, Membership.user_id == user_id, Membership.role == role
                )
            )
            if exists is None:
                session.add(Membership(tenant_id=successor.id, user_id=user_id, role=role, unit_id=unit_id))
                moved.append({"email": email, "role": role})
                count("phân quyền chuyển sang đơn vị kế tiếp")
        elif email:
            pending = await session.scalar(
                select(Invitation.id).where(
                    Invitation.tenant_id == successor.id,
                    Invitation.email == email.lower(),
                    Invitation.role == role,
                    Invitation.accepted_at.is_(None),
                    Invitation.revoked_at.is_(None),
                )
            )
            if pending is None:
                session.add(
                    Invitation(
                        tenant_id=successor.id,
                        email=email.lower(),
                        role=role,
                        unit_id=unit_id,
                        expires_at=datetime.now(UTC) + timedelta(days=REINVITE_DAYS),
                    )
                )
                invited.append({"email": email.lower(), "role": role})
                count("lời mời lại ở đơn vị kế tiếp")
    audit_sync(
        session,
        successor,
        "lineage.predecessor",
        "tenant",
        {
            "predecessor": "/".join(edge.predecessor),
            "kind": edge.kind.value,
            "on": edge.effective_on.isoformat(),
            "memberships": moved,
            "invitations": invited,
        },
    )
    await session.flush()
    if moved or invited:
        applied.lines.append(
            f"  {'/'.join(edge.successor)}: {len(moved)} phân quyền chuyển sang, {len(invited)} lời mời lại"
        )


# -- reading it (the app's role, per request) -------------------------------------------------------------------


@dataclass(frozen=True)
class Predecessor:
    id: uuid.UUID
    name: str
    code: str
    province_code: str
    province_name: str
    kind: str
    effective_on: date

    @property
    def path(self) -> str:
        return f"/t/{self.province_code}/{self.code}"

    @property
    def label(self) -> str:
        return f"{self.name} ({self.province_name})"


# Every tenant that became (part of) this one, following the lineage back (c ← b ← a gives b and a), nearest first.
_PREDECESSOR_ROWS = """
    WITH RECURSIVE earlier(id, depth, position, kind, effective_on) AS (
        SELECT predecessor_id, 1, position, kind, effective_on FROM tenant_lineage WHERE successor_id = :tenant
        UNION
        SELECT l.predecessor_id, earlier.depth + 1, l.position, l.kind, l.effective_on
          FROM tenant_lineage l JOIN earlier ON l.successor_id = earlier.id
         WHERE earlier.depth < 32
    )
    SELECT t.id, t.name, t.code, p.code AS province_code, p.name AS province_name, e.kind, e.effective_on,
           e.depth, e.position
      FROM earlier e JOIN tenants t ON t.id = e.id JOIN provinces p ON p.id = t.province_id
"""
_PREDECESSORS = text(_PREDECESSOR_ROWS + " ORDER BY e.depth, e.position, t.name")

# The same rows as one JSON column, for a page that reads them in a statement of its own (the tenant home);
# `predecessors_of` turns it into the list `predecessors` gives.
PREDECESSORS_COLUMN = (
    """(SELECT coalesce(json_agg(json_build_object('id', q.id, 'name', q.name, 'code', q.code,
                      'province_code', q.province_code, 'province_name', q.province_name, 'kind', q.kind,
                      'effective_on', q.effective_on) ORDER BY q.depth, q.position, q.name), '[]')
      FROM ("""
    + _PREDECESSOR_ROWS
    + """) q) AS predecessors"""
)


def predecessors_of(rows: list[dict[str, Any]]) -> list[Predecessor]:
    """`predecessors` from the JSON of `PREDECESSORS_COLUMN`."""
    seen: set[uuid.UUID] = set()
    found = []
    for row in rows:
        tenant_id = uuid.UUID(row["id"])
        if tenant_id not in seen:
            seen.add(tenant_id)
            found.append(
                Predecessor(
                    tenant_id,
                    row["name"],
                    row["code"],
                    row["province_code"],
                    row["province_name"],
                    row["kind"],
                    date.fromisoformat(row["effective_on"]),
                )
            )
    return found


async def predecessors(db: AsyncSession, tenant_id: uuid.UUID) -> list[Predecessor]:
    seen: set[uuid.UUID] = set()
    found = []
    for row in await db.execute(_PREDECESSORS, {"tenant": tenant_id}):
        if row.id not in seen:
            seen.add(row.id)
            found.append(
                Predecessor(
                    row.id, row.name, row.code, row.province_code, row.province_name, row.kind, row.effective_on
                )
            )
    return found


async def history_with_predecessors(
    db: AsyncSession, home: Tenant, person: Person, earlier: list[Predecessor] | None = None
) -> tuple[list[AppraisedResult], dict[int, str], list[Predecessor]]:
    """The tenant's published years, then, for the years it has none, its predecessors' (the nearest first;
    of a merger, the first named in `from`), each labelled with the predecessor's name. The successor's people
    may read their predecessors (the archive's access rule); the session is bound back to the tenant after.
    `earlier`: the predecessors, when the caller read them already."""
    own = list(await db.scalars(select(AppraisedResult).order_by(AppraisedResult.year)))
    if earlier is None:
        earlier = await predecessors(db, home.id)
    if not earlier:
        return own, {}, []
    years = {r.year for r in own}
    labels: dict[int, str] = {}
    results = list(own)
    for predecessor in earlier:
        async with reading_archive(db, home, predecessor.id, person, Permission.TENANT_VIEW):
            for result in await db.scalars(select(AppraisedResult).order_by(AppraisedResult.year)):
                if result.year not in years:
                    years.add(result.year)
                    labels[result.year] = predecessor.label
                    results.append(result)
    return sorted(results, key=lambda r: r.year), labels, earlier
