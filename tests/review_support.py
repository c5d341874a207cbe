"""What the review's tests share (tests/test_review.py and the API's tests/test_api_review.py): seed 001 as the
department self-scores it, its rows' keys, the self-assessment and its submitted package, a read in a tenant."""

from __future__ import annotations

import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db.engine import create_session_maker
from backend.db.models import NotApplicableDecision
from backend.db.rls import bind_tenant
from backend.domain.assessments import services as assessments
from tests.factories import submitted
from tests.support import SEED_001 as ASSESSMENT_001
from tests.support import tenant_and_province

# Seed 001 (Sở Ngoại vụ, Hà Tĩnh 2020) as the department self-scores it: as in the plan, except that it claims
# full marks for 1.7, which the inspectors will appraise at 0,5
SEED_001 = [(code, {"points": "1", "version": "0"} if code == "1.7" else form) for code, form in ASSESSMENT_001]
KEYS = [code + ("*" if form.get("phan") else "") for code, form in SEED_001]


async def survey_part_not_applicable(owner_engine: AsyncEngine) -> None:
    """Hà Tĩnh 2020's survey part (criterion 8) decided not applicable to Sở Ngoại vụ: too few survey forms."""
    async with create_session_maker(owner_engine)() as db, db.begin():
        tenant, _ = await tenant_and_province(db, "ha-tinh", "so-ngoai-vu")
        await bind_tenant(db, tenant.id)
        db.add(
            NotApplicableDecision(
                id=uuid.uuid4(), tenant_id=tenant.id, year=2020, criterion_code="8", reason="Không đủ phiếu khảo sát"
            )
        )
        await bind_tenant(db, None)


async def self_assess_and_submit(owner_engine: AsyncEngine, *, submit: bool = True) -> None:
    """Sở Ngoại vụ's 2020 self-assessment through the assessment services, and its submitted package."""
    async with create_session_maker(owner_engine)() as db, db.begin():
        tenant, province = await tenant_and_province(db, "ha-tinh", "so-ngoai-vu")
        await bind_tenant(db, tenant.id)
        assessment = await assessments.start(db, tenant, province, 2020, None)
        for code, form in SEED_001:
            loaded = await assessments.load(db, province, 2020)
            assert loaded is not None
            row = loaded.sheet.row(code, remainder=form.get("phan") == "con-lai")
            assert not (await assessments.save_row(db, tenant, loaded, row, form, None)).errors
        if submit:
            db.add(submitted(tenant.id, assessment.id))
        await bind_tenant(db, None)


async def scalar(engine: AsyncEngine, tenant_code: str, sql: str) -> object:
    """One value read as the owner inside a Hà Tĩnh tenant's context (row-level security binds the owner too)."""
    async with engine.begin() as db:
        await db.execute(
            text(
                "SELECT set_config('app.tenant_id', (SELECT t.id::text FROM tenants t JOIN provinces p"
                " ON p.id = t.province_id WHERE p.code = 'ha-tinh' AND t.code = :code), true)"
            ),
            {"code": tenant_code},
        )
        return await db.scalar(text(sql))
