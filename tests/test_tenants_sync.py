"""`tenants sync` on real PostgreSQL: applies the files as the owner, idempotently and all-or-nothing.

"Nothing changed" is checked on full snapshots of every table, ids and timestamps included. Tenant-owned tables are
FORCEd under row-level security, so the owner too reads them one tenant at a time.
"""

from __future__ import annotations

import copy
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db.engine import create_session_maker
from backend.db.models import (
    AuditEntry,
    Membership,
    Province,
    Tenant,
    Unit,
    UnitGroup,
    UnitGroupMember,
    User,
)
from backend.db.rls import bind_tenant
from backend.domain.tenants.config import LoadedProvince, TenantConfigError, load_directory
from backend.domain.tenants.lineage import ACTOR
from backend.domain.tenants.sync import sync_tenants
from backend.settings import PROJECT_ROOT
from tests.factories import Snapshot, snapshot, sync_dir
from tests.province_files import BAD_INPUTS, Mutation, sample_province, write_province

DEMO_DIR = PROJECT_ROOT / "tenants"

pytestmark = pytest.mark.usefixtures("database")


def counts(rows: Snapshot) -> dict[str, int]:
    return {table: len(table_rows) for table, table_rows in rows.items()}


async def tenant_id(engine: AsyncEngine, province: str, tenant: str) -> uuid.UUID:
    async with engine.connect() as connection:
        value = await connection.scalar(
            select(Tenant.id).join(Province).where(Province.code == province, Tenant.code == tenant)
        )
    assert value is not None, (province, tenant)
    return value


async def seen_by_app(engine: AsyncEngine, tenant: uuid.UUID) -> dict[str, Any]:
    """A tenant's own rows, read through the application's session and the tenant policies with that tenant's
    context (as the jobs' role, which they trust with the tenant alone: no person's session here)."""
    async with create_session_maker(engine)() as session:
        await bind_tenant(session, tenant)
        units = list(await session.scalars(select(Unit).order_by(Unit.position)))
        code_of = {u.id: u.code for u in units}
        groups = list(await session.scalars(select(UnitGroup).order_by(UnitGroup.code)))
        members = list(await session.scalars(select(UnitGroupMember)))
        memberships = list(await session.scalars(select(Membership)))
        emails = {u.id: u.email for u in await session.scalars(select(User))}
        audit = list(await session.scalars(select(AuditEntry).order_by(AuditEntry.id)))
    position = {u.id: u.position for u in units}
    return {
        "units": [(u.code, u.name, u.kind) for u in units],
        "groups": {
            g.code: [
                code_of[m.unit_id]
                for m in sorted(members, key=lambda m: position[m.unit_id])
                if m.unit_group_id == g.id
            ]
            for g in groups
        },
        "memberships": sorted(
            (emails[m.user_id], m.role, code_of[m.unit_id] if m.unit_id else None) for m in memberships
        ),
        "audit": audit,
        "tenant_ids": {row.tenant_id for rows in (units, groups, members, memberships, audit) for row in rows},
    }


def copy_sample(root: Path, mutate: Mutation | None = None) -> tuple[Path, dict[str, Any]]:
    data = sample_province()
    if mutate is not None:
        mutate(data)
    return write_province(root, data), data


# --- applying ----------------------------------------------------------------------------------------------------


async def test_sync_applies_the_demo_configuration(owner_engine: AsyncEngine) -> None:
    provinces = load_directory(DEMO_DIR)

    report = await sync_tenants(owner_engine, provinces, demo_people=True)

    tenants = [t for p in provinces for t in p.config.tenants]
    units = sum(len(t.units) for t in tenants)
    # Bà Rịa – Vũng Tàu, Hà Tĩnh and Thành phố Hồ Chí Minh (the 2025 map; the lineage is not applied here)
    assert report.changes["tỉnh mới"] == 3
    # Hà Tĩnh's UBND phường Thành Sen and Hồ Chí Minh's four phường, xã, đặc khu among them
    assert report.changes["sở, ngành mới"] == len(tenants) == 15
    assert report.changes["phòng, đơn vị mới"] == units == 77
    expected = {
        "provinces": 3,
        "ranking_groups": 7,
        "tenants": 15,
        "units": 77,
        "unit_groups": sum(len(t.unit_groups) for t in tenants),
        "unit_group_members": sum(len(g.members) for t in tenants for g in t.unit_groups),
        "users": len({p.email for t in tenants for p in t.demo_people}),
        "memberships": sum(len(t.demo_people) for t in tenants),
        "audit_log": 15,  # one per tenant: its units were created
        "result_classes": 34,  # Hà Tĩnh 2020: Nhóm I–IV; Hồ Chí Minh 2021–2026: five classes a year
    }
    rows = counts(await snapshot(owner_engine))
    assert {table: rows[table] for table in expected} == expected
    async with create_session_maker(owner_engine)() as session:
        brvt = await session.scalar(select(Province).where(Province.code == "ba-ria-vung-tau"))
    assert brvt is not None
    assert brvt.name == "Tỉnh Bà Rịa – Vũng Tàu"
    assert brvt.settings["report_deadlines"][-1] == {"period": "nam", "due": "15/11"}
    assert brvt.settings["identity_provider"]["issuer"].startswith("https://sso.ba-ria-vung-tau.")


