"""The `parboard` command: serve, worker, db upgrade/downgrade, tenants sync, criteria and history import, jobs,
backup and restore, demo."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import click

from backend.settings import Settings, SettingsError, get_settings

if TYPE_CHECKING:
    from backend.domain.tenants.sync import SyncReport


class CliError(click.ClickException):
    """A failure told in Vietnamese on stderr, exit status 1, without click's English "Error:" prefix."""

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(self.format_message(), err=True)


def _settings() -> Settings:
    try:
        return get_settings()
    except SettingsError as exc:
        raise CliError(f"lỗi: cấu hình sai: {exc}") from exc


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """parboard: Chỉ số CCHC for provincial departments.

    With DATABASE_URL unset, every command starts the embedded PostgreSQL under var/ and stops it on exit.
    """


@main.command()
@click.option("--host", default=None, help="Interface to bind (default PARBOARD_HOST or 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default PARBOARD_PORT or 8000).")
def serve(host: str | None, port: int | None) -> None:
    """Serve the application (migrations must be at head: see `parboard db upgrade`)."""
    _serve(_settings(), host, port)


def _serve(settings: Settings, host: str | None, port: int | None) -> None:
    import uvicorn

    from backend.asgi import create_app
    from backend.db import runtime

    host = host or settings.server.host
    port = port or settings.server.port
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_config": None,
        "access_log": False,
        "server_header": False,
        "timeout_graceful_shutdown": 5,
    }
    click.echo(f"parboard: http://{host}:{port}/  (Ctrl-C để dừng)", err=True)
    if settings.server.workers > 1:
        if not settings.db.url:
            raise click.ClickException(
                "PARBOARD_WORKERS > 1 cần DATABASE_URL (PostgreSQL nhúng chỉ dùng một tiến trình)"
            )
        # Each worker builds its own app (and pool) from the environment.
        uvicorn.run("backend.asgi:create_app", factory=True, workers=settings.server.workers, **options)
        return
    app = create_app(settings, runtime.resolve(settings))
    uvicorn.Server(uvicorn.Config(app, **options)).run()


@main.command()
def worker() -> None:
    """Run the background job worker until Ctrl-C or SIGTERM (the jobs in hand are finished first).

    Daily reminders are e-mailed at 06:30, Vietnam time. Run one worker per replica or more: every periodic
    job and every queued job runs once whatever the number of workers."""
    import signal

    from backend.db import runtime
    from backend.jobs.queue import QueueNotInstalled
    from backend.jobs.worker import Worker
    from backend.logging import configure_logging

    settings = _settings()
    configure_logging(json=settings.app.log_json, level=settings.app.log_level)
    job_worker = Worker(settings, runtime.resolve(settings))

    async def run() -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, job_worker.stop)
        await job_worker.run()

    click.echo("parboard worker: đang chạy (Ctrl-C để dừng)", err=True)
    try:
        asyncio.run(run())
    except QueueNotInstalled as exc:
        raise CliError(f"lỗi: {exc}") from exc


@main.group()
def jobs() -> None:
    """Background jobs, run now in this process (the worker runs them on schedule)."""


@jobs.command("run-reminders")
@click.option("--date", "day", default=None, metavar="dd/mm/yyyy", help="The day to remind for (default: today).")
def jobs_run_reminders(day: str | None) -> None:
    """E-mail every person their overdue tasks and the tasks due within 7 days, once, now."""
    from datetime import datetime

    from backend.clock import vietnam_today
    from backend.db import runtime
    from backend.db.engine import create_engine
    from backend.jobs.reminders import send_reminders
    from backend.logging import configure_logging

    settings = _settings()
    configure_logging(json=settings.app.log_json, level=settings.app.log_level)
    try:
        when = datetime.strptime(day, "%d/%m/%Y").date() if day else vietnam_today()  # noqa: DTZ007 - a date
    except ValueError as exc:
        raise CliError(f"lỗi: ngày không hợp lệ: {day!r} (dạng dd/mm/yyyy)") from exc

    async def run() -> str:
        engine = create_engine(runtime.resolve(settings).jobs)
        try:
            return (await send_reminders(engine, settings, when)).summary()
        finally:
            await engine.dispose()

    click.echo(asyncio.run(run()))


