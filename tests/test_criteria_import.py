"""Criteria sets land in PostgreSQL as exact decimals; a changed set is a new version, never an edit."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.domain.criteria.config import CriteriaConfigError
from backend.domain.criteria.importer import import_criteria, load_all
from backend.settings import PROJECT_ROOT

pytestmark = pytest.mark.usefixtures("demo_tenants")

SHIPPED = PROJECT_ROOT / "tenants" / "ha-tinh" / "criteria" / "2020"


def _copy(tmp_path: Path, group: str = "so-ban-nganh") -> Path:
    target = tmp_path / "ha-tinh" / "criteria" / "2020"
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(SHIPPED / f"{group}.yaml", target / f"{group}.yaml")
    return target / f"{group}.yaml"


async def _versions(engine: AsyncEngine) -> list[tuple[int, Decimal]]:
    async with engine.connect() as db:
        rows = await db.execute(text("SELECT version, total_max FROM criteria_sets ORDER BY version"))
        return [(row.version, row.total_max) for row in rows]


async def test_import_stores_exact_points_and_is_idempotent(owner_engine: AsyncEngine, tmp_path: Path) -> None:
    _copy(tmp_path)
    report = await import_criteria(owner_engine, load_all(tmp_path))
    assert report[0].startswith("ha-tinh 2020 so-ban-nganh: phiên bản 1")
    assert "không đổi" in (await import_criteria(owner_engine, load_all(tmp_path)))[0]
    assert await _versions(owner_engine) == [(1, Decimal("100.000"))]
    async with owner_engine.connect() as db:
        row = (await db.execute(text("SELECT max_points, method FROM criteria WHERE code = '1.2'"))).one()
        children = await db.scalar(
            text("SELECT count(*) FROM criteria c JOIN criteria p ON p.id = c.parent_id WHERE p.code = '1'")
        )
    assert row.max_points == Decimal("1.500")
    assert row.method["type"] == "ratio"
    assert children
    assert children > 0


async def test_each_ranking_group_has_its_own_set_and_versions(owner_engine: AsyncEngine, tmp_path: Path) -> None:
    for group in ("so-ban-nganh", "xa-phuong", "co-quan-trung-uong"):
        _copy(tmp_path, group)
    report = await import_criteria(owner_engine, load_all(tmp_path))
    assert sorted(line.split(":")[0] for line in report) == [
        "ha-tinh 2020 co-quan-trung-uong",
        "ha-tinh 2020 so-ban-nganh",
        "ha-tinh 2020 xa-phuong",
    ]
    async with owner_engine.connect() as db:
        rows = await db.execute(
            text(
                "SELECT g.code, s.version, s.total_max, s.parts FROM criteria_sets s"
                " JOIN ranking_groups g ON g.id = s.ranking_group_id ORDER BY g.code"
            )
        )
        assert [tuple(row) for row in rows] == [
            ("co-quan-trung-uong", 1, Decimal("60.000"), {"criteria": "40", "survey": "20"}),
            ("so-ban-nganh", 1, Decimal("100.000"), {"criteria": "80", "survey": "20"}),
            ("xa-phuong", 1, Decimal("100.000"), {"criteria": "70", "survey": "30"}),
        ]


async def test_a_set_for_an_undeclared_group_is_refused_with_nothing_saved(
    owner_engine: AsyncEngine, tmp_path: Path
) -> None:
    path = _copy(tmp_path)
    unknown = path.with_name("khong-co.yaml")
    unknown.write_text(path.read_text(encoding="utf-8").replace("group: so-ban-nganh", "group: khong-co"), "utf-8")
    with pytest.raises(CriteriaConfigError) as error:
        await import_criteria(owner_engine, load_all(tmp_path))
    (problem,) = error.value.problems
    assert str(problem) == (
        f"{unknown}: group: nhóm xếp hạng 'khong-co' không có trong ranking_groups của tỉnh (province.yaml)"
    )
    assert await _versions(owner_engine) == []


async def test_a_changed_set_becomes_a_new_version_and_the_old_one_stays(
    owner_engine: AsyncEngine, tmp_path: Path
) -> None:
    path = _copy(tmp_path)
    await import_criteria(owner_engine, load_all(tmp_path))
    path.write_text(
        path.read_text(encoding="utf-8").replace('title: "Chỉ đạo', 'title: "(sửa) Chỉ đạo', 1), encoding="utf-8"
    )
    report = await import_criteria(owner_engine, load_all(tmp_path))
    assert report == [report[0]]
    assert "phiên bản 2" in report[0]
    assert [v for v, _ in await _versions(owner_engine)] == [1, 2]


async def test_a_bad_file_rejects_the_whole_import(owner_engine: AsyncEngine, tmp_path: Path) -> None:
    _copy(tmp_path)
    bad = tmp_path / "ba-ria-vung-tau" / "criteria"
    bad.mkdir(parents=True)
    (bad / "2023.yaml").write_text(
        "province: ba-ria-vung-tau\nyear: 2023\ntotal_max: '-1'\nareas: []\n", encoding="utf-8"
    )
    with pytest.raises(CriteriaConfigError) as error:
        load_all(tmp_path)
    assert any("2023.yaml" in str(problem) for problem in error.value.problems)
    assert await _versions(owner_engine) == []


async def test_the_application_role_only_reads_criteria(
    app_engine: AsyncEngine, owner_engine: AsyncEngine, tmp_path: Path
) -> None:
    _copy(tmp_path)
    await import_criteria(owner_engine, load_all(tmp_path))
    async with app_engine.connect() as db:
        assert (await db.scalar(text("SELECT count(*) FROM criteria"))) > 0
        with pytest.raises(DBAPIError, match="permission denied"):
            await db.execute(text("UPDATE criteria SET max_points = 99"))


def test_ba_ria_vung_tau_structure_2019_to_2023_sums_to_100_and_2023_dti_gives_9_376() -> None:
    from backend.domain.criteria.config import rule_for

    sets = {s.year: s for s in load_all(PROJECT_ROOT / "tenants") if s.province == "ba-ria-vung-tau"}
    assert sorted(sets) == [2019, 2020, 2021, 2022, 2023, 2024]  # 2024: the demo set with bonus and penalty
    for criteria in sets.values():
        areas = [n for n in criteria.nodes if n.depth == 0 and n.kind in {"criterion", "survey"}]
        assert sum((n.max_points for n in areas), Decimal(0)) == Decimal(100)
    assert sets[2023].maps_from_previous == {"8": "3"}
    dti = rule_for(sets[2023].node("7"))
    assert dti is not None
    assert dti.score(Decimal("93.76")) == Decimal("9.376")  # type: ignore[call-arg]


async def test_every_shipped_criteria_set_imports(owner_engine: AsyncEngine) -> None:
    report = await import_criteria(owner_engine, load_all(PROJECT_ROOT / "tenants"))
    # Bà Rịa – Vũng Tàu 2019–2024, Hà Tĩnh 2020 for each of its three groups, Hồ Chí Minh 2025 for its two
    assert len(report) == 11
    assert all("phiên bản 1" in line for line in report)
