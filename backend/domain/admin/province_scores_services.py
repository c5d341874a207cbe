"""What the province's Sở Nội vụ enters for the whole province: criteria set versions (uploaded YAML) and the
external scores of every department (survey parts such as SIPAS and the leaders' assessment, indices such as DTI).

External scores are written through the one cross-tenant path (see `province`): the session is bound to each
target tenant in turn, so row-level security checks every row, then bound back to the Sở Nội vụ. Every change
is audited in the tenant it changed and once in the Sở Nội vụ. Nothing is written unless everything is valid.
"""

from __future__ import annotations

import unicodedata
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any

import anyio.to_thread
from litestar import Response
from litestar.exceptions import NotFoundException
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.permissions import Permission
from backend.db.models import (
    AuditEntry,
    CriteriaSet,
    Criterion,
    ExternalScore,
    Province,
    RankingGroup,
    Tenant,
    TenantKind,
)
from backend.db.rls import acting_in, reading_province
from backend.domain.admin.province import home_affairs_only
from backend.domain.assessments import not_applicable
from backend.domain.assessments.xlsx import (
    ExternalColumn,
    ImportProblem,
    external_template,
    read_external_scores,
    vn_points,
)
from backend.domain.criteria.config import CriteriaConfigError, load_criteria_text
from backend.domain.criteria.config import CriteriaSet as CriteriaSetFile
from backend.domain.criteria.importer import Imported, import_set
from backend.domain.scoring.methods import POINTS_PLACES, IndexFormula, ScoringError, parse_decimal, quantize
from backend.domain.tenants.config import ConfigProblem
from backend.domain.tenants.deps import TenantContext, ensure_writable
from backend.web.downloads import XLSX, download

MAX_UPLOAD_BYTES = 1024 * 1024
MAX_CRITERIA = 1000  # nodes in one set; real ones have around a hundred
ENTERED_BY_PROVINCE = ("external", "index")
INDEX_SCALE = Decimal(100)  # an index (DTI, PAR Index …) is on a 0–100 scale unless the factor asks for more
MAX_TYPED = 40


# ---- criteria sets ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CriteriaSetSummary:
    criteria_set: CriteriaSet
    criteria: int


async def criteria_sets(db: AsyncSession, province: Province) -> list[CriteriaSetSummary]:
    """Every version of every year of the province's criteria sets, newest first, with its number of criteria."""
    rows = await db.execute(
        select(CriteriaSet, func.count(Criterion.id))
        .outerjoin(Criterion, Criterion.criteria_set_id == CriteriaSet.id)
        .where(CriteriaSet.province_id == province.id)
        .group_by(CriteriaSet.id)
        .order_by(CriteriaSet.year.desc(), CriteriaSet.version.desc())
    )
    return [CriteriaSetSummary(criteria_set, count) for criteria_set, count in rows]


async def criteria_years(db: AsyncSession, province: Province) -> list[int]:
    rows = await db.scalars(
        select(CriteriaSet.year).where(CriteriaSet.province_id == province.id).distinct().order_by(CriteriaSet.year)
    )
    return list(rows)


def upload_name(filename: str | None) -> str:
    """The uploaded file's own name (no folders, no control characters), as it is stored and shown."""
    name = PureWindowsPath(PurePosixPath(filename or "").name).name
    name = "".join(c for c in unicodedata.normalize("NFC", name) if unicodedata.category(c)[0] != "C").strip()
    return name[:255] or "bo-chi-so.yaml"


def problem_text(problem: ConfigProblem) -> str:
    """ "code 1.2: reason", or the reason alone for the whole file."""
    return problem.reason if problem.path == "$" else f"{problem.path}: {problem.reason}"


def check_upload(data: bytes, name: str, province_code: str) -> CriteriaSetFile | list[str]:
    """The uploaded criteria set, validated for this province, or every problem found (Vietnamese)."""
    if len(data) > MAX_UPLOAD_BYTES:
        return [f"Tệp lớn hơn {MAX_UPLOAD_BYTES // (1024 * 1024)} MB: bộ chỉ số không cần lớn như vậy."]
    if not data.strip():
        return ["Tệp rỗng: không có nội dung."]
    try:
        loaded = load_criteria_text(data, name, province_code)
    except CriteriaConfigError as exc:
        return [problem_text(p) for p in exc.problems]
    if len(loaded.nodes) > MAX_CRITERIA:
        return [f"Bộ chỉ số có {len(loaded.nodes)} tiêu chí, quá {MAX_CRITERIA}."]
    return loaded