async def test_every_tenant_owned_row_carries_its_tenant_id_as_seen_by_the_app_role(
    owner_engine: AsyncEngine, jobs_engine: AsyncEngine
) -> None:
    provinces = load_directory(DEMO_DIR)
    await sync_tenants(owner_engine, provinces, demo_people=True)

    for loaded in provinces:
        for config in loaded.config.tenants:
            tid = await tenant_id(jobs_engine, loaded.config.province.code, config.code)
            seen = await seen_by_app(jobs_engine, tid)
            assert seen["tenant_ids"] == {tid}
            assert seen["units"] == [(u.code, u.name, u.kind) for u in config.units]
            assert seen["groups"] == {g.code: g.members for g in config.unit_groups}
            assert seen["memberships"] == sorted((p.email, p.role, p.unit) for p in config.demo_people)
            assert [(a.actor, a.action, a.entity, a.entity_id) for a in seen["audit"]] == [
                (ACTOR, "sync", "units", config.code)
            ]


async def test_the_app_role_cannot_apply_the_configuration_only_the_owner_can(
    owner_engine: AsyncEngine, app_engine: AsyncEngine
) -> None:
    before = await snapshot(owner_engine)
    with pytest.raises(DBAPIError, match="permission denied"):
        await sync_dir(app_engine, DEMO_DIR)
    assert await snapshot(owner_engine) == before


async def test_second_sync_reports_no_change_and_changes_nothing(owner_engine: AsyncEngine) -> None:
    first = await sync_dir(owner_engine, DEMO_DIR)
    assert first.summary() != "không có thay đổi"
    before = await snapshot(owner_engine)

    second = await sync_dir(owner_engine, DEMO_DIR)

    assert second.summary() == "không có thay đổi"
    assert await snapshot(owner_engine) == before  # ids, timestamps and audit log included


async def test_a_re_sync_that_changes_nothing_reads_each_province_in_a_few_statements(
    owner_engine: AsyncEngine,
) -> None:
    """Not one statement per tenant: a province's units, unit groups and board columns are read at once
    (migration 0027), and a tenant as its file says is neither bound nor read again."""
    provinces = load_directory(DEMO_DIR)
    await sync_tenants(owner_engine, provinces)
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    event.listen(owner_engine.sync_engine, "before_cursor_execute", count)
    try:
        report = await sync_tenants(owner_engine, provinces)
    finally:
        event.remove(owner_engine.sync_engine, "before_cursor_execute", count)
    assert report.summary() == "không có thay đổi"
    tenants = sum(len(p.config.tenants) for p in provinces)
    assert len(statements) <= 12 * len(provinces) + 8, statements  # (tenants one by one: > 5 each)
    assert tenants > 12
    binds = sum("set_config('app.tenant_id'" in s for s in statements)
    assert binds <= len(provinces) + 2  # unbinding after each province, not a bind per tenant


async def test_the_sync_reads_policy_shows_the_app_role_nothing(
    app_engine: AsyncEngine, owner_engine: AsyncEngine
) -> None:
    await sync_tenants(owner_engine, load_directory(DEMO_DIR))
    async with app_engine.begin() as db:
        await db.execute(text("SELECT set_config('app.sync_reads', 'on', true)"))
        for table in ("units", "unit_groups", "unit_group_members", "board_columns"):
            assert await db.scalar(text(f"SELECT count(*) FROM {table}")) == 0, table


# --- changes between two syncs -------------------------------------------------------------------------------------


