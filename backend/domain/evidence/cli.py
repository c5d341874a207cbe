"""The body of `parboard evidence check` (the click command itself is in backend/cli.py)."""

from __future__ import annotations

import asyncio

import click

from backend.settings import Settings


def run_check(settings: Settings) -> bool:
    """Print the drift between evidence rows and storage; True when there is none."""
    from backend.db import runtime
    from backend.db.engine import create_engine
    from backend.domain.evidence.check import Report, check_storage
    from backend.domain.evidence.storage import storage_from_settings

    async def check() -> Report:
        engine = create_engine(runtime.resolve(settings).owner_url)
        try:
            return await check_storage(engine, storage_from_settings(settings))
        finally:
            await engine.dispose()

    report = asyncio.run(check())
    for drift in report.drifts:
        found = "thiếu tệp" if drift.actual_size is None else f"kích thước {drift.actual_size} ≠ {drift.expected_size}"
        click.echo(f"lệch: {drift.tenant_code} {drift.file_id} “{drift.filename}” {drift.sha256}: {found}")
    for key in report.orphans:
        click.echo(f"mồ côi: {key} (không dòng nào tham chiếu)")
    click.echo(
        f"đã kiểm tra {report.rows} tệp kiểm chứng, {report.blobs} tệp lưu trữ: "
        f"{len(report.drifts)} lệch, {len(report.orphans)} mồ côi"
    )
    return report.clean
