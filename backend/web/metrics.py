"""Prometheus metrics for the operator: `/metrics`, behind a bearer token (PARBOARD_METRICS_TOKEN; unset, the
route answers 404 as if it did not exist).

Requests are counted and timed per route template (Litestar's Prometheus middleware, `group_path`: one series
per route, not per tenant or card id), with the requests in flight; at each scrape the database pool's
connections and the job queue's jobs by status and entrypoint are read. prometheus-client's default
collectors add the process (memory, CPU, open files) and Python's garbage collector.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from litestar import Controller, Request, get
from litestar.datastructures import State
from litestar.exceptions import NotFoundException
from litestar.plugins.prometheus import PrometheusConfig
from litestar.response import Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Gauge, Histogram, generate_latest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import QueuePool

from backend.auth.permissions import PUBLIC
from backend.logging import get_logger

log = get_logger(__name__)

# One set for the process (prometheus-client's registry is global; a test process builds many apps).
POOL = Gauge("parboard_db_pool_connections", "Connections of the application's database pool", ["state"])
JOBS = Gauge("parboard_jobs", "Jobs in the PostgreSQL queue, by status and entrypoint", ["status", "entrypoint"])
UPLOAD_BYTES = Counter("parboard_upload_bytes", "Bytes of evidence files received")
PACKAGES = Counter("parboard_package_builds", "Submission packages built, by outcome", ["outcome"])
PACKAGE_SECONDS = Histogram(
    "parboard_package_build_seconds", "Time to build a submission package", buckets=[1, 5, 15, 60, 300, 900, 3600]
)

JOB_SECONDS = Histogram(
    "parboard_job_seconds",
    "Jobs run by this process's worker (make run's, beside the server), by entrypoint and outcome",
    ["entrypoint", "outcome"],
    buckets=[0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600],
)


@contextmanager
def timed_job(entrypoint: str) -> Iterator[None]:
    started, outcome = time.perf_counter(), "ok"
    try:
        yield
    except BaseException:
        outcome = "error"
        raise
    finally:
        JOB_SECONDS.labels(entrypoint, outcome).observe(time.perf_counter() - started)


# Seconds: a static file or a session lookup (ms) up to a package built inline (s).
BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0]


def prometheus_config() -> PrometheusConfig:
    return PrometheusConfig(
        app_name="parboard",
        prefix="parboard",
        group_path=True,
        buckets=BUCKETS,  # type: ignore[arg-type]
        exclude=["^/metrics$", "^/static/", "^/assets/"],
        exclude_unhandled_paths=True,
    )


def _authorised(request: Request[Any, Any, Any], token: str) -> bool:
    given = request.headers.get("authorization", "")
    return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())


async def _read_gauges(engine: AsyncEngine) -> None:
    pool = engine.pool
    if isinstance(pool, QueuePool):
        POOL.labels("size").set(pool.size())
        POOL.labels("checked_out").set(pool.checkedout())
        POOL.labels("idle").set(pool.checkedin())
        POOL.labels("overflow").set(max(0, pool.overflow()))
    JOBS.clear()
    async with engine.connect() as connection:
        rows = await connection.execute(
            text("SELECT status::text, entrypoint, count(*) FROM pgqueuer.pgqueuer GROUP BY 1, 2")
        )
        for status, entrypoint, count in rows:
            JOBS.labels(status, entrypoint).set(count)


class MetricsController(Controller):
    @get("/metrics", opt={"access": PUBLIC}, include_in_schema=False, name="metrics")
    async def metrics(self, request: Request[Any, Any, Any], state: State) -> Response[bytes]:
        token = state.settings.app.metrics_token
        if not token:
            raise NotFoundException()
        if not _authorised(request, token):
            return Response(b"", status_code=401, headers={"www-authenticate": "Bearer"})
        try:
            await _read_gauges(state.engine)
        except Exception:  # the database is down: the request metrics still answer, /readyz says why
            log.exception("metrics: database gauges unavailable")
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
