"""Schemathesis over the whole OpenAPI schema (issue 21): every operation, with examples generated from the schema and
sent with an API token, answers no 5xx, and what it answers conforms to the schema (body and content type of each
documented response). About half the examples have a NUL added to every string they send (body, query, path), which
PostgreSQL's text cannot hold: those are refused (4xx), never stored. Bounded: a few examples per operation, no
example database, the same examples every run."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import APIOperation
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.asgi import create_app
from backend.auth.permissions import PROVINCE_TOKEN_SCOPES, TENANT_TOKEN_SCOPES
from backend.db.runtime import DatabaseUrls
from backend.settings import AuthSettings
from tests.support import make_settings

pytestmark = pytest.mark.usefixtures("demo_tenants", "criteria")

EXAMPLES = 12
TENANT_TOKEN = "pbt_fuzz-tenant-" + "t" * 32
PROVINCE_TOKEN = "pbt_fuzz-province-" + "p" * 30
# The operations a province token serves, in the province's Sở Nội vụ; the others take a department's token.
PROVINCE_PATHS = ("/ket-qua/tinh/", "/diem-ngoai/")
TENANT_PATH = ("province_code", "tenant_code")


async def _token(owner: AsyncEngine, token: str, tenant: str, kind: str, scopes: list[str]) -> None:
    """A live token of the Hà Tĩnh tenant `tenant`, created by one of its active people, as the pages create it."""
    async with owner.begin() as db:
        await db.execute(
            text(
                "SELECT set_config('app.tenant_id', (SELECT t.id::text FROM tenants t JOIN provinces p "
                "ON p.id = t.province_id WHERE p.code = 'ha-tinh' AND t.code = :t), true)"
            ),
            {"t": tenant},
        )
        await db.execute(
            text(
                "INSERT INTO api_tokens (id, tenant_id, kind, name, prefix, token_hash, scopes, created_by, "
                "expires_at) SELECT gen_random_uuid(), m.tenant_id, :kind, 'fuzz', left(:token, 10), :hash, :scopes, "
                "m.user_id, now() + interval '1 day' FROM memberships m "
                "WHERE m.tenant_id = current_setting('app.tenant_id')::uuid AND m.is_active LIMIT 1"
            ),
            {"kind": kind, "token": token, "hash": hashlib.sha256(token.encode()).hexdigest(), "scopes": scopes},
        )


async def test_the_whole_schema_fuzzed_with_tokens_answers_no_5xx_and_conforms(
    owner_engine: AsyncEngine, database: DatabaseUrls
) -> None:
    await _token(owner_engine, TENANT_TOKEN, "so-ngoai-vu", "tenant", [s.value for s in TENANT_TOKEN_SCOPES])
    await _token(owner_engine, PROVINCE_TOKEN, "so-noi-vu", "province", [s.value for s in PROVINCE_TOKEN_SCOPES])
    # a limit no fuzz run reaches: the limiter has a test of its own
    app = create_app(make_settings(auth=replace(AuthSettings(), api_token_rate_per_minute=100_000)), database)
    schema = schemathesis.openapi.from_asgi("/schema/openapi.json", app)
    # the schema's own documents (Litestar's, rendered from this very schema) are not fuzzed
    operations = [result.ok() for result in schema.get_all_operations() if not result.ok().path.startswith("/schema")]
    assert any("/tai-lieu/" in operation.path for operation in operations)

    for operation in operations:
        province = operation.path.startswith("/api/v1/t/") and any(p in operation.path for p in PROVINCE_PATHS)
        _fuzzer(operation, PROVINCE_TOKEN if province else TENANT_TOKEN, "so-noi-vu" if province else "so-ngoai-vu")()


CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]


def _fuzzer(operation: APIOperation, token: str, tenant: str) -> Callable[[], None]:
    """Examples of `operation` sent with `token`, in the Hà Tĩnh tenant `tenant` when the path names one."""

    @given(case=operation.as_strategy(), nul=st.booleans())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    def fuzz(case: schemathesis.Case, nul: bool) -> None:
        if case.path_parameters and "tenant_code" in case.path_parameters:
            case.path_parameters = {**case.path_parameters, "province_code": "ha-tinh", "tenant_code": tenant}
            # half the examples in a year with criteria and data (any int is a valid year to the schema)
            year = case.path_parameters.get("year")
            if isinstance(year, int) and year % 2 == 0:
                case.path_parameters["year"] = 2020
        injected = False
        if nul:  # the tenant stays the token's: a NUL there would only be a 404
            keep = {key: case.path_parameters.pop(key) for key in TENANT_PATH if key in (case.path_parameters or {})}
            for part in ("body", "query", "path_parameters"):
                value = getattr(case, part)
                with_nul = _with_nul(value)
                injected = injected or with_nul != value
                setattr(case, part, with_nul)
            if keep:
                case.path_parameters = {**(case.path_parameters or {}), **keep}
        response = case.call(headers={"Authorization": f"Bearer {token}"})
        case.validate_response(response, checks=CHECKS)
        if injected and operation.path.startswith("/api/v1/"):
            assert response.status_code >= 400, (operation.label, response.status_code, response.text[:500])

    return fuzz  # type: ignore[no-any-return]


def _with_nul(value: Any) -> Any:
    """`value` (a generated body, query or path parameters) with a NUL added to every string in it."""
    if isinstance(value, str):
        return value + "\x00"
    if isinstance(value, dict):
        return {key: _with_nul(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_with_nul(item) for item in value]
    return value
