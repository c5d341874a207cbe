"""The job queue: pgqueuer on our PostgreSQL (schema `pgqueuer`, created by migration 0006). This module knows
no job: a feature enqueues its own (`queries(driver).enqueue(name, payload)`), and `backend.jobs.worker`
registers what each job does.

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

import asyncpg  # type: ignore[import-untyped]  # no stubs; pgqueuer takes the connection as is
from pgqueuer import Queries
from pgqueuer.adapters.persistence.qb import QueryBuilderEnvironment, QueryQueueBuilder, QuerySchedulerBuilder
from pgqueuer.domain.settings import DBSettings, Durability
from pgqueuer.models import Channel
from pgqueuer.ports.driver import Driver
from sqlalchemy.engine import make_url

QUEUE_SCHEMA = "pgqueuer"
CHANNEL = Channel("ch_pgqueuer")
# Every minute a running worker marks its schedule run: /readyz reads the last run as the workers' heartbeat.
HEARTBEAT = "worker.heartbeat"
HEARTBEAT_CRON = "* * * * *"
HEARTBEAT_STALE_S = 180  # three missed minutes: no worker is running


class QueueNotInstalled(RuntimeError):
    """The queue's tables are missing: the database is behind migration 0006."""


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
