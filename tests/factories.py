"""Factories of domain objects for the tests: a demo department's remedy tasks, evidence, self-assessment and
submissions built the way a person builds them (through the app), and tenants, people and memberships, province
configurations and criteria written straight to the database or to disk for the tests that need their own."""

from __future__ import annotations

import re
import shutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date
from decimal import Decimal
from io import BytesIO
from pathlib import Path
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient
from openpyxl import Workbook
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from backend.db.engine import create_session_maker
from backend.db.models import (
    Base,
    CriteriaSet,
    Criterion,
    EvidenceFile,
    ExternalScore,
    Membership,
    Submission,
    Tenant,
    User,
)
from backend.db.rls import bind_tenant
from backend.domain.evidence.storage import LocalStorage, Storage
from backend.domain.submissions.services import build_package
from backend.domain.tenants.config import load_directory
from backend.domain.tenants.sync import SyncReport, sync_tenants
from backend.settings import PROJECT_ROOT
from tests.html_support import squash
from tests.samples import PDF_BYTES
from tests.support import (
    HTMX,
    SEED_001,
    sign_in,
    tenant_and_province,
)

# --- the demo's Sở Ngoại vụ of Hà Tĩnh: its pages and people ------------------------------------------------------

SNGV = "/t/ha-tinh/so-ngoai-vu"
BOARD = f"{SNGV}/ke-hoach/2020"
FOCAL = "thao.ntp@sngv.hatinh.example.vn"
LEADER = "vinh.tq@sngv.hatinh.example.vn"
STAFF = "tuan.pa@sngv.hatinh.example.vn"  # Phòng Hợp tác quốc tế
VIEWER = "lien.ct@sngv.hatinh.example.vn"
OTHER_FOCAL = "thuong.tth@stnmt.hatinh.example.vn"  # Sở TN&MT, another department
REVIEWER = "toan.nv@snv.hatinh.example.vn"  # the province's Sở Nội vụ
COMMUNE_FOCAL = "kien.tv@thanhsen.hatinh.example.vn"  # UBND phường Thành Sen
BIND_SNGV = (
    "SELECT set_config('app.tenant_id', (SELECT t.id::text FROM tenants t JOIN provinces p ON p.id = t.province_id"
    " WHERE p.code = 'ha-tinh' AND t.code = 'so-ngoai-vu'), true)"
)


async def sngv_rows(engine: AsyncEngine, sql: str, **params: Any) -> list[Any]:
    async with engine.begin() as db:
        await db.execute(text(BIND_SNGV))
        return list((await db.execute(text(sql), params)).all())


# --- remedy tasks on the board ------------------------------------------------------------------------------------


async def board_token(client: AsyncTestClient[Litestar]) -> str:
    page = await client.get(BOARD)
    assert page.status_code == 200, page.text
    match = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
    assert match
    return match.group(1)


async def sngv_units(engine: AsyncEngine) -> dict[str, str]:
    return {row.code: str(row.id) for row in await sngv_rows(engine, "SELECT code, id FROM units")}


async def create_task(client: AsyncTestClient[Litestar], **fields: Any) -> Any:
    token = await board_token(client)
    data = {"kind": "fix", "area_code": "1", "title": "Ban hành kế hoạch", "deadline_text": "Quý II/2020"} | fields
    return await client.post(f"{BOARD}/them", data={**data, "_csrf_token": token}, follow_redirects=False)


async def board_tasks(engine: AsyncEngine) -> list[Any]:
    return await sngv_rows(
        engine,
        "SELECT t.id, t.number, t.version, t.position, t.area_code, c.code AS col, t.due_date FROM tasks t"
        " JOIN board_columns c ON c.id = t.column_id ORDER BY t.number",
    )


# --- evidence -----------------------------------------------------------------------------------------------------

CRITERION = f"{SNGV}/tai-lieu/2020/tieu-chi/1.2"


