"""The tenant home reads in a few statements (issue 20 item 5): each round trip to PostgreSQL costs the page a few
milliseconds and a tenant check, so the count is pinned and cannot silently grow back."""

from __future__ import annotations

from datetime import date

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db.engine import create_session_maker
from backend.db.rls import bind_tenant
from backend.domain.assessments import services as assessments
from backend.domain.assessments.history import import_histories, load_histories
from backend.domain.assessments.published import publication, publication_of
from backend.domain.criteria.importer import import_criteria, load_all
from backend.domain.tenants import home_cache
from backend.domain.tenants.controllers import _HOME_READS
from backend.domain.tenants.lineage import predecessors, predecessors_of
from backend.settings import PROJECT_ROOT
from tests.support import get_counting_round_trips, get_counting_statements, sign_in, tenant_and_province

pytestmark = pytest.mark.usefixtures("demo_tenants", "published")

SNGV = "/t/ha-tinh/so-ngoai-vu"
FOCAL = "thao.ntp@sngv.hatinh.example.vn"
HOME_STATEMENTS = 5  # a home built: the tenant and the page's reads (the home's versions come with the session)


@pytest.fixture
async def published(owner_engine: AsyncEngine) -> None:
    """The criteria sets and the published years, so every part of the home has something to read."""
    await import_criteria(owner_engine, load_all(PROJECT_ROOT / "tenants"))
    await import_histories(owner_engine, load_histories(PROJECT_ROOT / "tenants"))


async def test_the_signed_in_tenant_home_reads_in_a_few_statements(
    client: AsyncTestClient[Litestar], app: Litestar
) -> None:
    await sign_in(client, FOCAL)
    await client.get(f"{SNGV}/")  # warm the caches of the criteria set and the published numbers
    home_cache._homes.clear()
    _, statements = await get_counting_statements(client, app, f"{SNGV}/")
    # The tenant and its province (binding the transaction, with `home_config_revision`); the units, what waits, the
    # criteria years, the result classes and the predecessors; the published years; the year's criteria set with its
    # assessment and what does not apply; the scores the Sở Nội vụ entered. Twelve before issue 20 item 5.
    assert len(statements) <= HOME_STATEMENTS, "\n\n".join(statements)
    # Nothing changed since: the page kept is served after the session's one statement (`session_home`, with the
    # home's versions), on one connection, outside any transaction.
    _, kept, connections = await get_counting_round_trips(client, app, f"{SNGV}/")
    assert (kept, connections) == ([], 1), "\n\n".join(kept)


async def test_the_home_reads_the_same_result_classes_and_predecessors_as_their_own_reads(
    owner_engine: AsyncEngine,
) -> None:
    """The classes and predecessors folded into the home's statement equal what `publication` and `predecessors`
    read on their own, decimals exact, for every year up to the one being assessed."""
    async with create_session_maker(owner_engine)() as db, db.begin():
        tenant, province = await tenant_and_province(db, "ha-tinh", "so-ngoai-vu")
        await bind_tenant(db, tenant.id)
        years = await assessments.criteria_years(db, province)
        classes_seen = 0
        for cycle_year in range(min(years), max(years) + 2):
            parameters = {
                "today": date(cycle_year, 6, 1),
                "horizon": date(cycle_year, 6, 8),
                "province": province.id,
                "tenant": tenant.id,
                "cycle_year": cycle_year,
            }
            row = (await db.execute(_HOME_READS, parameters)).one()
            shown = max(y for y in years if y <= cycle_year)
            expected = await publication(db, province, shown)
            assert publication_of(row.result_classes, province) == expected
            assert list(row.criteria_years) == years
            assert predecessors_of(row.predecessors) == await predecessors(db, tenant.id)
            classes_seen += len(expected.classes)
        assert classes_seen, "the demo province declares result classes"
