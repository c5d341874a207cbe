"""OpenTelemetry traces, as an option: with OTEL_EXPORTER_OTLP_ENDPOINT set (e.g. http://collector:4318), every
request becomes a span (Litestar's OpenTelemetry plugin over the ASGI instrumentation), exported in batches over
OTLP/HTTP to `<endpoint>/v1/traces` as service `parboard`. Unset, nothing is traced and nothing is imported."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from litestar.plugins.opentelemetry import OpenTelemetryPlugin
    from opentelemetry.sdk.trace import TracerProvider


def tracer_provider(endpoint: str) -> TracerProvider:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": "parboard"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{endpoint.rstrip('/')}/v1/traces")))
    return provider


def tracing_plugin(endpoint: str) -> OpenTelemetryPlugin | None:
    if not endpoint:
        return None
    from litestar.plugins.opentelemetry import OpenTelemetryConfig, OpenTelemetryPlugin

    # files and the operator's endpoints are not worth a span each
    config = OpenTelemetryConfig(
        tracer_provider=tracer_provider(endpoint), exclude=["^/static/", "^/assets/", "^/metrics$", "^/healthz$"]
    )
    return OpenTelemetryPlugin(config)
