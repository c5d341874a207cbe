"""The doors of `backend.db.rls` into other tenants: refused before anything is bound when the target is in another
province, not a predecessor, or the person lacks the right in their own tenant."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from backend.auth.permissions import Permission
from backend.auth.principal import Principal
from backend.db.models import Role, Tenant, TenantKind
from backend.db.rls import CrossingRefused, acting_in, reading_archive, reading_province

HA_TINH, OTHER_PROVINCE = uuid.uuid4(), uuid.uuid4()


def _tenant(province: uuid.UUID, code: str, kind: TenantKind = TenantKind.DEPARTMENT) -> Tenant:
    return Tenant(id=uuid.uuid4(), province_id=province, code=code, name=code, kind=kind.value)


HOME = _tenant(HA_TINH, "so-noi-vu", TenantKind.HOME_AFFAIRS)


def _person(*roles: Role) -> Principal:
    return Principal(user_id=uuid.uuid4(), display_name="Người thử", roles={HOME.id: frozenset(roles)})


async def test_acting_in_refuses_a_tenant_of_another_province() -> None:
    db = AsyncSession()
    elsewhere = _tenant(OTHER_PROVINCE, "so-tai-chinh")
    with pytest.raises(CrossingRefused, match="không thuộc tỉnh của bạn"):
        async with acting_in(db, HOME, elsewhere, _person(Role.PROVINCE_ADMIN), Permission.PROVINCE_MANAGE):
            pytest.fail("crossed into another province")
    assert "tenant_id" not in db.info  # nothing was bound


async def test_acting_in_refuses_a_person_without_the_right_in_their_own_tenant() -> None:
    db = AsyncSession()
    department = _tenant(HA_TINH, "so-tai-chinh")
    with pytest.raises(CrossingRefused, match="không có quyền"):
        async with acting_in(db, HOME, department, _person(Role.FOCAL_POINT), Permission.PROVINCE_MANAGE):
            pytest.fail("crossed without the right")
    with pytest.raises(CrossingRefused, match="không có quyền"):
        async with reading_province(db, HOME, _person(Role.VIEWER), Permission.PROVINCE_RESULTS):
            pytest.fail("read the province without the right")
    assert "province_id" not in db.info


@pytest.mark.usefixtures("demo_tenants")
async def test_reading_archive_refuses_a_tenant_that_is_not_a_predecessor(app_engine: AsyncEngine) -> None:
    async with AsyncSession(app_engine) as db:
        other = await db.scalar(text("SELECT id FROM tenants WHERE id <> :home LIMIT 1"), {"home": HOME.id})
        assert other is not None
        with pytest.raises(CrossingRefused, match="tiền thân"):
            async with reading_archive(db, HOME, other, _person(Role.VIEWER), Permission.TENANT_VIEW):
                pytest.fail("read an archive that is not a predecessor")
        assert db.info.get("tenant_id") is None


async def test_a_refused_crossing_is_a_403_in_vietnamese() -> None:
    assert CrossingRefused("x").status_code == 403