async def test_renaming_a_unit_updates_it_in_place_and_audits_only_that_tenant(
    owner_engine: AsyncEngine, jobs_engine: AsyncEngine, tmp_path: Path
) -> None:
    _, data = copy_sample(tmp_path)
    await sync_dir(owner_engine, tmp_path)
    stc = await tenant_id(owner_engine, "tinh-mau", "so-tai-chinh")
    snv = await tenant_id(owner_engine, "tinh-mau", "so-noi-vu")
    before = await snapshot(owner_engine)
    unit_before = await seen_by_app(jobs_engine, stc)
    old_id = next(u["id"] for u in before["units"] if (u["tenant_id"], u["code"]) == (stc, "phong-ngan-sach"))

    data["tenants"][1]["units"][2]["name"] = "Phòng Quản lý ngân sách – Tin học"
    write_province(tmp_path, data)
    report = await sync_dir(owner_engine, tmp_path)

    assert report.summary() == "phòng, đơn vị cập nhật: 1"
    after = await snapshot(owner_engine)
    renamed = next(u for u in after["units"] if u["id"] == old_id)
    assert (renamed["tenant_id"], renamed["code"], renamed["name"]) == (
        stc,
        "phong-ngan-sach",
        "Phòng Quản lý ngân sách – Tin học",
    )
    assert len(after["units"]) == len(before["units"])
    seen = await seen_by_app(jobs_engine, stc)
    (new_entry,) = seen["audit"][len(unit_before["audit"]) :]
    assert (new_entry.actor, new_entry.entity, new_entry.entity_id) == (ACTOR, "units", "so-tai-chinh")
    assert new_entry.after == {
        "changes": [
            {
                "action": "update",
                "before": {
                    "code": "phong-ngan-sach",
                    "name": "Phòng Quản lý ngân sách",
                    "kind": "phong",
                    "position": 2,
                },
                "after": {
                    "code": "phong-ngan-sach",
                    "name": "Phòng Quản lý ngân sách – Tin học",
                    "kind": "phong",
                    "position": 2,
                },
            }
        ]
    }
    assert len((await seen_by_app(jobs_engine, snv))["audit"]) == 1  # only its creation


async def test_removing_an_unreferenced_unit_deletes_it(
    owner_engine: AsyncEngine, jobs_engine: AsyncEngine, tmp_path: Path
) -> None:
    _, data = copy_sample(tmp_path)
    await sync_dir(owner_engine, tmp_path)
    stc = await tenant_id(owner_engine, "tinh-mau", "so-tai-chinh")

    data["tenants"][1]["units"].pop(1)  # thanh-tra: nobody is assigned to it
    data["tenants"][1]["unit_groups"][0]["members"].remove("thanh-tra")
    write_province(tmp_path, data)
    report = await sync_dir(owner_engine, tmp_path)

    assert report.changes["phòng, đơn vị xoá"] == 1
    seen = await seen_by_app(jobs_engine, stc)
    assert [code for code, _, _ in seen["units"]] == ["van-phong", "phong-ngan-sach"]
    assert seen["groups"] == {"phong-don-vi-thuoc-so": ["van-phong", "phong-ngan-sach"]}
    assert seen["audit"][-1].after["changes"][-1] == {
        "action": "delete",
        "before": {"code": "thanh-tra", "name": "Thanh tra Sở"},
    }


async def test_removing_a_unit_someone_is_assigned_to_fails_whole_with_a_clear_message(
    owner_engine: AsyncEngine, tmp_path: Path
) -> None:
    file, data = copy_sample(tmp_path)
    await sync_dir(owner_engine, tmp_path)  # Lê Văn Cường is unit_head of phong-ngan-sach
    before = await snapshot(owner_engine)

    data["tenants"][0]["units"][1]["name"] = "Phòng Cải cách hành chính (đổi tên)"  # applied first, then undone
    data["tenants"][1]["units"].pop(2)
    data["tenants"][1]["unit_groups"][0]["members"].remove("phong-ngan-sach")
    data["tenants"][1]["demo_people"].pop(1)
    write_province(tmp_path, data)
    with pytest.raises(TenantConfigError) as caught:
        await sync_dir(owner_engine, tmp_path, demo_people=False)

    (problem,) = caught.value.problems
    assert (problem.file, problem.path) == (str(file), "$.tenants[1].units")
    assert problem.reason == (
        "không thể xoá phòng, đơn vị 'phong-ngan-sach' (Phòng Quản lý ngân sách): còn 1 người dùng "
        "được phân quyền ở đó; chuyển họ sang phòng, đơn vị khác trước"
    )
    assert await snapshot(owner_engine) == before