def multipart(
    files: list[tuple[str, bytes]], fields: dict[str, str] | None = None, *, csrf: str | None = None
) -> tuple[bytes, str]:
    """A multipart body exactly as a browser sends it (file names as raw UTF-8, as typed)."""
    boundary = f"----parboard{uuid.uuid4().hex}"
    parts: list[bytes] = []
    if csrf is not None:
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="_csrf_token"\r\n\r\n{csrf}\r\n'.encode())
    for name, value in (fields or {}).items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for filename, data in files:
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{filename}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        )
        parts.append(head.encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


async def evidence_token(client: AsyncTestClient[Litestar], path: str = CRITERION) -> str:
    response = await client.get(path)
    assert response.status_code == 200, response.text
    match = re.search(r'name="csrf-token" content="([^"]+)"', response.text)
    assert match
    return match.group(1)


async def upload_evidence(  # type: ignore[no-untyped-def]
    client: AsyncTestClient[Litestar],
    files: list[tuple[str, bytes]],
    fields: dict[str, str] | None = None,
    *,
    path: str = CRITERION,
    htmx: bool = True,
):
    token = await evidence_token(client, path)
    body, content_type = multipart(files, fields)
    headers = {"content-type": content_type, "x-csrftoken": token, **(HTMX if htmx else {})}
    return await client.post(path, content=body, headers=headers)


async def upload_one_pdf(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine, fields: dict[str, str]
) -> tuple[Any, dict[str, object]]:
    """Upload one PDF with the form's `fields` as the signed-in person: the answer and the one row it saved."""
    response = await upload_evidence(client, [("Kế hoạch.pdf", PDF_BYTES)], fields)
    assert response.status_code == 201, response.text
    (row,) = await evidence_rows(owner_engine)
    return response, row


async def evidence_rows(owner_engine: AsyncEngine) -> list[dict[str, object]]:
    async with owner_engine.connect() as connection:
        async with connection.begin():
            tenants = (await connection.execute(text("SELECT id FROM tenants"))).scalars().all()
        rows: list[dict[str, object]] = []
        for tenant_id in tenants:
            async with connection.begin():
                await connection.execute(text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(tenant_id)})
                found = await connection.execute(text("SELECT * FROM evidence_files ORDER BY filename"))
                rows.extend(dict(row._mapping) for row in found)
        return rows


# --- self-assessment and submission -------------------------------------------------------------------------------

ASSESS = f"{SNGV}/tu-danh-gia/2020"
PAGE = f"{SNGV}/nop-ho-so/2020"
TEMPLATES = PROJECT_ROOT / "templates"


async def submission_csrf(client: AsyncTestClient[Litestar], path: str = ASSESS) -> str:
    response = await client.get(path)  # any page of a signed-in person carries the token (sign-out form)
    match = re.search(r'name="_csrf_token" value="([^"]+)"', response.text) or re.search(
        r'name="submission_csrf-token" content="([^"]+)"', response.text
    )
    assert match
    return match.group(1)


async def post(client: AsyncTestClient[Litestar], path: str, data: dict[str, str] | None = None) -> Any:
    token = await submission_csrf(client)
    return await client.post(path, data={**(data or {}), "_csrf_token": token}, follow_redirects=False)


async def approve_2020(client: AsyncTestClient[Litestar]) -> None:
    """Seed 001's self-assessment entered by staff, sent for approval and approved by the leader."""
    await sign_in(client, STAFF)
    assert (await post(client, f"{ASSESS}/bat-dau")).status_code in (302, 303)
    for code, form in SEED_001:
        response = await post(client, f"{ASSESS}/tieu-chi/{code}", form)
        assert response.status_code in (302, 303), (code, response.text[:500])
    assert (await post(client, f"{ASSESS}/trang-thai", {"action": "gui-duyet"})).status_code in (302, 303)
    await sign_in(client, LEADER)
    approved = await post(client, f"{ASSESS}/trang-thai", {"action": "duyet"})
    assert "Đã duyệt bản tự đánh giá." in (await client.get(approved.headers["location"])).text


async def tenant_id(engine: AsyncEngine, code: str = "so-ngoai-vu") -> uuid.UUID:
    async with engine.connect() as db:
        return (await db.execute(text("SELECT id FROM tenants WHERE code = :c"), {"c": code})).scalar_one()


