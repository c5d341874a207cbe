"""Criteria sets over the JSON API: anyone of a tenant reads the province's sets; the province's admin imports a
new version through the Sở Nội vụ with the upload page's checks (unchanged content: no new version; a bad file:
every problem, nothing written); no one else imports."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.settings import PROJECT_ROOT
from tests.auth_support import scalar
from tests.support import sign_in

pytestmark = pytest.mark.usefixtures("demo_tenants", "criteria")

SETS = "/api/v1/t/ha-tinh/so-noi-vu/bo-chi-so"
ADMIN = "nghia.tv@snv.hatinh.example.vn"  # province_admin
FOCAL = "thao.ntp@sngv.hatinh.example.vn"
SHIPPED = (PROJECT_ROOT / "tenants" / "ha-tinh" / "criteria" / "2020" / "so-ban-nganh.yaml").read_text(encoding="utf-8")
COUNT = "SELECT count(*) FROM criteria_sets cs JOIN provinces p ON p.id = cs.province_id WHERE p.code = 'ha-tinh'"

Csrf = Callable[..., Awaitable[str]]


async def test_a_department_reads_its_province_s_sets(client: AsyncTestClient[Litestar]) -> None:
    await sign_in(client, FOCAL)
    response = await client.get("/api/v1/t/ha-tinh/so-ngoai-vu/bo-chi-so")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["province"] == "ha-tinh"
    assert {(s["year"], s["version"]) for s in body["items"]} == {(2020, 1)}
    assert all(s["total_max"].endswith(".000") for s in body["items"])


async def test_the_province_admin_imports_a_new_version_only_when_the_content_changed(
    client: AsyncTestClient[Litestar], csrf: Csrf, owner_engine: AsyncEngine
) -> None:
    await sign_in(client, ADMIN)
    headers = {"x-csrftoken": await csrf()}
    before = await scalar(owner_engine, COUNT)
    same = await client.post(SETS, json={"content": SHIPPED, "file_name": "so-ban-nganh.yaml"}, headers=headers)
    assert same.status_code == 200, same.text
    assert (same.json()["created"], same.json()["criteria_set"]["version"]) == (False, 1)
    changed = SHIPPED.replace('kế hoạch cải cách hành chính"', 'kế hoạch CCHC"', 1)
    assert changed != SHIPPED
    new = await client.post(SETS, json={"content": changed, "file_name": "sua-doi.yaml"}, headers=headers)
    assert new.status_code == 201, new.text
    assert (new.json()["created"], new.json()["criteria_set"]["version"]) == (True, 2)
    assert new.json()["criteria_set"]["source_file"] == "sua-doi.yaml"
    assert await scalar(owner_engine, COUNT) == before + 1


@pytest.mark.parametrize(("content", "expected"), [("", "Tệp rỗng"), ("year: [", ""), ("a: 1\n", "")])
async def test_a_bad_file_is_refused_with_its_problems_and_nothing_written(
    client: AsyncTestClient[Litestar], csrf: Csrf, owner_engine: AsyncEngine, content: str, expected: str
) -> None:
    await sign_in(client, ADMIN)
    before = await scalar(owner_engine, COUNT)
    response = await client.post(SETS, json={"content": content}, headers={"x-csrftoken": await csrf()})
    assert response.status_code == 422, response.text
    assert response.json()["field"] == "content"
    assert expected in response.json()["message"]
    assert not response.json()["message"].isascii()
    assert await scalar(owner_engine, COUNT) == before


async def test_a_department_cannot_import(client: AsyncTestClient[Litestar], csrf: Csrf) -> None:
    await sign_in(client, FOCAL)
    response = await client.post(
        "/api/v1/t/ha-tinh/so-ngoai-vu/bo-chi-so", json={"content": SHIPPED}, headers={"x-csrftoken": await csrf()}
    )
    assert (response.status_code, response.json()["code"]) == (403, "forbidden")