async def test_removing_a_tenant_deactivates_it_and_keeps_its_units(
    owner_engine: AsyncEngine, jobs_engine: AsyncEngine, tmp_path: Path
) -> None:
    _, data = copy_sample(tmp_path)
    await sync_dir(owner_engine, tmp_path)
    stc = await tenant_id(owner_engine, "tinh-mau", "so-tai-chinh")
    units_before = (await seen_by_app(jobs_engine, stc))["units"]
    without = copy.deepcopy(data)
    del without["tenants"][1]
    write_province(tmp_path, without)

    report = await sync_dir(owner_engine, tmp_path)

    assert report.summary() == "đơn vị ngừng hoạt động: 1"
    async with owner_engine.connect() as connection:
        active = dict((await connection.execute(select(Tenant.code, Tenant.is_active))).all())
    assert active == {"so-noi-vu": True, "so-tai-chinh": False}
    assert (await seen_by_app(jobs_engine, stc))["units"] == units_before

    write_province(tmp_path, data)  # back in the file: the same tenant, active again
    assert (await sync_dir(owner_engine, tmp_path)).summary() == "sở, ngành cập nhật: 1"
    assert await tenant_id(owner_engine, "tinh-mau", "so-tai-chinh") == stc


async def test_changing_the_members_of_a_unit_group_is_applied(
    owner_engine: AsyncEngine, jobs_engine: AsyncEngine, tmp_path: Path
) -> None:
    _, data = copy_sample(tmp_path)
    await sync_dir(owner_engine, tmp_path)
    stc = await tenant_id(owner_engine, "tinh-mau", "so-tai-chinh")
    group_ids = {g["id"] for g in (await snapshot(owner_engine))["unit_groups"]}

    data["tenants"][1]["unit_groups"][0]["members"] = ["van-phong", "phong-ngan-sach"]
    data["tenants"][1]["unit_groups"].append(
        {"code": "phong-giai-quyet-tthc", "name": "Phòng giải quyết TTHC", "members": ["phong-ngan-sach"]}
    )
    write_province(tmp_path, data)
    report = await sync_dir(owner_engine, tmp_path)

    assert report.summary() == "nhóm phòng, đơn vị mới: 1"
    seen = await seen_by_app(jobs_engine, stc)
    assert seen["groups"] == {
        "phong-don-vi-thuoc-so": ["van-phong", "phong-ngan-sach"],
        "phong-giai-quyet-tthc": ["phong-ngan-sach"],
    }
    assert group_ids < {g["id"] for g in (await snapshot(owner_engine))["unit_groups"]}  # kept, plus the new one
    assert [c["action"] for c in seen["audit"][-1].after["changes"]] == ["members", "members"]


async def test_changing_the_province_settings_updates_it_in_place(owner_engine: AsyncEngine, tmp_path: Path) -> None:
    _, data = copy_sample(tmp_path)  # demo users belong to the issuer: changing it would create new ones
    await sync_dir(owner_engine, tmp_path, demo_people=False)
    (province_before,) = (await snapshot(owner_engine))["provinces"]

    data["province"]["identity_provider"]["issuer"] = "https://sso2.tinh-mau.example.gov.vn/realms/parboard"
    data["province"]["report_deadlines"][1]["due"] = "10/12"
    write_province(tmp_path, data)
    report = await sync_dir(owner_engine, tmp_path, demo_people=False)

    assert report.summary() == "tỉnh cập nhật: 1"
    async with create_session_maker(owner_engine)() as session:
        province = (await session.scalars(select(Province))).one()
    assert province.id == province_before["id"]
    assert province.settings["identity_provider"]["issuer"] == "https://sso2.tinh-mau.example.gov.vn/realms/parboard"
    assert province.settings["report_deadlines"] == [
        {"period": "quy-1", "due": "10/03"},
        {"period": "nam", "due": "10/12"},
    ]