async def add_evidence(
    engine: AsyncEngine,
    storage: Storage,
    tenant: uuid.UUID,
    files: list[tuple[str | None, str, bytes]],
    *,
    document_number: str = "640/KH-STNMT",
    document_date: date | None = date(2023, 2, 24),
    request_id: uuid.UUID | None = None,
) -> list[EvidenceFile]:
    """Evidence rows of 2020 (criterion, file name, bytes) with their blobs, as the upload would leave them
    (`request_id`: files answering a reviewer's request)."""

    async def chunks(data: bytes) -> AsyncIterator[bytes]:
        yield data

    rows = []
    async with create_session_maker(engine)() as db:
        await bind_tenant(db, tenant)
        async with db.begin():
            for criterion, name, data in files:
                stored = await storage.put(chunks(data))
                row = EvidenceFile(
                    id=uuid.uuid4(),
                    tenant_id=tenant,
                    year=2020,
                    criterion_code=criterion,
                    sha256=stored.sha256,
                    size=stored.size,
                    content_type="application/pdf",
                    filename=name,
                    description="",
                    document_number=document_number,
                    document_date=document_date,
                    request_id=request_id,
                )
                db.add(row)
                rows.append(row)
    return rows


def submitted(tenant: uuid.UUID, assessment: uuid.UUID, year: int = 2020, version: int = 1) -> Submission:
    """A submission of a self-assessment as the reviewers see it once packaged (no progress left, no error)."""
    return Submission(
        id=uuid.uuid4(),
        tenant_id=tenant,
        assessment_id=assessment,
        year=year,
        version=version,
        status="submitted",
        progress_done=0,
        progress_total=0,
        error="",
    )


async def submission_rows(engine: AsyncEngine, tenant: uuid.UUID) -> list[Submission]:
    async with create_session_maker(engine)() as db:
        await bind_tenant(db, tenant)
        async with db.begin():
            return list(await db.scalars(select(Submission).order_by(Submission.version)))


async def build_all(engine: AsyncEngine, storage: LocalStorage, tenant: uuid.UUID) -> list[str]:
    return [
        await build_package(engine, storage, tenant, s.id, templates_dir=TEMPLATES)
        for s in await submission_rows(engine, tenant)
        if s.status == "building"
    ]


# --- province files and their sync --------------------------------------------------------------------------------

DEPARTMENT_MERGE = """
events:
  - kind: merge
    date: "01/03/2025"
    from: [ha-tinh/so-tai-nguyen-moi-truong, ha-tinh/so-nong-nghiep-phat-trien-nong-thon]
    to: ha-tinh/so-nong-nghiep-moi-truong
"""


def config_dir(tmp_path: Path, lineage: str | None = None, *, without_identity_provider: str = "") -> Path:
    """The demo provinces (tenants/*/province.yaml) and `lineage` as their lineage.yaml (none: no lineage);
    `without_identity_provider` names a province whose provider is taken out (`identity_provider: null`)."""
    root = tmp_path / "tenants"
    for folder in sorted((PROJECT_ROOT / "tenants").iterdir()):
        if (folder / "province.yaml").is_file():
            shutil.copytree(folder, root / folder.name)
    if without_identity_provider:
        file = root / without_identity_provider / "province.yaml"
        file.write_text(
            re.sub(
                r"  identity_provider:\n(    .*\n)+", "  identity_provider: null\n", file.read_text(encoding="utf-8")
            ),
            encoding="utf-8",
        )
    if lineage is not None:
        (root / "lineage.yaml").write_text(lineage, encoding="utf-8")
    return root


Snapshot = dict[str, list[dict[str, Any]]]


async def sync_dir(owner_engine: AsyncEngine, directory: Path, *, demo_people: bool = True) -> SyncReport:
    """What `parboard tenants sync --dir` does (and `parboard demo` with demo people)."""
    return await sync_tenants(owner_engine, load_directory(directory), demo_people=demo_people)


async def as_tenant(connection: AsyncConnection, tenant_id: uuid.UUID) -> None:
    await connection.execute(text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(tenant_id)})


