"""Published results of past years (`tenants/<province>/history/<tenant>.yaml`) into `appraised_results`.

Validated whole before anything is written (the totals must be what the components, bonus and penalty
give: a typo in a published number is caught here), then applied as the owner, tenant by tenant with the
tenant's context bound (FORCE binds the owner too). A tenant's history is replaced by its file's whole.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import yaml
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db.engine import create_session_maker
from backend.db.models import AppraisedResult, Province, Tenant
from backend.db.rls import bind_tenant
from backend.domain.scoring.aggregate import History, adjustments_frame, history_frame, load_history, totals
from backend.domain.scoring.methods import ScoringError
from backend.domain.tenants.config import ConfigProblem
from backend.web.formatting import vn_number


class HistoryError(ValueError):
    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass(frozen=True)
class HistoryFile:
    path: Path
    province: str
    history: History


def load_histories(tenants_dir: Path) -> list[HistoryFile]:
    problems: list[ConfigProblem] = []
    loaded = []
    for path in sorted(tenants_dir.glob("*/history/*.yaml")):
        try:
            history = load_history(path)
        except (OSError, yaml.YAMLError, KeyError, TypeError, ValueError, ScoringError) as exc:
            problems.append(ConfigProblem(str(path), "$", f"không đọc được lịch sử điểm: {exc}"))
            continue
        computed = totals(history_frame(history), adjustments_frame(history))
        for year, total in zip(computed["year"].to_list(), computed["total"].to_list(), strict=True):
            published = next(y.published_total for y in history.years if y.year == year)
            if published is not None and published != total:
                problems.append(
                    ConfigProblem(
                        str(path),
                        f"years.{year}.total",
                        f"tổng công bố {vn_number(published)} khác tổng tính được {vn_number(total)}",
                    )
                )
        loaded.append(HistoryFile(path, path.parent.parent.name, history))
    if problems:
        raise HistoryError(problems)
    return loaded


def _rank(text: str) -> tuple[int | None, int | None]:
    rank, _, of = text.partition("/")
    return (int(rank) if rank.strip().isdigit() else None, int(of) if of.strip().isdigit() else None)


async def import_histories(owner_engine: AsyncEngine, files: list[HistoryFile]) -> list[str]:
    report = []
    async with create_session_maker(owner_engine)() as db, db.begin():
        for file in files:
            tenant = await db.scalar(
                select(Tenant)
                .join(Province, Province.id == Tenant.province_id)
                .where(Province.code == file.province, Tenant.code == file.history.tenant)
            )
            if tenant is None:
                raise HistoryError(
                    [ConfigProblem(str(file.path), "tenant", f"đơn vị {file.history.tenant!r} chưa được đồng bộ")]
                )
            await bind_tenant(db, tenant.id)
            await db.execute(delete(AppraisedResult).where(AppraisedResult.tenant_id == tenant.id))
            # a component merged in a later year is marked in every year, so any year range lines up
            merged = {key: into for year in file.history.years for key, into in year.merged_into.items()}
            for year in file.history.years:
                rank, of = _rank(year.rank)
                areas = {
                    key: {
                        "name": file.history.components.get(key, key),
                        "achieved": str(score.achieved),
                        "max": str(score.max_points),
                        "merged_into": merged.get(key),
                    }
                    for key, score in year.scores.items()
                }
                total = sum((s.achieved for s in year.scores.values()), Decimal(0)) + year.bonus - year.penalty
                db.add(
                    AppraisedResult(
                        id=uuid.uuid4(),
                        tenant_id=tenant.id,
                        year=year.year,
                        areas=areas,
                        bonus=year.bonus,
                        penalty=year.penalty,
                        total=total,
                        rank=rank,
                        rank_of=of,
                        source=file.path.name,
                    )
                )
            await db.flush()
            report.append(f"{file.province}/{file.history.tenant}: {len(file.history.years)} năm")
        await bind_tenant(db, None)
    return report
