"""The inspector's queue over the JSON API: the Sở Nội vụ's inspector reads the province's departments as the
review list shows them; a department's own people are refused."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.support import sign_in

pytestmark = pytest.mark.usefixtures("demo_tenants", "criteria")

QUEUE = "/api/v1/t/ha-tinh/so-noi-vu/tham-dinh/2020"
INSPECTOR = "toan.nv@snv.hatinh.example.vn"
FOCAL = "thao.ntp@sngv.hatinh.example.vn"


async def test_the_inspector_reads_the_queue_with_a_started_department(
    client: AsyncTestClient[Litestar], csrf: Callable[..., Awaitable[str]]
) -> None:
    await sign_in(client, FOCAL)
    started = await client.post(
        "/api/v1/t/ha-tinh/so-ngoai-vu/tu-danh-gia/2020/bat-dau", headers={"x-csrftoken": await csrf()}
    )
    assert started.status_code == 200, started.text
    assert (await client.get(QUEUE)).status_code == 403  # a department's focal point has no review right
    await sign_in(client, INSPECTOR)
    queue = await client.get(QUEUE)
    assert queue.status_code == 200, queue.text
    lines = {line["tenant"]: line for line in queue.json()["items"]}
    assert lines["so-ngoai-vu"]["submission"] == "Chưa nộp"
    assert lines["so-ngoai-vu"]["submission_version"] is None
    assert lines["so-ngoai-vu"]["page_url"] == "/t/ha-tinh/so-noi-vu/tham-dinh/2020/so-ngoai-vu"
    no_set = await client.get("/api/v1/t/ha-tinh/so-noi-vu/tham-dinh/2031")
    assert (no_set.status_code, no_set.json()["message"]) == (404, "Tỉnh chưa ban hành bộ chỉ số năm 2031.")


async def test_without_a_session_the_queue_answers_401(client: AsyncTestClient[Litestar]) -> None:
    assert (await client.get(QUEUE)).status_code == 401
