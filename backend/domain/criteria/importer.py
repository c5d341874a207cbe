"""Import criteria sets from tenants/<province>/criteria/<year>.yaml (all files validated first, then
applied in one transaction as the owner) or from a province admin's upload (through the app's session).
Unchanged content is a no-op; changed content becomes a new version row, never an edit in place, so an
assessment keeps the exact version it was made against."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from backend.db.engine import create_session_maker
from backend.db.models import CriteriaSet, Criterion, Province, RankingGroup
from backend.domain.criteria.config import CriteriaConfigError, load_criteria_file
from backend.domain.criteria.config import CriteriaSet as CriteriaSetFile
from backend.domain.tenants.config import ConfigProblem


def criteria_files(tenants_dir: Path) -> list[Path]:
    """One set per year (`criteria/<year>.yaml`) or one per year and ranking group (`criteria/<year>/<group>.yaml`)."""
    return sorted([*tenants_dir.glob("*/criteria/*.yaml"), *tenants_dir.glob("*/criteria/*/*.yaml")])


def load_all(tenants_dir: Path) -> list[CriteriaSetFile]:
    """Every criteria file, or CriteriaConfigError with every problem of every file."""
    problems: list[ConfigProblem] = []
    loaded = []
    for path in criteria_files(tenants_dir):
        try:
            loaded.append(load_criteria_file(path))
        except CriteriaConfigError as exc:
            problems.extend(exc.problems)
    if problems:
        raise CriteriaConfigError(problems)
    return loaded


def content_hash(criteria: CriteriaSetFile) -> str:
    payload: dict[str, object] = {
        "total_max": str(criteria.total_max),
        "maps_from_previous": criteria.maps_from_previous,
        "nodes": [{**asdict(n), "max_points": str(n.max_points)} for n in criteria.nodes],
    }
    # what sets declare since groups, parts and caps exist: only when given, so older sets keep their hash
    extra = _declared(criteria)
    if any(extra.values()):
        payload["declared"] = extra
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _declared(criteria: CriteriaSetFile) -> dict[str, object]:
    return {
        "parts": {key: str(value) for key, value in criteria.parts.items()},
        "bonus_cap": str(criteria.bonus_cap) if criteria.bonus_cap is not None else None,
        "penalty_cap": str(criteria.penalty_cap) if criteria.penalty_cap is not None else None,
        "not_applicable": [asdict(rule) for rule in criteria.not_applicable],
    }


@dataclass(frozen=True)
class Imported:
    """What importing one set did: `created` False means the newest version already had this content."""

    criteria_set: CriteriaSet
    created: bool
    criteria: int

    @property
    def line(self) -> str:
        row = self.criteria_set
        if not self.created:
            return f"không đổi (phiên bản {row.version})"
        return f"phiên bản {row.version} ({self.criteria} tiêu chí)"


async def import_criteria(owner_engine: AsyncEngine, sets: list[CriteriaSetFile]) -> list[str]:
    """Apply `sets` as the owner in one transaction; returns one line per set saying what happened."""
    async with create_session_maker(owner_engine)() as db, db.begin():
        provinces = {p.code: p for p in await db.scalars(select(Province))}
        report = []
        for criteria in sets:
            province = provinces.get(criteria.province)
            if province is None:
                raise CriteriaConfigError(
                    [ConfigProblem(str(criteria.file), "province", f"tỉnh {criteria.province!r} chưa được đồng bộ")]
                )
            imported = await import_set(db, province, criteria)
            group = f" {criteria.group}" if criteria.group else ""
            report.append(f"{criteria.province} {criteria.year}{group}: {imported.line}")
    return report


async def import_set(db: AsyncSession, province: Province, criteria: CriteriaSetFile) -> Imported:
    """Add `criteria` (validated, of `province`) as the year's next version, unless the newest has the same content.

    Runs in the caller's transaction: the owner's (the CLI) or the application's (the province admin's upload,
    which may insert sets but never edit one). A version is never changed, frozen or not.
    """
    group_id = None
    if criteria.group is not None:
        group_id = await db.scalar(
            select(RankingGroup.id).where(RankingGroup.province_id == province.id, RankingGroup.code == criteria.group)
        )
        if group_id is None:
            raise CriteriaConfigError(
                [
                    ConfigProblem(
                        str(criteria.file),
                        "group",
                        f"nhóm xếp hạng {criteria.group!r} không có trong ranking_groups của tỉnh (province.yaml)",
                    )
                ]
            )
    # Two imports of the same year at once would both pick the same next version: take them in turn.
    await db.execute(
        select(
            func.pg_advisory_xact_lock(
                func.hashtextextended(f"criteria:{province.id}:{criteria.year}:{criteria.group or ''}", 0)
            )
        )
    )
    digest = content_hash(criteria)
    latest = await db.scalar(
        select(CriteriaSet)
        .where(
            CriteriaSet.province_id == province.id,
            CriteriaSet.year == criteria.year,
            CriteriaSet.ranking_group_id.is_not_distinct_from(group_id),
        )
        .order_by(CriteriaSet.version.desc())
        .limit(1)
    )
    if latest is not None and latest.content_hash == digest:
        count = await db.scalar(select(func.count()).where(Criterion.criteria_set_id == latest.id))
        return Imported(latest, created=False, criteria=count or 0)
    version = (latest.version + 1) if latest is not None else 1
    row = CriteriaSet(
        id=uuid.uuid4(),
        province_id=province.id,
        year=criteria.year,
        version=version,
        content_hash=digest,
        total_max=criteria.total_max,
        maps_from_previous=criteria.maps_from_previous,
        source_file=str(criteria.file.name)[:255],
        ranking_group_id=group_id,
        parts={key: str(value) for key, value in criteria.parts.items()},
        bonus_cap=criteria.bonus_cap,
        penalty_cap=criteria.penalty_cap,
        not_applicable=[
            {"attribute": r.attribute, "criteria": list(r.criteria), "reason": r.reason}
            for r in criteria.not_applicable
        ],
    )
    db.add(row)
    ids: dict[str, uuid.UUID] = {}
    for node in criteria.nodes:
        ids[node.code] = uuid.uuid4()
        db.add(
            Criterion(
                id=ids[node.code],
                criteria_set_id=row.id,
                parent_id=ids[node.parent_code] if node.parent_code else None,
                code=node.code,
                depth=node.depth,
                position=node.position,
                title=node.title,
                max_points=node.max_points,
                kind=node.kind,
                method=node.method,
                evidence=node.evidence,
                lead_unit=node.lead_unit,
                appraising_agency=node.appraising_agency,
            )
        )
    await db.flush()
    count = await db.scalar(select(func.count()).where(Criterion.criteria_set_id == row.id))
    return Imported(row, created=True, criteria=count or 0)