async def snapshot(owner_engine: AsyncEngine) -> Snapshot:
    """Every row of every table, in a stable order; tenant-owned tables read tenant by tenant."""
    rows: Snapshot = {}
    async with owner_engine.connect() as connection:
        tenant_ids = list(await connection.scalars(select(Tenant.id).order_by(Tenant.id)))
        for table in Base.metadata.sorted_tables:
            query = select(table).order_by(*(table.primary_key.columns or table.columns))
            if "tenant_id" not in table.columns:
                rows[table.name] = [dict(row._mapping) for row in await connection.execute(query)]
                continue
            rows[table.name] = []
            for tenant_id in tenant_ids:
                await as_tenant(connection, tenant_id)
                rows[table.name] += [dict(row._mapping) for row in await connection.execute(query)]
        await connection.rollback()
    return rows


# --- Bà Rịa – Vũng Tàu's Sở TN&MT in 2024: bonus and penalty rows, the Sở Nội vụ's external scores ----------------

BONUS_PENALTY_YEAR = 2024


# Seed 004's 2023 components of Sở TN&MT (87,225 with the survey and DTI below), entered against the 2024 set …
BONUS_PENALTY_ROWS: list[tuple[str, dict[str, str]]] = [
    ("1", {"points": "9,5"}),
    ("2", {"points": "6,5"}),
    ("3", {"points": "9,729"}),
    ("4", {"points": "6,5"}),
    ("5", {"points": "7"}),
    ("6", {"points": "8"}),
    # … with Phụ lục 2 part III: bonus 0,5 + 0,5 + 0,5 + 1 + 0 = 2,5, counted at the cap of 2 …
    ("10.1", {"points": "0,5"}),
    ("10.2", {"value": "1,6"}),  # income up 1,6 times ≥ 1,5 → 0,5
    ("10.3", {"value": "12"}),  # 12 % fewer public service units ≥ 10 % → 0,5
    ("10.4", {"points": "1"}),
    ("10.5", {"value": "45"}),  # 45 % online < 60 % → 0
    # … and a penalty of 1 + 0,5 = 1,5, under its cap of 3
    ("11.1", {"points": "0"}),
    ("11.2", {"points": "1"}),
    ("11.3", {"points": "0"}),
    ("11.4", {"points": "0,5"}),
    ("11.5", {"points": "0"}),
]


BONUS_PENALTY_EXTERNAL = {
    "7": ("93.76", "9.376"),
    "9.1": (None, "13.245"),
    "9.2": (None, "17.375"),
}  # DTI 93,76 × 0,1; survey


async def drop_the_2024_calendar(owner_engine: AsyncEngine) -> None:
    """The demo's 2024 calendar closed self-assessment on 15/11/2024: without it the year is open, as a province
    that has not set one yet (the calendar's locks are tested in test_submissions)."""
    async with owner_engine.begin() as db:
        await db.execute(
            text("UPDATE provinces SET settings = settings #- '{calendar,2024}' WHERE code = 'ba-ria-vung-tau'")
        )


async def add_external_scores(owner_engine: AsyncEngine) -> None:
    """The Sở Nội vụ's DTI and survey points for the department, as its grid stores them."""
    async with create_session_maker(owner_engine)() as db, db.begin():
        tenant, province = await tenant_and_province(db, "ba-ria-vung-tau", "so-tai-nguyen-moi-truong")
        found = await db.execute(
            select(Criterion.code, Criterion.id)
            .join(CriteriaSet, CriteriaSet.id == Criterion.criteria_set_id)
            .where(CriteriaSet.province_id == province.id, CriteriaSet.year == BONUS_PENALTY_YEAR)
        )
        ids = {code: criterion_id for code, criterion_id in found.all()}
        await bind_tenant(db, tenant.id)
        for code, (value, points) in BONUS_PENALTY_EXTERNAL.items():
            db.add(
                ExternalScore(
                    id=uuid.uuid4(),
                    tenant_id=tenant.id,
                    criterion_id=ids[code],
                    value=Decimal(value) if value else None,
                    points=Decimal(points),
                )
            )
        await db.flush()
        await bind_tenant(db, None)


# --- people -------------------------------------------------------------------------------------------------------