async def upload_criteria(
    db: AsyncSession, ctx: TenantContext, data: bytes, filename: str | None
) -> tuple[Imported | None, list[str]]:
    """Validate an uploaded criteria set and import it as the year's next version (unchanged content: no new
    version). Audited in the Sở Nội vụ. Returns what was imported, or the problems and nothing written."""
    name = upload_name(filename)
    # Reading a large YAML file takes seconds of pure Python: not on the event loop.
    checked = await anyio.to_thread.run_sync(check_upload, data, name, ctx.province.code)
    if isinstance(checked, list):
        return None, checked
    try:
        imported = await import_set(db, ctx.province, checked)
    except CriteriaConfigError as exc:  # a ranking group the province does not declare: refused before any write
        return None, [problem_text(p) for p in exc.problems]
    if imported.created:
        row = imported.criteria_set
        db.add(
            AuditEntry.by(
                ctx.tenant.id,
                ctx.principal.user_id,
                "criteria.upload",
                "criteria-set",
                str(row.id),
                after={
                    "year": row.year,
                    "version": row.version,
                    "source_file": row.source_file,
                    "total_max": vn_points(row.total_max),
                    "criteria": imported.criteria,
                    "content_hash": row.content_hash,
                },
            )
        )
        await db.flush()
    return imported, []


# ---- external scores ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExternalCriterion:
    """A criterion the Sở Nội vụ enters for every department: points ("external") or an index value ("index")."""

    id: uuid.UUID
    code: str
    title: str
    max_points: Decimal
    factor: Decimal | None  # for an index: points = IndexFormula(max_points, factor).score(value)

    @property
    def is_index(self) -> bool:
        return self.factor is not None

    @property
    def ceiling(self) -> Decimal:
        """The largest value that may be entered: the max points, or for an index its scale (at least 0–100)."""
        if self.factor is None:
            return self.max_points
        return max(INDEX_SCALE, quantize(self.max_points / self.factor))

    def points_for(self, entered: Decimal) -> Decimal:
        if self.factor is None:
            return quantize(entered)
        return IndexFormula(self.max_points, self.factor).score(entered)

    def column(self) -> ExternalColumn:
        """The spreadsheet column: an index column holds the index value, within the index's scale."""
        if self.factor is None:
            return ExternalColumn(self.code, self.title, self.max_points)
        title = (
            f"{self.title} — nhập giá trị chỉ số từ 0 đến {vn_points(self.ceiling)}; "
            f"điểm = chỉ số × {vn_points(self.factor)}, tối đa {vn_points(self.max_points)}"
        )
        return ExternalColumn(self.code, title, self.ceiling)


@dataclass(frozen=True)
class StoredScore:
    value: Decimal | None
    points: Decimal
    source: str

    def entered(self, criterion: ExternalCriterion) -> Decimal | None:
        """What the person typed: the index value for an index, else the points."""
        return self.value if criterion.is_index else self.points


@dataclass
class ExternalGrid:
    """The year's newest criteria set, its criteria entered by the province, the tenants, what is stored."""

    year: int
    criteria_set: CriteriaSet
    criteria: list[ExternalCriterion]
    tenants: list[Tenant]
    stored: dict[tuple[uuid.UUID, str], StoredScore] = field(default_factory=dict)  # (tenant id, code)
    group: RankingGroup | None = None  # the ranking group whose set this is (None: one set for every group)
    groups: list[RankingGroup] = field(default_factory=list)  # the groups with a set of their own this year

    @property
    def query(self) -> str:
        """The group in a URL's query ("?nhom=xa-phuong"), so every link and form stays on this group."""
        return f"?nhom={self.group.code}" if self.group is not None else ""

    @staticmethod
    def field(tenant: Tenant, criterion: ExternalCriterion) -> str:
        return f"{tenant.code}:{criterion.code}"

    @staticmethod
    def cell_id(tenant: Tenant, criterion: ExternalCriterion) -> str:
        return f"o-{tenant.code}-{criterion.code.replace('.', '-')}"

    def score(self, tenant: Tenant, criterion: ExternalCriterion) -> StoredScore | None:
        return self.stored.get((tenant.id, criterion.code))

    def shown(self, tenant: Tenant, criterion: ExternalCriterion) -> str:
        """The stored value as the person typed it, with a decimal comma ("" when nothing is stored)."""
        stored = self.score(tenant, criterion)
        entered = stored.entered(criterion) if stored is not None else None
        return vn_points(entered) if entered is not None else ""


