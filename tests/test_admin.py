"""Tenant administration: invitations, roles, disabling members, the audit log; bad input answered in Vietnamese."""

from __future__ import annotations

import re

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.auth.sessions import COOKIE
from tests.fixtures.csrf import CSRF_META, csrf_in
from tests.html_support import squash
from tests.support import session_cookie_for

pytestmark = pytest.mark.usefixtures("demo_tenants")

BASE = "/t/ba-ria-vung-tau/so-tai-nguyen-moi-truong"
ADMIN = "khoa.tm@stnmt.brvt.example.vn"
FOCAL_POINT = "lan.nt@stnmt.brvt.example.vn"
OTHER_TENANT_ADMIN = "tung.ht@snv.brvt.example.vn"


async def _as(client: AsyncTestClient[Litestar], app: Litestar, email: str) -> str:
    client.cookies.set(COOKIE, await session_cookie_for(app, email))
    page = await client.get(f"{BASE}/quan-tri/thanh-vien")
    if CSRF_META.search(page.text) is None:  # not allowed here: take the token from a page everyone may open
        page = await client.get("/")
    return csrf_in(page.text)


def _field_errors(html: str) -> list[str]:
    return re.findall(r'class="field-error"[^>]*>([^<]+)<', html)


async def _unit_id(client: AsyncTestClient[Litestar]) -> str:
    page = await client.get(f"{BASE}/quan-tri/thanh-vien")
    return re.findall(r'<option value="([0-9a-f-]{36})"', squash(page.text))[0]


async def test_tenant_admin_sees_members_and_links(app: Litestar, client: AsyncTestClient[Litestar]) -> None:
    await _as(client, app, ADMIN)
    home = await client.get(f"{BASE}/")
    assert f'href="{BASE}/quan-tri/thanh-vien"' in home.text
    page = await client.get(f"{BASE}/quan-tri/thanh-vien")
    assert page.status_code == 200
    assert "Nguyễn Thị Lan" in page.text
    assert "Huỳnh Thanh Tùng" not in page.text  # a member of another tenant


async def test_focal_point_cannot_manage_members(app: Litestar, client: AsyncTestClient[Litestar]) -> None:
    csrf = await _as(client, app, FOCAL_POINT)
    assert (await client.get(f"{BASE}/quan-tri/thanh-vien")).status_code == 403
    invite = await client.post(f"{BASE}/quan-tri/thanh-vien/moi", data={"_csrf_token": csrf, "email": "a@b.vn"})
    assert invite.status_code == 403
    assert "Trần Minh Khoa" not in invite.text  # another member: nothing of the member list leaks


async def test_admin_of_another_tenant_cannot_manage_this_one(app: Litestar, client: AsyncTestClient[Litestar]) -> None:
    await _as(client, app, OTHER_TENANT_ADMIN)
    page = await client.get(f"{BASE}/quan-tri/thanh-vien")
    assert page.status_code == 403
    assert "Nguyễn Thị Lan" not in page.text


