"""The body of `parboard evidence check` (the click command itself is in backend/cli.py)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import click

from backend.clock import VIETNAM
from backend.settings import Settings
from backend.web.formatting import vn_datetime


def run_check(settings: Settings, *, remove_stale: bool = False, stale_hours: float | None = None) -> bool:
    """Print the drift between evidence rows and storage, and stale temporary files (removed with
    `remove_stale`); True when there is none."""
    from backend.db import runtime
    from backend.db.engine import create_engine
    from backend.domain.evidence.check import STALE_AFTER, Report, check_storage
    from backend.domain.evidence.storage import storage_from_settings

    async def check() -> Report:
        engine = create_engine(runtime.resolve(settings).owner_url)
        try:
            return await check_storage(
                engine,
                storage_from_settings(settings),
                stale_after=STALE_AFTER if stale_hours is None else timedelta(hours=stale_hours),
                remove_stale=remove_stale,
            )
        finally:
            await engine.dispose()

    report = asyncio.run(check())
    for drift in report.drifts:
        found = "thiếu tệp" if drift.actual_size is None else f"kích thước {drift.actual_size} ≠ {drift.expected_size}"
        click.echo(f"lệch: {drift.tenant_code} {drift.file_id} “{drift.filename}” {drift.sha256}: {found}")
    for key in report.orphans:
        click.echo(f"mồ côi: {key} (không dòng nào tham chiếu)")
    for temporary in report.stale:
        click.echo(
            f"tệp tạm bỏ dở: {temporary.name} ({temporary.size} byte, "
            f"từ {vn_datetime(temporary.modified.astimezone(VIETNAM))}; xoá bằng --remove-stale)"
        )
    for temporary in report.removed:
        click.echo(f"đã xoá tệp tạm bỏ dở: {temporary.name} ({temporary.size} byte)")
    click.echo(
        f"đã kiểm tra {report.rows} tệp kiểm chứng, {report.blobs} tệp lưu trữ: "
        f"{len(report.drifts)} lệch, {len(report.orphans)} mồ côi, {len(report.stale)} tệp tạm bỏ dở"
        + (f" ({len(report.removed)} đã xoá)" if report.removed else "")
    )
    return report.clean