Entries = dict[str, dict[str, Decimal | None]]  # tenant code → criterion code → value (None: clear it)


async def home_affairs_grid(
    db: AsyncSession, ctx: TenantContext, year: int, group: str | None, *, missing: str, elsewhere: str | None = None
) -> ExternalGrid:
    """The grid of `year` for the page and the API alike: only in the province's Sở Nội vụ (a 404 with `elsewhere`
    anywhere else), and a 404 with `missing` when the year has no criteria set (or no such ranking group)."""
    if elsewhere is None:
        home_affairs_only(ctx)
    else:
        home_affairs_only(ctx, elsewhere)
    grid = await load_grid(db, ctx, year, group)
    if grid is None:
        raise NotFoundException(missing)
    return grid


def template_download(ctx: TenantContext, grid: ExternalGrid) -> Response[bytes]:
    """The blank workbook of `grid` (its departments and criteria), as the page and the API send it."""
    return download(
        template_workbook(grid),
        f"Điểm khảo sát, chỉ số {grid.year} - {ctx.province.name}.xlsx",
        XLSX,
        ascii_name=f"diem-ngoai-{ctx.province.code}-{grid.year}.xlsx",
    )


async def load_grid(db: AsyncSession, ctx: TenantContext, year: int, group: str | None = None) -> ExternalGrid | None:
    """The external-scores grid of `year` with every department's stored values; None: no criteria set that year
    (or no such ranking group). When the year has a set per ranking group, the grid is one group's: its set's
    criteria (survey weights differ by group) and its tenants; `group` picks it, the first group by default."""
    sets = list(
        await db.execute(
            select(CriteriaSet, RankingGroup)
            .outerjoin(RankingGroup, RankingGroup.id == CriteriaSet.ranking_group_id)
            .where(CriteriaSet.province_id == ctx.province.id, CriteriaSet.year == year)
            .order_by(RankingGroup.code.nulls_first(), CriteriaSet.version.desc())
        )
    )
    groups: list[RankingGroup] = []
    for _, ranking_group in sets:
        if ranking_group is not None and ranking_group not in groups:
            groups.append(ranking_group)
    active = set(
        await db.scalars(
            select(Tenant.ranking_group_id).where(
                Tenant.province_id == ctx.province.id, Tenant.is_active, Tenant.kind != TenantKind.HOME_AFFAIRS.value
            )
        )
    )
    default = next((g for g in groups if g.id in active), groups[0] if groups else None)
    chosen = next((g for g in groups if g.code == group), None) if group is not None else default
    if (group is not None and chosen is None) or not sets:
        return None
    criteria_set = next(s for s, g in sets if g is chosen)
    nodes = list(await db.scalars(select(Criterion).where(Criterion.criteria_set_id == criteria_set.id)))
    tenants = list(
        await db.scalars(
            select(Tenant)
            .where(
                Tenant.province_id == ctx.province.id, Tenant.is_active, Tenant.kind != TenantKind.HOME_AFFAIRS.value
            )
            .order_by(Tenant.kind, Tenant.name)
        )
    )
    if chosen is not None:
        tenants = [t for t in tenants if t.ranking_group_id == chosen.id]
    grid = ExternalGrid(year, criteria_set, _entered_by_province(nodes), tenants, group=chosen, groups=groups)
    by_id = {c.id: c for c in grid.criteria}
    if not by_id:
        return grid
    async with reading_province(db, ctx.tenant, ctx.principal, Permission.EXTERNAL_SCORES_ENTER):
        scores = await db.scalars(
            select(ExternalScore).where(
                ExternalScore.tenant_id.in_([t.id for t in tenants]), ExternalScore.criterion_id.in_(list(by_id))
            )
        )
        for score in scores:
            grid.stored[(score.tenant_id, by_id[score.criterion_id].code)] = StoredScore(
                score.value, score.points, score.source
            )
    return grid