@main.command("verify")
@click.argument("package", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--submission-id", default=None, help="The submission to compare with (default: the manifest's).")
@click.option("--offline", is_flag=True, help="Check the archive only; do not look up the recorded hash.")
def verify(package: Path, submission_id: str | None, offline: bool) -> None:
    """Check a submission package: every entry against manifest.json and SHA256SUMS, and the file's SHA-256
    against the hash recorded when it was built (when the database is reachable). Exit 0 valid, 1 not."""
    import uuid

    from backend.domain.submissions.verify import check_archive

    try:
        wanted = uuid.UUID(submission_id) if submission_id else None
    except ValueError as exc:
        raise CliError(f"lỗi: mã lần nộp không hợp lệ: {submission_id!r}") from exc
    with package.open("rb") as handle:
        report = check_archive(handle)
    if report.manifest is not None and not offline:
        report.recorded = _verify_recorded(report, wanted)
    for line in report.lines():
        click.echo(line)
    sys.exit(0 if report.ok else 1)


def _verify_recorded(report: Any, wanted: Any) -> str:
    """Look the package up in the database; when it cannot be reached, say so (the archive check stands)."""
    from backend.db import runtime
    from backend.db.engine import create_engine, create_session_maker
    from backend.domain.submissions.verify import check_recorded

    async def run() -> None:
        engine = create_engine(runtime.resolve(_settings()).jobs)
        try:
            async with create_session_maker(engine)() as db, db.begin():
                await check_recorded(db, report, wanted)
        finally:
            await engine.dispose()

    try:
        asyncio.run(run())
    except Exception as exc:  # any database failure leaves the archive check standing
        return f"Không kết nối được cơ sở dữ liệu ({exc}): chỉ kiểm tra nội dung tệp."
    return str(report.recorded)


@main.group()
def db() -> None:
    """Database migrations (run as the owner role)."""


@db.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Migrate the database up to REVISION (default: head)."""
    from backend.db import migrate, runtime

    migrate.upgrade(runtime.resolve(_settings()), revision)
    click.echo(f"cơ sở dữ liệu: đã nâng cấp đến {revision}")


@db.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Migrate the database down to REVISION ("base" removes everything)."""
    from backend.db import migrate, runtime

    migrate.downgrade(runtime.resolve(_settings()), revision)
    click.echo(f"cơ sở dữ liệu: đã hạ cấp về {revision}")


@main.group()
def tenants() -> None:
    """Provinces, departments and units from the YAML files under tenants/."""


@tenants.command("sync")
@click.option("--dir", "directory", type=click.Path(path_type=Path), default=None, help="Default: tenants/.")
@click.option("--check", is_flag=True, help="Validate only; change nothing.")
@click.option("--preview", is_flag=True, help="Show what would change (lineage included), then change nothing.")
def tenants_sync(directory: Path | None, check: bool, preview: bool) -> None:
    """Validate every province.yaml, then apply them all in one transaction (or nothing).

    lineage.yaml (renames, merges, splits, moves, province merges) is applied in the same transaction;
    --preview prints every change, then changes nothing."""
    settings = _settings()
    _sync(settings, directory or settings.paths.tenants_dir, check=check, demo_people=False, preview=preview)


def _sync(
    settings: Settings,
    directory: Path,
    *,
    check: bool,
    demo_people: bool,
    preview: bool = False,
    demo_fill: bool = False,
) -> None:
    """`demo_fill` (the demo only): each demo province filled with generated departments and communes."""
    from backend.db import runtime
    from backend.db.engine import create_engine
    from backend.domain.tenants.config import TenantConfigError, load_directory, with_issuer_base
    from backend.domain.tenants.demo_fill import with_demo_tenants
    from backend.domain.tenants.lineage import load_lineage
    from backend.domain.tenants.sync import sync_tenants

    try:
        provinces = load_directory(directory)
        lineage = load_lineage(directory, provinces)
        if demo_fill:
            provinces = with_demo_tenants(provinces, set(lineage.merged_provinces) if lineage else set())
        if settings.auth.dev_idp_url:
            provinces = with_issuer_base(provinces, settings.auth.dev_idp_url)
    except TenantConfigError as exc:
        for problem in exc.problems:
            click.echo(f"lỗi: {problem}", err=True)
        raise CliError(f"cấu hình bị từ chối ({len(exc.problems)} lỗi); không có gì thay đổi") from exc
    if check:
        click.echo(f"hợp lệ: {len(provinces)} tỉnh" + (f", {len(lineage.edges)} quan hệ kế thừa" if lineage else ""))
        return

    async def apply() -> SyncReport:
        engine = create_engine(runtime.resolve(settings).owner_url)
        try:
            return await sync_tenants(engine, provinces, demo_people=demo_people, lineage=lineage, preview=preview)
        finally:
            await engine.dispose()

    try:
        report = asyncio.run(apply())
    except TenantConfigError as exc:
        for problem in exc.problems:
            click.echo(f"lỗi: {problem}", err=True)
        raise CliError("đồng bộ bị huỷ; không có gì thay đổi") from exc
    for line in report.lines:
        click.echo(f"  {line}")
    if preview:
        click.echo(f"xem trước (chưa áp dụng, không có gì thay đổi): {report.summary()}")
    else:
        click.echo(f"đồng bộ xong: {report.summary()}")


@main.group()
def criteria() -> None:
    """Criteria sets (Bộ chỉ số CCHC) from tenants/<province>/criteria/<year>.yaml."""


@criteria.command("import")
@click.option("--dir", "directory", type=click.Path(path_type=Path), default=None, help="Default: tenants/.")
@click.option("--check", is_flag=True, help="Validate only; change nothing.")
def criteria_import(directory: Path | None, check: bool) -> None:
    """Validate every criteria file, then import them in one transaction (a changed set is a new version)."""
    from backend.db import runtime
    from backend.db.engine import create_engine
    from backend.domain.criteria.config import CriteriaConfigError
    from backend.domain.criteria.importer import import_criteria, load_all

    settings = _settings()
    try:
        sets = load_all(directory or settings.paths.tenants_dir)
    except CriteriaConfigError as exc:
        for problem in exc.problems:
            click.echo(f"lỗi: {problem}", err=True)
        raise CliError(f"bộ chỉ số bị từ chối ({len(exc.problems)} lỗi); không có gì thay đổi") from exc
    if check:
        click.echo(f"hợp lệ: {len(sets)} bộ chỉ số")
        return

    async def apply() -> list[str]:
        engine = create_engine(runtime.resolve(settings).owner_url)
        try:
            return await import_criteria(engine, sets)
        finally:
            await engine.dispose()

    try:
        for line in asyncio.run(apply()):
            click.echo(line)
    except CriteriaConfigError as exc:
        for problem in exc.problems:
            click.echo(f"lỗi: {problem}", err=True)
        raise CliError("nhập bộ chỉ số bị huỷ; không có gì thay đổi") from exc


@main.group()
def evidence() -> None:
    """Evidence files (tài liệu kiểm chứng) and their blob storage."""


@evidence.command("check")
@click.option("--remove-stale", "remove_stale", is_flag=True, help="Remove the stale temporary files found.")
@click.option(
    "--stale-hours",
    "stale_hours",
    type=click.FloatRange(min=0),
    default=None,
    help="A temporary file older than this many hours is stale (default 6).",
)
def evidence_check(remove_stale: bool, stale_hours: float | None) -> None:
    """List evidence rows whose blob is missing or of another size, blobs no row references, and temporary
    files a killed upload or package build left behind; exit 1 on any of them (removed ones aside)."""
    from backend.domain.evidence.cli import run_check

    if not run_check(_settings(), remove_stale=remove_stale, stale_hours=stale_hours):
        sys.exit(1)


@main.command("backup")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def backup_command(directory: Path) -> None:
    """Back up the database (pg_dump -Fc) and every evidence and package blob into DIRECTORY (new or empty),
    with a manifest.json of their SHA-256 and the migration revision."""
    from backend.backup import BackupError, backup, database_target
    from backend.domain.evidence.storage import storage_from_settings

    settings = _settings()
    url, bin_dir = database_target(settings)
    try:
        summary = asyncio.run(
            backup(directory, database_url=url, storage=storage_from_settings(settings), bin_dir=bin_dir)
        )
    except BackupError as exc:
        raise CliError(str(exc)) from exc
    click.echo(f"sao lưu xong vào {directory}: {summary.text()}")


@main.command("restore")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
def restore_command(directory: Path) -> None:
    """Restore a backup made by `parboard backup` into an empty database (no tables yet: do not run
    `parboard db upgrade` first) and the configured storage; every file is checked against the manifest first."""
    from backend.backup import BackupError, database_target, restore
    from backend.domain.evidence.storage import storage_from_settings

    settings = _settings()
    url, bin_dir = database_target(settings)
    try:
        summary = asyncio.run(
            restore(directory, database_url=url, storage=storage_from_settings(settings), bin_dir=bin_dir)
        )
    except BackupError as exc:
        raise CliError(str(exc)) from exc
    click.echo(f"khôi phục xong từ {directory}: {summary.text()}")


@main.group()
def history() -> None:
    """Published results of past years from tenants/<province>/history/<tenant>.yaml."""


@history.command("import")
@click.option("--dir", "directory", type=click.Path(path_type=Path), default=None, help="Default: tenants/.")
@click.option("--check", is_flag=True, help="Validate only; change nothing.")
def history_import(directory: Path | None, check: bool) -> None:
    """Validate every history file (published totals must add up), then import them in one transaction."""
    from backend.db import runtime
    from backend.db.engine import create_engine
    from backend.domain.assessments.history import HistoryError, import_histories, load_histories

    settings = _settings()
    try:
        files = load_histories(directory or settings.paths.tenants_dir)
        if check:
            click.echo(f"hợp lệ: {len(files)} tệp lịch sử điểm")
            return

        async def apply() -> list[str]:
            engine = create_engine(runtime.resolve(settings).owner_url)
            try:
                return await import_histories(engine, files)
            finally:
                await engine.dispose()

        for line in asyncio.run(apply()):
            click.echo(line)
    except HistoryError as exc:
        for problem in exc.problems:
            click.echo(f"lỗi: {problem}", err=True)
        raise CliError("nhập lịch sử điểm bị huỷ; không có gì thay đổi") from exc


@main.command()
@click.option("--serve/--no-serve", "and_serve", default=True, help="Serve after loading (default: yes).")
def demo(and_serve: bool) -> None:
    """Migrate, load the demo provinces with their demo people, then serve, with the job worker beside the
    server (and the development identity provider when PARBOARD_DEV_IDP_URL is set, as `make run` does)."""
    from backend.db import migrate, runtime
    from backend.db.embedded import exclusive
    from backend.domain.demo_cycle import seed_demo

    settings = _settings()
    # A second `make run` of the same clone (another port) starting at the same time waits for the first's
    # set-up, then finds nothing left to do.
    with exclusive(Path(settings.paths.var_dir) / ".demo-setup.lock"):
        migrate.upgrade(runtime.resolve(settings))
        _sync(settings, settings.paths.tenants_dir, check=False, demo_people=True, demo_fill=True)
        click.get_current_context().invoke(criteria_import, directory=None, check=False)
        click.get_current_context().invoke(history_import, directory=None, check=False)
        click.echo("\n".join(seed_demo(settings)) or "năm đánh giá mẫu: đã có, không thêm gì")
        _demo_history(settings)
    if not and_serve:
        return
    with _background_worker(settings):
        if not settings.auth.dev_idp_url:
            _serve(settings, None, None)
            return
        with _dev_identity_provider(settings):
            click.echo(f"đăng nhập: {settings.auth.public_url}/dang-nhap (người dùng mẫu, chế độ phát triển)", err=True)
            _serve(settings, None, None)


def _demo_history(settings: Settings) -> None:
    """The generated tenants' published years and self-assessments (backend.domain.tenants.demo_fill), once."""
    from backend.db import runtime
    from backend.db.engine import create_engine
    from backend.domain.tenants.config import load_directory
    from backend.domain.tenants.demo_fill import demo_assessments, demo_history

    async def apply() -> tuple[int, int]:
        engine = create_engine(runtime.resolve(settings).owner_url)
        try:
            provinces = load_directory(settings.paths.tenants_dir)
            return await demo_history(engine, provinces), await demo_assessments(engine, provinces)
        finally:
            await engine.dispose()

    written, assessed = asyncio.run(apply())
    if assessed:
        click.echo(f"dữ liệu mẫu: {assessed} bản tự đánh giá đã duyệt của các đơn vị sinh tự động")
    click.echo(
        f"dữ liệu mẫu: {written} kết quả đã công bố của các đơn vị sinh tự động"
        if written
        else "dữ liệu mẫu: không có thay đổi"
    )


def _background_worker(settings: Settings) -> Any:
    """The job worker in a thread beside the server; stopped (jobs in hand finished) when the server stops."""
    from backend.db import runtime
    from backend.jobs.worker import BackgroundWorker
    from backend.logging import configure_logging

    configure_logging(json=settings.app.log_json, level=settings.app.log_level)
    click.echo("công việc nền: nhắc việc hằng ngày lúc 06:30 (giờ Việt Nam)", err=True)
    return BackgroundWorker(settings, runtime.resolve(settings))


def _dev_identity_provider(settings: Settings) -> Any:
    """The development OpenID provider on 127.0.0.1, one issuer per demo province (never in production)."""
    from urllib.parse import urlsplit

    from backend.auth.services import DEV_CLIENT_SECRET
    from backend.domain.tenants.config import load_directory

    try:  # not in the production image (.dockerignore)
        from backend.devidp import DevClient, DevIdPServer, create_dev_idp, dev_provinces_from_config
    except ImportError as exc:
        raise click.ClickException(
            "nhà cung cấp định danh phát triển (backend/devidp) không có trong bản cài đặt này; "
            "chạy `make run` từ mã nguồn"
        ) from exc

    loaded = load_directory(settings.paths.tenants_dir)
    public = settings.auth.public_url
    clients = [
        DevClient(
            client_id=client_id,
            client_secret=DEV_CLIENT_SECRET,
            redirect_uris=[f"{public}/auth/{p.config.province.code}/callback" for p in loaded],
            post_logout_redirect_uris=[f"{public}/"],
        )
        for client_id in sorted(
            {p.config.province.identity_provider.client_id for p in loaded if p.config.province.identity_provider}
        )
    ]
    idp = create_dev_idp(dev_provinces_from_config(loaded), clients, base_url=settings.auth.dev_idp_url)
    port = urlsplit(settings.auth.dev_idp_url).port or 8001
    return DevIdPServer(idp, host="127.0.0.1", port=port)


if __name__ == "__main__":
    sys.exit(main())