async def test_renamed_demo_person_is_updated_in_place(owner_engine: AsyncEngine, tmp_path: Path) -> None:
    _, data = copy_sample(tmp_path)
    await sync_dir(owner_engine, tmp_path)
    users_before = (await snapshot(owner_engine))["users"]

    data["tenants"][1]["demo_people"][0]["name"] = "Trần Thị Thanh Bình"
    write_province(tmp_path, data)
    assert (await sync_dir(owner_engine, tmp_path)).summary() == "người dùng mẫu cập nhật: 1"
    assert (await sync_dir(owner_engine, tmp_path)).summary() == "không có thay đổi"

    async with owner_engine.connect() as connection:
        names = dict((await connection.execute(select(User.id, User.full_name))).all())
    assert set(names) == {u["id"] for u in users_before}
    assert "Trần Thị Thanh Bình" in names.values()


# --- rejected configuration: nothing is applied -----------------------------------------------------------------------


async def test_no_bad_configuration_applies_anything(owner_engine: AsyncEngine, tmp_path: Path) -> None:
    """Every bad input of test_tenant_config, each beside a good change: rejected, and the database is untouched."""
    copy_sample(tmp_path)
    await sync_dir(owner_engine, tmp_path)
    before = await snapshot(owner_engine)

    for case in BAD_INPUTS:
        mutate, path, reason = case.values
        _, data = copy_sample(tmp_path)
        data["tenants"][0]["units"][1]["name"] = "Phòng Cải cách hành chính (đổi tên)"  # would apply on its own
        mutate(data)  # type: ignore[operator]
        write_province(tmp_path, data)
        with pytest.raises(TenantConfigError) as caught:
            await sync_dir(owner_engine, tmp_path)
        assert any(p.path == path and str(reason) in p.reason for p in caught.value.problems), case.id
        assert await snapshot(owner_engine) == before, case.id

    for content in (b"", b"- province\n", b"province: [\n", "tinh-mau: Tỉnh Mẫu".encode("utf-16")):
        write_province(tmp_path, content)
        with pytest.raises(TenantConfigError):
            await sync_dir(owner_engine, tmp_path)
        assert await snapshot(owner_engine) == before, content


async def test_directory_with_one_good_and_one_bad_province_applies_neither(
    owner_engine: AsyncEngine, tmp_path: Path
) -> None:
    await sync_dir(owner_engine, DEMO_DIR)
    before = await snapshot(owner_engine)
    good = sample_province()
    bad = copy.deepcopy(good)
    bad["province"]["code"] = "tinh-thu-hai"
    bad["tenants"][0]["demo_people"] = bad["tenants"][1]["demo_people"] = []
    bad["tenants"][1]["units"][1]["kind"] = "office"
    write_province(tmp_path, good)
    write_province(tmp_path, bad, folder="tinh-thu-hai")

    with pytest.raises(TenantConfigError) as caught:
        await sync_dir(owner_engine, tmp_path)

    assert [p.file for p in caught.value.problems] == [str(tmp_path / "tinh-thu-hai" / "province.yaml")]
    assert await snapshot(owner_engine) == before


async def test_failure_while_applying_one_province_rolls_back_the_others(
    owner_engine: AsyncEngine, tmp_path: Path
) -> None:
    first = sample_province()
    second = copy.deepcopy(first)
    second["province"]["code"] = "tinh-thu-hai"
    for tenant in second["tenants"]:
        for person in tenant["demo_people"]:
            person["email"] = person["email"].replace("tinhmau", "tinhthuhai")
    write_province(tmp_path, first)
    write_province(tmp_path, second, folder="tinh-thu-hai")
    await sync_dir(owner_engine, tmp_path)
    before = await snapshot(owner_engine)

    first["tenants"][1]["units"][2]["name"] = "Phòng Ngân sách (đổi tên)"  # tinh-mau: applied first, then undone
    first["province"]["name"] = "Tỉnh Mẫu (đổi tên)"
    second["tenants"][1]["units"].pop(2)  # tinh-thu-hai: its unit_head still belongs there
    second["tenants"][1]["unit_groups"][0]["members"].remove("phong-ngan-sach")
    second["tenants"][1]["demo_people"].pop(1)
    write_province(tmp_path, first)
    write_province(tmp_path, second, folder="tinh-thu-hai")
    provinces: list[LoadedProvince] = load_directory(tmp_path)
    assert [p.config.province.code for p in provinces] == ["tinh-mau", "tinh-thu-hai"]

    with pytest.raises(TenantConfigError, match="không thể xoá phòng, đơn vị 'phong-ngan-sach'"):
        await sync_tenants(owner_engine, provinces, demo_people=False)

    assert await snapshot(owner_engine) == before
