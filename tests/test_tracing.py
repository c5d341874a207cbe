"""OpenTelemetry traces as an option: with an OTLP endpoint configured, requests arrive as spans at a collector
over HTTP (a small receiver on 127.0.0.1 stands in for the collector); without one, nothing is traced."""

from __future__ import annotations

import threading

import pytest
from litestar import Litestar, Request, post
from litestar.testing import AsyncTestClient
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from backend.asgi import create_app
from backend.db.runtime import DatabaseUrls
from backend.settings import SettingsError, load_settings
from tests.support import LiveServer, make_settings


class Collector:
    """What an OTLP/HTTP collector received: each export request, decoded."""

    def __init__(self) -> None:
        self.exports: list[ExportTraceServiceRequest] = []
        self.arrived = threading.Event()

    def app(self) -> Litestar:
        @post("/v1/traces", status_code=200)
        async def traces(request: Request) -> bytes:  # type: ignore[type-arg]
            export = ExportTraceServiceRequest()
            export.ParseFromString(await request.body())
            self.exports.append(export)
            self.arrived.set()
            return b""

        return Litestar([traces])

    def spans(self) -> list[tuple[str, str]]:
        """(service name, span name) of every span received."""
        found = []
        for export in self.exports:
            for resource_spans in export.resource_spans:
                service = next(
                    a.value.string_value for a in resource_spans.resource.attributes if a.key == "service.name"
                )
                found += [(service, span.name) for scope in resource_spans.scope_spans for span in scope.spans]
        return found


async def test_with_an_endpoint_requests_are_exported_as_spans(database: DatabaseUrls) -> None:
    collector = Collector()
    with LiveServer(collector.app()) as receiver:
        app = create_app(make_settings(tracing_endpoint=receiver.url), database)
        async with AsyncTestClient(app=app) as client:
            assert (await client.get("/")).status_code == 200
            assert (await client.get("/healthz")).status_code == 200  # excluded: no span
        # the batch is sent at shutdown at the latest (the provider flushes when the app stops)
        plugin = next(p for p in app.plugins.init if type(p).__name__ == "OpenTelemetryPlugin")
        provider = plugin.config.tracer_provider  # type: ignore[attr-defined]
        assert provider.force_flush(timeout_millis=10_000)
        assert collector.arrived.wait(10)
    spans = collector.spans()
    assert {service for service, _ in spans} == {"parboard"}
    names = {name for _, name in spans}
    assert any(name.startswith("GET /") and "healthz" not in name for name in names), names
    assert not any("healthz" in name for name in names)


def test_without_an_endpoint_nothing_is_traced(database: DatabaseUrls) -> None:
    app = create_app(make_settings(), database)
    assert not [p for p in app.plugins.init if type(p).__name__ == "OpenTelemetryPlugin"]


def test_a_bad_endpoint_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARBOARD_ENV", "development")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318")
    with pytest.raises(SettingsError, match="OTEL_EXPORTER_OTLP_ENDPOINT must be an http"):
        load_settings()
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/")
    assert load_settings().app.tracing_endpoint == "http://collector:4318"