@pytest.mark.parametrize(
    ("form", "expected"),
    [
        ({"email": "", "role": "viewer"}, "Nhập địa chỉ e-mail."),
        ({"email": "khong-phai-email", "role": "viewer"}, "Địa chỉ e-mail không hợp lệ."),
        ({"email": "a@b.vn\n", "role": "viewer", "x": "1"}, None),
        ({"email": "x" * 330 + "@b.vn", "role": "viewer"}, "Địa chỉ e-mail không hợp lệ."),
        ({"email": "a@b.vn", "role": "platform_admin"}, "Chọn một vai trò trong danh sách."),
        ({"email": "a@b.vn", "role": "province_reviewer"}, "Chọn một vai trò trong danh sách."),
        ({"email": "a@b.vn", "role": ""}, "Chọn một vai trò trong danh sách."),
        ({"email": "a@b.vn", "role": "staff"}, "Vai trò này cần chọn một phòng, đơn vị."),
        ({"email": "a@b.vn", "role": "viewer", "unit_id": "khong-phai-uuid"}, "Phòng, đơn vị không thuộc đơn vị này."),
        (
            {"email": "a@b.vn", "role": "viewer", "unit_id": "00000000-0000-0000-0000-000000000000"},
            "Phòng, đơn vị không thuộc đơn vị này.",
        ),
    ],
)
async def test_bad_invitations_are_refused_next_to_the_field_and_save_nothing(
    app: Litestar,
    client: AsyncTestClient[Litestar],
    owner_engine: AsyncEngine,
    form: dict[str, str],
    expected: str | None,
) -> None:
    csrf = await _as(client, app, ADMIN)
    response = await client.post(
        f"{BASE}/quan-tri/thanh-vien/moi", data={"_csrf_token": csrf, **form}, follow_redirects=False
    )
    if expected is None:  # trailing white space is trimmed: accepted
        assert response.status_code == 303
        return
    assert response.status_code == 422
    assert expected in _field_errors(response.text)
    assert 'aria-invalid="true"' in response.text
    async with owner_engine.connect() as connection:
        # FORCEd row-level security binds the owner too: look inside the tenant.
        await connection.execute(
            text(
                "SELECT set_config('app.tenant_id', (SELECT t.id::text FROM tenants t JOIN provinces p "
                "ON p.id = t.province_id WHERE p.code = 'ba-ria-vung-tau' AND t.code = 'so-tai-nguyen-moi-truong'), "
                "true)"
            )
        )
        assert await connection.scalar(text("SELECT count(*) FROM invitations")) == 0


async def test_invitation_is_listed_audited_and_not_duplicated(
    app: Litestar, client: AsyncTestClient[Litestar]
) -> None:
    csrf = await _as(client, app, ADMIN)
    unit = await _unit_id(client)
    form = {"_csrf_token": csrf, "email": "Moi.Nguoi@Example.VN", "role": "staff", "unit_id": unit}
    first = await client.post(f"{BASE}/quan-tri/thanh-vien/moi", data=form, follow_redirects=False)
    assert first.status_code == 303
    page = await client.get(first.headers["location"])
    assert "Đã gửi lời mời." in page.text
    assert "moi.nguoi@example.vn" in page.text
    again = await client.post(f"{BASE}/quan-tri/thanh-vien/moi", data=form)
    assert again.status_code == 422
    assert "Đã có lời mời còn hiệu lực cho e-mail và vai trò này." in _field_errors(again.text)
    audit = await client.get(f"{BASE}/quan-tri/nhat-ky")
    assert "Mời thành viên" in audit.text
    assert "moi.nguoi@example.vn" in audit.text


async def test_inviting_someone_who_already_has_the_role_is_refused(
    app: Litestar, client: AsyncTestClient[Litestar]
) -> None:
    csrf = await _as(client, app, ADMIN)
    response = await client.post(
        f"{BASE}/quan-tri/thanh-vien/moi",
        data={"_csrf_token": csrf, "email": FOCAL_POINT, "role": "focal_point"},
    )
    assert response.status_code == 422
    assert "Người này đã có vai trò này trong đơn vị." in _field_errors(response.text)


async def test_disabling_a_member_ends_their_sessions_at_once_and_is_audited(
    app: Litestar, client: AsyncTestClient[Litestar]
) -> None:
    lan_token = await session_cookie_for(app, FOCAL_POINT)
    csrf = await _as(client, app, ADMIN)
    admin_token = client.cookies.get(COOKIE)

    async def lan_opens_home() -> int:
        client.cookies.set(COOKIE, lan_token)
        status = (await client.get(f"{BASE}/")).status_code
        client.cookies.set(COOKIE, admin_token)
        return status

    assert await lan_opens_home() == 200
    page = await client.get(f"{BASE}/quan-tri/thanh-vien")
    user_id = re.search(
        r"lan\.nt@stnmt\.brvt\.example\.vn.*?/quan-tri/thanh-vien/([0-9a-f-]{36})/khoa", page.text, re.S
    )
    assert user_id is not None
    disabled = await client.post(
        f"{BASE}/quan-tri/thanh-vien/{user_id.group(1)}/khoa", data={"_csrf_token": csrf}, follow_redirects=False
    )
    assert disabled.status_code == 303
    assert await lan_opens_home() == 401
    audit = await client.get(f"{BASE}/quan-tri/nhat-ky")
    assert "Khoá thành viên" in audit.text
    assert "Đăng xuất khỏi mọi thiết bị" in audit.text
    enabled = await client.post(
        f"{BASE}/quan-tri/thanh-vien/{user_id.group(1)}/mo-khoa", data={"_csrf_token": csrf}, follow_redirects=False
    )
    assert enabled.status_code == 303
    assert "Mở khoá thành viên" in (await client.get(f"{BASE}/quan-tri/nhat-ky")).text


