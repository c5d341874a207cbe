"""Every page and every fragment a page asks for answers without a server error, for each role: a bounded
crawl from the person's home that follows every link and every `hx-get`, each requested as a full page and as
htmx asks for it (only the named block: a block that leans on something defined outside it fails here)."""

from __future__ import annotations

import html
import re
from collections import deque

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.domain.criteria.importer import import_criteria, load_all
from backend.settings import PROJECT_ROOT
from tests.fixtures.csrf import csrf_token
from tests.support import sign_in

pytestmark = pytest.mark.usefixtures("demo_tenants")

SNGV = "/t/ha-tinh/so-ngoai-vu"
SNV = "/t/ha-tinh/so-noi-vu"
FOCAL = "thao.ntp@sngv.hatinh.example.vn"
HTMX = {"HX-Request": "true"}
PDF = b"%PDF-1.7\n" + b"x" * 2000 + b"\n%%EOF\n"
LINK = re.compile(r'(?:href|hx-get)="(/[^"]*)"')
# Files, charts and exports are followed once as they are; sign-out and static files are not pages.
DOWNLOAD = re.compile(r"/(xuat|bieu-do)/|\.(xlsx|docx|zip|png|svg|pdf)(\?|$)|/tai-ve$|/tep/[^/]+(/xem)?$")
NOT_A_PAGE = re.compile(r"^/(static|assets|dang-xuat|schema|metrics|auth/)")  # auth/: a trip to the identity provider
PAGES_PER_ROLE = 120


def _shape(url: str) -> str:
    """Pages that differ only by a number, a code or a query value are one shape: one of them is enough."""
    path, _, query = url.partition("?")
    segments = ["#" if re.search(r"\d", s) else s for s in path.split("/")]
    return "/".join(segments) + ("?" + ",".join(sorted(k.split("=")[0] for k in query.split("&"))) if query else "")


async def _department_year(client: AsyncTestClient[Litestar], owner_engine: AsyncEngine) -> None:
    """Sở Ngoại vụ's 2020 so far: a self-assessment with a scored row, a task with evidence, a criterion's
    evidence, a comment: enough that every kind of page and fragment has something to show."""
    await import_criteria(owner_engine, load_all(PROJECT_ROOT / "tenants"))
    await sign_in(client, FOCAL)
    token = await csrf_token(client, f"{SNGV}/tu-danh-gia/2020")
    headers = {"x-csrftoken": token}
    started = await client.post(f"{SNGV}/tu-danh-gia/2020/bat-dau", headers=headers, follow_redirects=False)
    assert started.status_code in (302, 303), started.text
    saved = await client.post(
        f"{SNGV}/tu-danh-gia/2020/tieu-chi/1.7", data={"points": "0,5", "version": "0"}, headers={**headers, **HTMX}
    )
    assert saved.status_code == 200, saved.text
    async with owner_engine.begin() as db:
        await db.execute(
            text("SELECT set_config('app.tenant_id', (SELECT id::text FROM tenants WHERE code = 'so-ngoai-vu'), true)")
        )
        lanh_su = await db.scalar(text("SELECT id FROM units WHERE code = 'phong-lanh-su'"))
    created = await client.post(
        f"{SNGV}/ke-hoach/2020/them",
        data={
            "kind": "fix",
            "area_code": "1",
            "criterion_code": "1.2",
            "title": "Ban hành kế hoạch",
            "deadline_text": "Quý II/2020",
            "lead_unit_id": str(lanh_su),
        },
        headers=headers,
        follow_redirects=False,
    )
    assert created.status_code in (302, 303), created.text
    uploaded = await client.post(
        f"{SNGV}/tai-lieu/2020/tieu-chi/1.2", files={"files": ("ke-hoach.pdf", PDF)}, headers={**headers, **HTMX}
    )
    assert uploaded.status_code == 201, uploaded.text
    commented = await client.post(
        f"{SNGV}/ke-hoach/2020/the/1/trao-doi", data={"body": "Đã giao phòng."}, headers=headers, follow_redirects=False
    )
    assert commented.status_code in (302, 303), commented.text


async def _crawl(client: AsyncTestClient[Litestar], start: str) -> tuple[int, list[str]]:
    seen: set[str] = set()
    queue = deque([start])
    failures: list[str] = []
    visited = 0
    while queue and visited < PAGES_PER_ROLE:
        url = queue.popleft()
        visited += 1
        full = await client.get(url)
        if full.status_code >= 500:
            failures.append(f"{full.status_code} {url}")
        if full.headers.get("content-type", "").startswith("text/html") and "<h1" not in full.text:
            failures.append(f"no h1: {url}")
        if DOWNLOAD.search(url.partition("?")[0]):
            continue
        fragment = await client.get(url, headers=HTMX)
        if fragment.status_code >= 500:
            failures.append(f"{fragment.status_code} {url} (htmx)")
        for body in (full.text, fragment.text):
            for found in LINK.findall(body):
                link = html.unescape(found).partition("#")[0]
                if not link or NOT_A_PAGE.search(link) or _shape(link) in seen:
                    continue
                seen.add(_shape(link))
                queue.append(link)
    return visited, failures


@pytest.mark.parametrize(
    ("email", "home"),
    [
        pytest.param(FOCAL, SNGV, id="focal-point"),
        pytest.param("tuan.pa@sngv.hatinh.example.vn", SNGV, id="unit-staff"),
        pytest.param("nguyet.ltm@sngv.hatinh.example.vn", SNGV, id="unit-head"),
        pytest.param("vinh.tq@sngv.hatinh.example.vn", SNGV, id="leader"),
        pytest.param("lien.ct@sngv.hatinh.example.vn", SNGV, id="viewer"),
        pytest.param("truong.dx@sngv.hatinh.example.vn", SNGV, id="tenant-admin"),
        pytest.param("toan.nv@snv.hatinh.example.vn", SNV, id="inspector"),
        pytest.param("nghia.tv@snv.hatinh.example.vn", SNV, id="province-admin"),
    ],
)
async def test_every_page_and_fragment_reachable_from_home_answers_without_a_server_error(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine, email: str, home: str
) -> None:
    await _department_year(client, owner_engine)
    await sign_in(client, email)
    visited, failures = await _crawl(client, f"{home}/")
    assert visited > 5
    assert failures == []
