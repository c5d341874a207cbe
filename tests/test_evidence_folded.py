"""A self-assessment row's upload form is folded under "Đính kèm minh chứng" (issue 17 item 15: Hà Tĩnh's area 1 was
5,780 px tall on a phone, every row carrying a full upload form): a <details>, so it opens without JavaScript; open by
itself to show an error, and on the panel's own page."""

from __future__ import annotations

import re

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.domain.criteria.importer import import_criteria, load_all
from backend.settings import PROJECT_ROOT
from tests.html_support import squash
from tests.support import sign_in

pytestmark = pytest.mark.usefixtures("demo_tenants", "criteria")

SNGV = "/t/ha-tinh/so-ngoai-vu"
PANEL = f"{SNGV}/tai-lieu/2020/tieu-chi/1.2"
FOCAL = "thao.ntp@sngv.hatinh.example.vn"
HTMX = {"HX-Request": "true"}


@pytest.fixture
async def criteria(owner_engine: AsyncEngine) -> None:
    await import_criteria(owner_engine, load_all(PROJECT_ROOT / "tenants"))


def _details(page: str) -> str:
    match = re.search(r'<details class="evidence-add"( open)?><summary>Đính kèm minh chứng', page)
    assert match, page
    assert page.index("<details") < page.index('<form class="evidence-upload"') < page.index("</details>")
    return match.group(1) or ""


async def test_the_rows_upload_form_is_folded_and_opens_for_an_error_and_on_its_own_page(
    client: AsyncTestClient[Litestar],
) -> None:
    await sign_in(client, FOCAL)
    assert _details((await client.get(PANEL, headers=HTMX)).text) == ""
    assert _details((await client.get(PANEL)).text) == " open"
    page = await client.get(f"{SNGV}/tu-danh-gia/2020")
    token = re.search(r'name="_csrf_token" value="([^"]+)"', squash(page.text))
    assert token
    refused = await client.post(PANEL, data={"_csrf_token": token.group(1), "document": "x"}, headers=HTMX)
    assert refused.status_code == 422, refused.text
    assert _details(refused.text) == " open"