async def test_admin_cannot_lock_themselves_out(app: Litestar, client: AsyncTestClient[Litestar]) -> None:
    csrf = await _as(client, app, ADMIN)
    page = await client.get(f"{BASE}/quan-tri/thanh-vien")
    me = re.search(r"khoa\.tm@stnmt\.brvt\.example\.vn.*?/quan-tri/thanh-vien/([0-9a-f-]{36})/khoa", page.text, re.S)
    assert me is not None
    response = await client.post(f"{BASE}/quan-tri/thanh-vien/{me.group(1)}/khoa", data={"_csrf_token": csrf})
    assert response.status_code == 422
    assert "Bạn không thể tự khoá tài khoản của mình." in response.text


async def test_changing_a_role_is_audited_with_before_and_after(
    app: Litestar, client: AsyncTestClient[Litestar]
) -> None:
    csrf = await _as(client, app, ADMIN)
    page = await client.get(f"{BASE}/quan-tri/thanh-vien")
    membership = re.search(r"lan\.nt@stnmt\.brvt\.example\.vn.*?/quan-tri/vai-tro/([0-9a-f-]{36})", page.text, re.S)
    assert membership is not None
    missing_unit = await client.post(
        f"{BASE}/quan-tri/vai-tro/{membership.group(1)}", data={"_csrf_token": csrf, "role": "staff", "unit_id": ""}
    )
    assert missing_unit.status_code == 422
    assert "Vai trò này cần chọn một phòng, đơn vị." in missing_unit.text
    changed = await client.post(
        f"{BASE}/quan-tri/vai-tro/{membership.group(1)}",
        data={"_csrf_token": csrf, "role": "viewer", "unit_id": ""},
        follow_redirects=False,
    )
    assert changed.status_code == 303
    audit = squash((await client.get(f"{BASE}/quan-tri/nhat-ky")).text)
    assert "Đổi vai trò" in audit
    # People's names, Vietnamese labels and values, one "trước → sau" line per field; no ids, no raw JSON.
    rows = re.findall(r"<tr>\s*<td[^>]*>[^<]*</td>\s*<td>([^<]*)</td>\s*<td>Đổi vai trò</td>", audit)
    assert rows == ["Trần Minh Khoa"]
    assert "<strong>Vai trò</strong>: Đầu mối CCHC (Văn phòng) → Người xem" in audit
    assert '<span class="muted small">Nguyễn Thị Lan</span>' in audit  # whose role, not the membership's id
    assert (
        re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", audit.split("<main", 1)[1]) is None
    )
    assert "\\u" not in audit
    assert "focal_point" not in audit
    assert "user:" not in audit