def _entered_by_province(nodes: list[Criterion]) -> list[ExternalCriterion]:
    """The leaves whose method is external or index, depth-first in the set's order."""
    children: dict[uuid.UUID | None, list[Criterion]] = {}
    for node in nodes:
        children.setdefault(node.parent_id, []).append(node)
    found: list[ExternalCriterion] = []

    def walk(node: Criterion) -> None:
        below = sorted(children.get(node.id, []), key=lambda n: n.position)
        method = str(node.method.get("type", "manual"))
        if not below and method in ENTERED_BY_PROVINCE:
            factor = Decimal(str(node.method["factor"])) if method == "index" else None
            found.append(ExternalCriterion(node.id, node.code, node.title, node.max_points, factor))
        for child in below:
            walk(child)

    for area in sorted(children.get(None, []), key=lambda n: n.position):
        walk(area)
    return found


def parse_entry(criterion: ExternalCriterion, typed: str) -> Decimal | None:
    """One typed cell ("75,25" or "75.25"): the value to store, None to clear it, or ScoringError (Vietnamese)."""
    text = typed.strip()
    if not text:
        return None
    what = "Chỉ số" if criterion.is_index else "Điểm"
    if len(text) > MAX_TYPED:
        raise ScoringError("Giá trị quá dài.")
    value = parse_decimal(text)
    if value < 0:
        raise ScoringError(f"{what} không được âm.")
    exponent = value.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > POINTS_PLACES:
        raise ScoringError(f"{what} có tối đa {POINTS_PLACES} chữ số thập phân.")
    if value > criterion.ceiling:
        if criterion.is_index:
            raise ScoringError(f"Chỉ số {vn_points(value)} vượt quá {vn_points(criterion.ceiling)}.")
        raise ScoringError(f"Điểm {vn_points(value)} vượt quá điểm tối đa {vn_points(criterion.max_points)}.")
    return quantize(abs(value))  # abs: "-0" is 0


@dataclass
class GridInput:
    typed: dict[str, str] = field(default_factory=dict)  # field → what was typed, shown back on errors
    entries: Entries = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)  # field → message


def parse_grid(grid: ExternalGrid, form: Mapping[str, Any]) -> GridInput:
    """Check every cell of the posted grid. A cell missing from the form is left as stored; an empty one clears."""
    result = GridInput()
    for tenant in grid.tenants:
        for criterion in grid.criteria:
            name = grid.field(tenant, criterion)
            if name not in form:
                continue
            typed = str(form.get(name) or "")
            result.typed[name] = typed[:200]
            try:
                result.entries.setdefault(tenant.code, {})[criterion.code] = parse_entry(criterion, typed)
            except ScoringError as exc:
                result.errors[name] = str(exc)
    return result


async def read_workbook(grid: ExternalGrid, data: bytes) -> tuple[Entries, list[ImportProblem]]:
    """A filled-in template: the non-empty cells (empty ones leave what is stored), or every problem."""
    tenants = {t.code: t.name for t in grid.tenants}
    columns = [c.column() for c in grid.criteria]
    # openpyxl reads a large workbook for a while: not on the event loop.
    values, problems = await anyio.to_thread.run_sync(read_external_scores, data, tenants, columns)
    entries: Entries = {}
    for value in values:
        entries.setdefault(value.tenant_code, {})[value.criterion_code] = value.points
    return entries, problems


