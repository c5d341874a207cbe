"""/metrics for the operator: Prometheus text behind a bearer token, per route template, with the database pool
and the job queue read at each scrape."""

from __future__ import annotations

import re

import pytest
from litestar.testing import AsyncTestClient
from prometheus_client.parser import text_string_to_metric_families

from backend.asgi import create_app
from backend.db.runtime import DatabaseUrls
from backend.settings import SettingsError, load_settings
from tests.support import make_settings

TOKEN = "m" * 32


async def test_without_a_token_configured_metrics_do_not_exist(database: DatabaseUrls) -> None:
    app = create_app(make_settings(), database)
    async with AsyncTestClient(app=app) as client:
        assert (await client.get("/metrics")).status_code == 404
        assert (await client.get("/metrics", headers={"authorization": f"Bearer {TOKEN}"})).status_code == 404


async def test_metrics_answer_the_operators_token_only(database: DatabaseUrls) -> None:
    app = create_app(make_settings(metrics_token=TOKEN), database)
    async with AsyncTestClient(app=app) as client:
        for headers in ({}, {"authorization": "Bearer wrong"}, {"authorization": TOKEN}):
            refused = await client.get("/metrics", headers=headers)
            assert refused.status_code == 401
            assert refused.headers["www-authenticate"] == "Bearer"
            assert b"parboard" not in refused.content


async def test_requests_are_timed_per_route_template_with_the_pool_and_the_queue(
    database: DatabaseUrls, demo_tenants: None
) -> None:
    app = create_app(make_settings(metrics_token=TOKEN), database)
    async with AsyncTestClient(app=app) as client:
        assert (await client.get("/healthz")).status_code == 200
        # a tenant page: its series is the route's template, never the tenant's own path
        await client.get("/t/ha-tinh/so-ngoai-vu/ke-hoach/2020")
        response = await client.get("/metrics", headers={"authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    families = {family.name: family for family in text_string_to_metric_families(response.text)}
    durations = families["parboard_request_duration_seconds"]
    paths = {sample.labels["path"] for sample in durations.samples}
    assert "/healthz" in paths
    assert "/t/ha-tinh/so-ngoai-vu/ke-hoach/2020" not in paths
    assert any("{" in path for path in paths), paths  # templates such as /t/{province:str}/…
    assert "/metrics" not in paths
    assert "parboard_requests_in_progress" in families
    pool = {sample.labels["state"]: sample.value for sample in families["parboard_db_pool_connections"].samples}
    assert set(pool) == {"size", "checked_out", "idle", "overflow"}
    assert pool["size"] == 5  # make_settings' pool
    assert "parboard_jobs" in families
    for counted in ("parboard_upload_bytes", "parboard_package_builds", "parboard_package_build_seconds"):
        assert counted in families, counted
    assert re.search(r"^process_resident_memory_bytes ", response.text, re.MULTILINE)


def test_a_short_metrics_token_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARBOARD_ENV", "development")
    monkeypatch.setenv("PARBOARD_METRICS_TOKEN", "short")
    with pytest.raises(SettingsError, match="PARBOARD_METRICS_TOKEN must be at least 24 characters"):
        load_settings()
    monkeypatch.setenv("PARBOARD_METRICS_TOKEN", TOKEN)
    assert load_settings().app.metrics_token == TOKEN