async def add_person(
    owner_engine: AsyncEngine,
    province: str,
    tenant: str,
    email: str,
    role: str,
    *,
    full_name: str = "Người thử",
    subject: str | None = None,
    unit_id: uuid.UUID | None = None,
) -> uuid.UUID:
    """A person of the province's identity provider (as sign-in would create them) with one membership of `role`
    in the tenant (in `unit_id` if given). Returns the person's id."""
    async with create_session_maker(owner_engine)() as db, db.begin():
        found, found_province = await tenant_and_province(db, province, tenant)
        user = User(
            id=uuid.uuid4(),
            issuer=(found_province.settings.get("identity_provider") or {}).get("issuer"),
            subject=subject or email,
            email=email,
            full_name=full_name,
        )
        db.add(user)
        await db.flush()
        await bind_tenant(db, found.id)
        db.add(Membership(id=uuid.uuid4(), tenant_id=found.id, user_id=user.id, role=role, unit_id=unit_id))
        await db.flush()
        await bind_tenant(db, None)
    return user.id


def plan_workbook(bad_deadline: str = "31/02/2020") -> bytes:
    """An appendix table as the seeds' plans have it: a title, the header, group rows I./II., tasks below."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["DANH MỤC NHIỆM VỤ KHẮC PHỤC TỒN TẠI, HẠN CHẾ"])
    sheet.append([])
    sheet.append(
        [
            "TT",
            "Tồn tại, hạn chế",
            "Giải pháp khắc phục",
            "Thời hạn hoàn thành",
            "Đơn vị chủ trì",
            "Đơn vị phối hợp",
            "Kết quả/sản phẩm",
            "Ghi chú",
        ]
    )
    sheet.append(["I.", "CHỈ ĐẠO, ĐIỀU HÀNH CÔNG TÁC CẢI CÁCH HÀNH CHÍNH"])
    sheet.append(
        [
            1,
            "Tiêu chí 1.2: tỷ lệ hoàn thành kế hoạch CCHC đạt 94,76 %, đạt 1,42/1,5 điểm",
            "Ban hành và thực hiện đúng tiến độ Kế hoạch CCHC",
            "Quý II/2020",
            "Văn phòng - Thanh tra Sở",
            "Các phòng, đơn vị thuộc Sở",
            "Kế hoạch",
            None,
        ]
    )
    sheet.append(
        [
            2,
            "Tiêu chí 1.5: kế hoạch khắc phục ban hành quá 15 ngày",
            "Ban hành kế hoạch khắc phục trong 15 ngày kể từ khi có kết quả",
            bad_deadline,
            "van phong thanh tra so",
            "Phòng Hợp tác quốc tế; Phòng Tuyên truyền đối ngoại",
            "Kế hoạch",
            None,
        ]
    )
    sheet.append(["II.", "XÂY DỰNG VÀ TỔ CHỨC THỰC HIỆN VĂN BẢN QPPL"])
    sheet.append(
        [
            1,
            None,
            "Theo dõi thi hành pháp luật trong lĩnh vực đối ngoại",
            "Thường xuyên",
            "PHÒNG HỢP TÁC QUỐC TẾ",
            "Phòng Lãnh sự và Người Việt Nam ở nước ngoài, Phòng Quản lý biên giới",
            "Báo cáo",
            "Định kỳ 6 tháng/năm",
        ]
    )
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


TOKEN_CREATED = re.compile(r'id="created-token" class="token-value" readonly value="(pbt_[^"]+)"')
NEXT_MONTH = "31/01/2027"  # the test clock is the real one: a date within a year of December 2026


async def create_api_token(
    client: AsyncTestClient[Litestar],
    csrf: Callable[..., Awaitable[str]],
    path: str,
    name: str,
    scopes: list[str],
    expires: str = NEXT_MONTH,
) -> str:
    """An API token created on the token page at `path` by the signed-in admin, as shown once on the answer."""
    token = await csrf(f"{path}/")
    response = await client.post(
        f"{path}/", data={"_csrf_token": token, "ten": name, "quyen": scopes, "het-han": expires}
    )
    assert response.status_code == 201, response.text[:2000]
    match = TOKEN_CREATED.search(squash(response.text))  # the input's attributes are wrapped in the template
    assert match, response.text[:2000]
    assert response.headers["cache-control"] == "no-store"
    return match.group(1)