async def test_audit_log_names_the_system_and_deleted_people_and_formats_values(
    app: Litestar, client: AsyncTestClient[Litestar], owner_engine: AsyncEngine
) -> None:
    await _as(client, app, ADMIN)
    async with owner_engine.begin() as connection:
        tenant = await connection.scalar(
            text(
                "SELECT t.id FROM tenants t JOIN provinces p ON p.id = t.province_id "
                "WHERE p.code = 'ba-ria-vung-tau' AND t.code = 'so-tai-nguyen-moi-truong'"
            )
        )
        await connection.execute(text("SELECT set_config('app.tenant_id', :tenant, true)"), {"tenant": str(tenant)})
        rows = [
            ("system:tenants-sync", "sync", "units", None, '{"changes": ["Phòng Đất đai"]}'),
            (
                "system",
                "assessment.duyet",
                "assessment",
                '{"status": "ready"}',
                '{"status": "approved", "unit_id": "00000000-0000-0000-0000-000000000002"}',
            ),
            (
                "user:00000000-0000-0000-0000-000000000001",
                "assessment.row",
                "assessment",
                '{"points": "10.5", "explanation": "Đã ban hành"}',
                '{"points": "12.25", "explanation": "Đã ban hành kế hoạch", "due": "2026-12-05", "mới_lạ": 1500}',
            ),
        ]
        for actor, action, entity, before, after in rows:
            await connection.execute(
                text(
                    "INSERT INTO audit_log (tenant_id, actor, action, entity, entity_id, before, after) "
                    "VALUES (:tenant, :actor, :action, :entity, '', CAST(:before AS jsonb), CAST(:after AS jsonb))"
                ),
                {
                    "tenant": tenant,
                    "actor": actor,
                    "action": action,
                    "entity": entity,
                    "before": before,
                    "after": after,
                },
            )
    response = await client.get(f"{BASE}/quan-tri/nhat-ky")
    assert response.status_code == 200
    audit = squash(response.text)
    assert "<td>Hệ thống</td>" in audit
    assert "<td>Người dùng đã xoá</td>" in audit
    assert "<strong>Điểm</strong>: 10,5 → 12,25" in audit
    assert "<strong>Giải trình</strong>: Đã ban hành → Đã ban hành kế hoạch" in audit
    assert "<strong>Hạn hoàn thành</strong>: – → 05/12/2026" in audit
    assert "<strong>mới_lạ</strong>: – → 1.500" in audit  # an unknown field: its key, not an error
    assert "<strong>Thay đổi</strong>: – → Phòng Đất đai" in audit
    assert "<strong>Trạng thái</strong>: Chờ lãnh đạo duyệt → Đã duyệt" in audit
    assert "<strong>Phòng, đơn vị</strong>: – → Đơn vị đã xoá" in audit
    assert "\\u" not in audit
    assert "00000000-0000-0000-0000-00000000000" not in audit


@pytest.mark.parametrize(
    "path",
    [
        "/quan-tri/thanh-vien/00000000-0000-0000-0000-000000000000/khoa",
        "/quan-tri/thanh-vien/khong-phai-uuid/khoa",
        "/quan-tri/vai-tro/00000000-0000-0000-0000-000000000000",
        "/quan-tri/loi-moi/00000000-0000-0000-0000-000000000000/huy",
    ],
)
async def test_unknown_targets_are_a_vietnamese_404(
    app: Litestar, client: AsyncTestClient[Litestar], path: str
) -> None:
    csrf = await _as(client, app, ADMIN)
    response = await client.post(f"{BASE}{path}", data={"_csrf_token": csrf, "role": "viewer"})
    assert response.status_code == 404
    assert "Không tìm thấy" in response.text


async def test_audit_log_cannot_be_edited_by_the_application(app_engine: AsyncEngine) -> None:
    from sqlalchemy.exc import DBAPIError

    async with app_engine.connect() as connection:
        with pytest.raises(DBAPIError, match="permission denied"):
            await connection.execute(text("DELETE FROM audit_log"))


async def test_audit_page_rejects_a_bad_page_number_in_vietnamese(
    app: Litestar, client: AsyncTestClient[Litestar]
) -> None:
    await _as(client, app, ADMIN)
    response = await client.get(f"{BASE}/quan-tri/nhat-ky?page_number=abc")
    assert response.status_code == 400
    assert "Yêu cầu không hợp lệ" in response.text


PROVINCE_ADMIN = "loc.dv@snv.brvt.example.vn"
SNV = "/t/ba-ria-vung-tau/so-noi-vu"