async def import_workbook(
    db: AsyncSession, ctx: TenantContext, grid: ExternalGrid, data: bytes, source: str
) -> tuple[Entries, list[ImportProblem], int]:
    """A filled-in template saved all or nothing (the page's import and the API's): the entries read, the problems
    (nothing saved when there is one) and how many tenants changed."""
    entries, problems = await read_workbook(grid, data)
    if problems:
        return entries, problems, 0
    return entries, problems, await save_entries(db, ctx, grid, entries, source=source)


def template_workbook(grid: ExternalGrid) -> bytes:
    return external_template([(t.code, t.name) for t in grid.tenants], [c.column() for c in grid.criteria], grid.year)


async def save_entries(db: AsyncSession, ctx: TenantContext, grid: ExternalGrid, entries: Entries, source: str) -> int:
    """Store `entries` (already valid) for every tenant they name; returns how many tenants changed.

    Each tenant's rows are written with the session bound to that tenant and audited there (before/after of
    what changed); one entry in the Sở Nội vụ sums up the whole save.
    """
    actor = ctx.principal.user_id
    by_code = {c.code: c for c in grid.criteria}
    changed: dict[str, list[str]] = {}
    for tenant in grid.tenants:  # an archive among them refuses the whole save, before anything is written
        if entries.get(tenant.code):
            await ensure_writable(db, tenant)
    for tenant in grid.tenants:
        wanted = entries.get(tenant.code)
        if not wanted:
            continue
        async with acting_in(db, ctx.tenant, tenant, ctx.principal, Permission.EXTERNAL_SCORES_ENTER):
            ids = [by_code[code].id for code in wanted]
            rows = {
                r.criterion_id: r
                for r in await db.scalars(select(ExternalScore).where(ExternalScore.criterion_id.in_(ids)))
            }
            before: dict[str, Any] = {}
            after: dict[str, Any] = {}
            for code, entered in wanted.items():
                criterion = by_code[code]
                row = rows.get(criterion.id)
                old = _state(row)
                if entered is None:
                    if row is not None:
                        await db.delete(row)
                    new = None
                else:
                    value, points = (entered if criterion.is_index else None), criterion.points_for(entered)
                    new = {"value": _text(value), "points": _text(points)}
                    if new == old:
                        continue
                    if row is None:
                        row = ExternalScore(id=uuid.uuid4(), tenant_id=tenant.id, criterion_id=criterion.id)
                        db.add(row)
                    row.value, row.points, row.source = value, points, source
                    row.entered_by, row.entered_at = actor, datetime.now(UTC)
                if new != old:
                    before[code], after[code] = old, new
            if after:
                db.add(
                    AuditEntry.by(
                        tenant.id,
                        ctx.principal.user_id,
                        "external.enter",
                        "external-scores",
                        str(grid.year),
                        before={"scores": before},
                        after={"scores": after, "source": source, "entered_in": ctx.tenant.code},
                    )
                )
                changed[tenant.code] = sorted(after)
            # Flushed while still bound to this tenant: row-level security checks each row in its own tenant.
            await db.flush()
    if changed:
        db.add(
            AuditEntry.by(
                ctx.tenant.id,
                ctx.principal.user_id,
                "external.enter",
                "external-scores",
                str(grid.year),
                after={"year": grid.year, "version": grid.criteria_set.version, "source": source, "tenants": changed},
            )
        )
        await db.flush()
    return len(changed)


async def decide_not_applicable(
    db: AsyncSession, ctx: TenantContext, year: int, decisions: Iterable[tuple[str, str, str]]
) -> list[tuple[str, str]]:
    """After survey answers are saved: each (tenant code, item code, reason) that had too few answers does not apply
    to its unit (`not_applicable.decide`). A unit or item no longer in the set has nothing to decide and is passed
    over; the (tenant code, item code) decided, in order."""
    decided = []
    for tenant_code, code, reason in decisions:
        try:
            await not_applicable.decide(db, ctx, year, tenant_code, code, reason)
        except not_applicable.DecisionError:
            continue
        decided.append((tenant_code, code))
    return decided


def _state(row: ExternalScore | None) -> dict[str, str | None] | None:
    if row is None:
        return None
    return {"value": _text(row.value), "points": _text(row.points)}


def _text(value: Decimal | None) -> str | None:
    return f"{value.normalize():f}" if value is not None else None
