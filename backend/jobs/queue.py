"""The job queue: pgqueuer on our PostgreSQL (schema `pgqueuer`, created by migration 0006), and the worker.

Why this is safe with several replicas, each running a worker:
- a periodic job is a row of `pgqueuer_schedules`; a worker takes a due row with `FOR UPDATE SKIP LOCKED`
  and moves its next run forward in the same statement, so one worker fires it per period;
- firing only enqueues a job whose dedupe key names the day, so the day's job exists once while it waits
  or runs, and workers take jobs with `SKIP LOCKED` too;
- jobs live in PostgreSQL: one enqueued while no worker runs waits for the next, and one whose worker died
  (no heartbeat for 30 s) is taken again by another. A schedule missed while every worker was down fires
  once when one starts.

Workers connect as the application's role, which may use the queue's tables and nothing more.
"""

from __future__ import annotations

import asyncio
import threading
from contextlib import suppress
from dataclasses import replace
from datetime import date, timedelta
from types import TracebackType

import asyncpg  # type: ignore[import-untyped]  # no stubs; pgqueuer takes the connection as is
from pgqueuer import AsyncpgDriver, PgQueuer, Queries
from pgqueuer.adapters.persistence.qb import QueryBuilderEnvironment, QueryQueueBuilder, QuerySchedulerBuilder
from pgqueuer.domain.settings import DBSettings, Durability
from pgqueuer.models import Channel, Job, Schedule
from pgqueuer.ports.driver import Driver
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.clock import vietnam_today
from backend.db.engine import create_engine
from backend.db.runtime import DatabaseUrls
from backend.domain.evidence.storage import storage_from_settings
from backend.domain.submissions.services import BUILD_JOB, build_package, parse_payload
from backend.jobs.reminders import send_reminders
from backend.logging import get_logger
from backend.settings import Settings
from backend.web.metrics import timed_job

log = get_logger("parboard.jobs")

QUEUE_SCHEMA = "pgqueuer"
CHANNEL = Channel("ch_pgqueuer")
REMINDERS = "reminders"  # the job: e-mail the day's reminders (payload: the day, ISO)
REMINDERS_DAILY = "reminders.daily"  # the schedule that enqueues it
# Every minute a running worker marks its schedule run: /readyz reads the last run as the workers' heartbeat.
HEARTBEAT = "worker.heartbeat"
HEARTBEAT_CRON = "* * * * *"
HEARTBEAT_STALE_S = 180  # three missed minutes: no worker is running
# pgqueuer reads cron expressions in UTC: 23:30 UTC is 06:30 in Vietnam (UTC+7 all year).
REMINDERS_CRON = "30 23 * * *"


def queue_settings() -> DBSettings:
    """The names migration 0006 created, every one given: pgqueuer would otherwise read them from the
    environment (PGQUEUER_*, and bare names such as QUEUE_TABLE)."""
    return DBSettings(
        prefix="",
        db_schema=QUEUE_SCHEMA,
        channel=CHANNEL,
        function="fn_pgqueuer_changed",
        statistics_table="pgqueuer_statistics",
        queue_status_type="pgqueuer_status",
        queue_table="pgqueuer",
        queue_table_log="pgqueuer_log",
        trigger="tg_pgqueuer_changed",
        schedules_table="pgqueuer_schedules",
        durability=Durability.durable,
        widen_id=False,
    )


def queries(driver: Driver) -> Queries:
    settings = queue_settings()
    return Queries(
        driver,
        qbe=QueryBuilderEnvironment(settings=settings),
        qbq=QueryQueueBuilder(settings=settings),
        qbs=QuerySchedulerBuilder(settings=settings),
    )


async def connect(url: str) -> asyncpg.Connection:
    """A plain asyncpg connection from a SQLAlchemy URL (postgresql+asyncpg://…?host=/socket/dir)."""
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    return await asyncpg.connect(dsn, server_settings={"application_name": "parboard-worker"})


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


class QueueNotInstalled(RuntimeError):
    """The queue's tables are missing: the database is behind migration 0006."""


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