async def test_province_admin_sees_every_tenant_of_the_province_only(
    app: Litestar, client: AsyncTestClient[Litestar]
) -> None:
    client.cookies.set(COOKIE, await session_cookie_for(app, PROVINCE_ADMIN))
    page = await client.get(f"{SNV}/quan-tri/tinh/")
    assert page.status_code == 200
    assert "Sở Tài nguyên và Môi trường" in page.text
    assert "Sở Ngoại vụ" not in page.text  # Hà Tĩnh's
    assert 'href="/t/ba-ria-vung-tau/so-noi-vu/quan-tri/tinh/"' in (await client.get(f"{SNV}/")).text


async def test_the_province_list_counts_each_tenant_s_units_members_and_admins(
    app: Litestar, client: AsyncTestClient[Litestar], owner_engine: AsyncEngine
) -> None:
    client.cookies.set(COOKIE, await session_cookie_for(app, PROVINCE_ADMIN))
    page = squash((await client.get(f"{SNV}/quan-tri/tinh/")).text)
    async with owner_engine.begin() as db:
        tenant = await db.scalar(
            text(  # Hà Tĩnh has a tenant of the same code (an archive): this list is Bà Rịa – Vũng Tàu's
                "SELECT t.id FROM tenants t JOIN provinces p ON p.id = t.province_id "
                "WHERE p.code = 'ba-ria-vung-tau' AND t.code = 'so-tai-nguyen-moi-truong'"
            )
        )
        await db.execute(text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(tenant)})
        units = await db.scalar(text("SELECT count(*) FROM units"))
        members = await db.scalar(text("SELECT count(DISTINCT user_id) FROM memberships WHERE is_active"))
        admins = await db.scalar(text("SELECT count(*) FROM memberships WHERE role = 'tenant_admin' AND is_active"))
    assert min(units, members, admins) > 0  # a row of real numbers, not three zeros
    row = re.search(r"<td>Sở Tài nguyên và Môi trường</td>.*?</tr>", page, re.S)
    assert row, page
    assert re.findall(r'<td class="num">(\d+)</td>', row.group(0)) == [str(units), str(members), str(admins)]


async def test_province_admin_invites_a_tenant_admin_audited_on_both_sides(
    app: Litestar, client: AsyncTestClient[Litestar]
) -> None:
    client.cookies.set(COOKIE, await session_cookie_for(app, PROVINCE_ADMIN))
    page = await client.get(f"{SNV}/quan-tri/tinh/")
    csrf = csrf_in(page.text)
    bad = await client.post(
        f"{SNV}/quan-tri/tinh/moi", data={"_csrf_token": csrf, "tenant_code": "so-ngoai-vu", "email": "a@b.vn"}
    )
    assert bad.status_code == 422
    assert "Chọn một sở, ban, ngành của tỉnh." in _field_errors(bad.text)
    good = await client.post(
        f"{SNV}/quan-tri/tinh/moi",
        data={"_csrf_token": csrf, "tenant_code": "so-tai-nguyen-moi-truong", "email": "giamdoc@stnmt.vn"},
        follow_redirects=False,
    )
    assert good.status_code == 303
    assert "giamdoc@stnmt.vn" in (await client.get(f"{SNV}/quan-tri/nhat-ky")).text
    client.cookies.set(COOKIE, await session_cookie_for(app, ADMIN))
    members = await client.get(f"{BASE}/quan-tri/thanh-vien")
    assert "giamdoc@stnmt.vn" in members.text
    assert "Quản trị đơn vị" in members.text


async def test_province_pages_are_for_province_admins_of_the_home_affairs_only(
    app: Litestar, client: AsyncTestClient[Litestar]
) -> None:
    client.cookies.set(COOKIE, await session_cookie_for(app, OTHER_TENANT_ADMIN))  # tenant admin of the Sở Nội vụ
    assert (await client.get(f"{SNV}/quan-tri/tinh/")).status_code == 403
    client.cookies.set(COOKIE, await session_cookie_for(app, PROVINCE_ADMIN))
    assert (await client.get(f"{BASE}/quan-tri/tinh/")).status_code == 403  # not a member of that tenant
