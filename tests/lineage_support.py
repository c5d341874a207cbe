"""What the lineage tests share (tenants/lineage.yaml): the demo's merges, syncing them, reading a tenant's rows
under its row-level security, an open task on a board, a page's CSRF token."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.domain.criteria.importer import import_criteria, load_all
from backend.domain.tenants.config import load_directory
from backend.domain.tenants.lineage import load_lineage
from backend.domain.tenants.sync import SyncReport, sync_tenants
from backend.settings import PROJECT_ROOT
from tests.auth_support import in_tenant, scalar
from tests.factories import DEPARTMENT_MERGE, config_dir
from tests.html_support import squash

HT = "/t/ha-tinh"
HCM = "/t/ho-chi-minh"
BRVT_STNMT = "/t/ba-ria-vung-tau/so-tai-nguyen-moi-truong"
HT_FOCAL_POINT = "thuong.tth@stnmt.hatinh.example.vn"  # focal point of Hà Tĩnh's Sở TN&MT
HT_NGOAI_VU = "/t/ha-tinh/so-ngoai-vu"
BRVT_FOCAL_POINT = "lan.nt@stnmt.brvt.example.vn"  # focal point of Bà Rịa – Vũng Tàu's Sở TN&MT
HCM_FOCAL_POINT = "ngoc.ptb@snnmt.hcm.example.vn"  # focal point of its Sở Nông nghiệp và Môi trường


PROVINCE_MERGE = """
events:
  - kind: province_merge
    date: "01/07/2025"
    from: ba-ria-vung-tau
    to: ho-chi-minh
    tenants: {so-tai-nguyen-moi-truong: so-nong-nghiep-moi-truong}
"""


async def sync(owner_engine: AsyncEngine, root: Path, *, preview: bool = False) -> SyncReport:
    provinces = load_directory(root)
    return await sync_tenants(
        owner_engine, provinces, demo_people=True, lineage=load_lineage(root, provinces), preview=preview
    )


async def tenant_id(owner_engine: AsyncEngine, path: str) -> str:
    _, _, province, tenant = path.split("/")
    return str(
        await scalar(
            owner_engine,
            "SELECT t.id FROM tenants t JOIN provinces p ON p.id = t.province_id WHERE p.code = :p AND t.code = :t",
            p=province,
            t=tenant,
        )
    )


async def tenant_rows(owner_engine: AsyncEngine, path: str, sql: str, **params: object) -> list[Any]:
    """Rows of a tenant-owned table of the tenant at `path`, read with its context set (row-level security)."""
    return await in_tenant(owner_engine, uuid.UUID(await tenant_id(owner_engine, path)), sql, **params)


async def add_open_task(owner_engine: AsyncEngine, path: str, number: int, title: str, *, done: bool = False) -> None:
    """A remedy task on the tenant's board (in its first column, or its done column), as the owner."""
    tenant = await tenant_id(owner_engine, path)
    async with owner_engine.begin() as db:
        await db.execute(text("SELECT set_config('app.tenant_id', :t, true)"), {"t": tenant})
        column = await db.scalar(
            text("SELECT id FROM board_columns WHERE is_done = :done ORDER BY position LIMIT 1"), {"done": done}
        )
        await db.execute(
            text(
                "INSERT INTO tasks (id, tenant_id, number, year, kind, area_code, title, deadline_text, deficiency, "
                "expected_output, notes, labels, column_id, position, version, search_text, due_series, created_at, "
                "updated_at) VALUES (gen_random_uuid(), :t, :n, 2025, 'fix', 'I', :title, '', 'thiếu', '', '', '{}', "
                ":c, :n, 1, '', '{}', now(), now())"
            ),
            {"t": tenant, "n": number, "title": title, "c": column},
        )


async def csrf_of(client: AsyncTestClient[Litestar], path: str) -> str:
    page = await client.get(path)
    match = re.search(r'name="csrf-token" content="([^"]+)"', squash(page.text))
    assert match is not None, page.text[:500]
    return match.group(1)


HT_ARCHIVE = f"{HT}/so-tai-nguyen-moi-truong"
HT_SNV = f"{HT}/so-noi-vu"
HT_REVIEWER = "toan.nv@snv.hatinh.example.vn"
HT_PROVINCE_ADMIN = "nghia.tv@snv.hatinh.example.vn"
HT_ARCHIVE_ADMIN = "quang.nd@stnmt.hatinh.example.vn"  # tenant admin of Hà Tĩnh's Sở TN&MT


async def merge_departments(tmp_path: Path, owner_engine: AsyncEngine) -> None:
    """Hà Tĩnh after its department merge (Sở TN&MT and Sở NN&PTNT into Sở NN&MT, 01/03/2025), with its criteria."""
    await sync(owner_engine, config_dir(tmp_path, DEPARTMENT_MERGE))
    await import_criteria(owner_engine, load_all(PROJECT_ROOT / "tenants"))
