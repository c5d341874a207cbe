"""The worker: what each of parboard's jobs and schedules does, registered on a PgQueuer over the queue of
`backend.jobs.queue`, and the process (or the thread beside `parboard demo`'s server) that runs them."""

from __future__ import annotations

import asyncio
import threading
from contextlib import suppress
from dataclasses import replace
from datetime import date, timedelta
from types import TracebackType

from pgqueuer import AsyncpgDriver, PgQueuer, Queries
from pgqueuer.models import Job, Schedule
from pgqueuer.ports.driver import Driver
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.clock import vietnam_today
from backend.db.engine import create_engine
from backend.db.runtime import DatabaseUrls
from backend.domain.evidence.storage import storage_from_settings
from backend.domain.submissions.services import BUILD_JOB, build_package, parse_payload
from backend.jobs.queue import CHANNEL, HEARTBEAT, HEARTBEAT_CRON, QUEUE_SCHEMA, QueueNotInstalled, connect, queries
from backend.jobs.reminders import send_reminders
from backend.logging import get_logger
from backend.settings import Settings
from backend.web.metrics import timed_job

log = get_logger("parboard.jobs")

REMINDERS = "reminders"  # the job: e-mail the day's reminders (payload: the day, ISO)
REMINDERS_DAILY = "reminders.daily"  # the schedule that enqueues it
# pgqueuer reads cron expressions in UTC: 23:30 UTC is 06:30 in Vietnam (UTC+7 all year).
REMINDERS_CRON = "30 23 * * *"


async def enqueue_reminders(queue: Queries, day: date) -> int | None:
    """Put the reminders of `day` on the queue, once: None when that day's job is already waiting or running."""
    [job_id] = await queue.enqueue(
        REMINDERS, day.isoformat().encode(), dedupe_key=f"{REMINDERS}:{day.isoformat()}", on_conflict="skip"
    )
    return int(job_id) if job_id is not None else None


def build(driver: Driver, settings: Settings, engine: AsyncEngine) -> PgQueuer:
    """A PgQueuer on `driver` with parboard's jobs and schedules registered; jobs use `engine` (app role)."""
    queue = queries(driver)
    pgq = PgQueuer(connection=driver, channel=CHANNEL, queries=queue)

    # One at a time across every worker: two days' runs never interleave their e-mails.
    @pgq.entrypoint(REMINDERS, concurrency_limit=1, accepts_context=False)
    async def reminders(job: Job) -> None:
        day = date.fromisoformat(job.payload.decode()) if job.payload else vietnam_today()
        with timed_job(REMINDERS):
            await send_reminders(engine, settings, day)

    # Builds stream from storage with bounded memory; two at a time per worker keeps the disk busy.
    @pgq.entrypoint(BUILD_JOB, concurrency_limit=2, accepts_context=False)
    async def submission_build(job: Job) -> None:
        tenant_id, submission_id = parse_payload(job.payload)
        with timed_job(BUILD_JOB):
            await build_package(
                engine,
                storage_from_settings(settings),
                tenant_id,
                submission_id,
                templates_dir=settings.paths.templates_dir,
            )

    @pgq.schedule(REMINDERS_DAILY, REMINDERS_CRON, accepts_context=False)
    async def reminders_daily(schedule: Schedule) -> None:
        await enqueue_reminders(queue, vietnam_today())

    @pgq.schedule(HEARTBEAT, HEARTBEAT_CRON, accepts_context=False)
    async def heartbeat(schedule: Schedule) -> None:
        """Nothing to do: pgqueuer records the run (`last_run`), which is the heartbeat."""

    return pgq


class Worker:
    """One worker: a connection for the queue, a small engine for the jobs. `run` until `stop`."""

    def __init__(self, settings: Settings, urls: DatabaseUrls, *, dequeue_timeout: timedelta | None = None) -> None:
        self.settings = settings
        self.urls = urls
        self.dequeue_timeout = dequeue_timeout or timedelta(seconds=30)
        self._stopping = False
        self.pgq: PgQueuer | None = None

    def stop(self) -> None:
        """Finish the jobs in hand, then return from `run` (call from the worker's event loop)."""
        self._stopping = True
        if self.pgq is not None:
            self.pgq.shutdown.set()

    async def run(self) -> None:
        connection = await connect(self.urls.jobs)
        engine = create_engine(self.urls.jobs, replace(self.settings.db, pool_size=2, max_overflow=2))
        try:
            installed = await connection.fetchval("SELECT to_regclass($1) IS NOT NULL", f"{QUEUE_SCHEMA}.pgqueuer")
            if not installed:
                raise QueueNotInstalled("hàng đợi công việc chưa được tạo: chạy `parboard db upgrade`")
            self.pgq = build(AsyncpgDriver(connection), self.settings, engine)
            if self._stopping:
                return
            log.info("worker started", schedules={REMINDERS_DAILY: REMINDERS_CRON + " UTC"})
            await self.pgq.run(dequeue_timeout=self.dequeue_timeout)
            log.info("worker stopped")
        finally:
            await engine.dispose()
            await connection.close()


class BackgroundWorker:
    """A worker in a thread of its own (its own event loop), beside the web server of `parboard demo`."""

    def __init__(self, settings: Settings, urls: DatabaseUrls) -> None:
        self.worker = Worker(settings, urls)
        self.thread = threading.Thread(target=self._main, name="parboard-worker", daemon=True)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()

    def _main(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._ready.set()
            await self.worker.run()

        try:
            asyncio.run(main())
        except Exception as exc:
            log.error("worker failed; background jobs are not running", error=str(exc))
        finally:
            self._ready.set()

    def __enter__(self) -> BackgroundWorker:
        self.thread.start()
        self._ready.wait(timeout=10)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        loop = self._loop
        if loop is not None and self.thread.is_alive():
            with suppress(RuntimeError):  # the loop closed in between: the worker is already gone
                loop.call_soon_threadsafe(self.worker.stop)
        self.thread.join(timeout=15)
