"""Messages after a redirect come from the server (flash messages in an encrypted, authenticated cookie), shown
once; nothing a URL carries (`?loi=`, `?ok=`) is ever displayed as a banner."""

from __future__ import annotations

import re

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from backend.web.flash import COOKIE
from tests.fixtures.csrf import csrf_token
from tests.html_support import squash
from tests.support import sign_in

pytestmark = pytest.mark.usefixtures("demo_tenants")

SNGV = "/t/ha-tinh/so-ngoai-vu"
SNV = "/t/ha-tinh/so-noi-vu"
FOCAL = "thao.ntp@sngv.hatinh.example.vn"
SNGV_ADMIN = "truong.dx@sngv.hatinh.example.vn"
PROVINCE_ADMIN = "nghia.tv@snv.hatinh.example.vn"
FORGED = "Hệ thống bảo trì: gửi mật khẩu tới abc@example.com"
BANNER = re.compile(r'class="alert[^"]*"[^>]*>([^<]*)<')


@pytest.mark.usefixtures("criteria")
@pytest.mark.parametrize(
    ("email", "path"),
    [
        (FOCAL, f"{SNGV}/ke-hoach/2020"),
        (FOCAL, f"{SNGV}/ke-hoach/2020/them"),
        (FOCAL, f"{SNGV}/tu-danh-gia/2020"),
        (FOCAL, f"{SNGV}/bao-cao/2020/quy-1"),
        (FOCAL, f"{SNGV}/nop-ho-so/2020"),
        (FOCAL, f"{SNGV}/giai-trinh/2020"),
        (SNGV_ADMIN, f"{SNGV}/quan-tri/thanh-vien"),
        (PROVINCE_ADMIN, f"{SNV}/quan-tri/tinh/"),
        (PROVINCE_ADMIN, f"{SNV}/quan-tri/tinh/bo-chi-so"),
        (PROVINCE_ADMIN, f"{SNV}/quan-tri/tinh/diem-ngoai/2020"),
    ],
)
async def test_text_in_a_link_is_never_shown_as_a_message(
    client: AsyncTestClient[Litestar], email: str, path: str
) -> None:
    await sign_in(client, email)
    plain = await client.get(path)
    assert plain.status_code == 200, plain.text
    for query in (
        {"loi": FORGED},
        {"ok": "KP-99"},
        {"ok": "tao-99"},
        {"ok": "nhap-99"},
        {"ok": "duyet"},
        {"ok": "invited"},
        {"ok": "luu", "so-don-vi": "99"},
        {"ok": "tao-moi", "nam": "2099", "phien-ban": "9"},
    ):
        page = await client.get(path, params=query)
        assert page.status_code == 200
        assert FORGED not in page.text
        assert BANNER.findall(page.text) == BANNER.findall(plain.text), query


@pytest.mark.usefixtures("criteria")
async def test_a_message_after_a_redirect_is_shown_once(client: AsyncTestClient[Litestar]) -> None:
    await sign_in(client, FOCAL)
    board = f"{SNGV}/ke-hoach/2020"
    token = await csrf_token(client, board)
    form = {"kind": "fix", "area_code": "1", "title": "Việc", "deadline_text": "Trong năm", "_csrf_token": token}
    created = await client.post(f"{board}/them", data=form, follow_redirects=False)
    assert created.status_code in (302, 303)
    assert created.headers["location"] == board  # nothing for the next page in the URL
    assert COOKIE in created.headers.get("set-cookie", "")
    shown = await client.get(board)
    assert re.search(r'<div class="alert alert-success" role="status">Đã thêm KP-1.</div>', squash(shown.text))
    assert "Đã thêm KP-1." not in (await client.get(board)).text

    refused = await client.post(
        f"{board}/ke-hoach", data={"action": "ngay-ket-qua", "result_date": "31/02/2020", "_csrf_token": token}
    )
    assert refused.status_code == 200  # followed
    assert re.search(r'<div class="alert alert-error" role="alert">[^<]+</div>', squash(refused.text))


@pytest.mark.usefixtures("criteria")
async def test_a_forged_or_garbled_message_cookie_shows_nothing(client: AsyncTestClient[Litestar]) -> None:
    await sign_in(client, FOCAL)
    client.cookies.set(COOKIE, FORGED.encode().hex())
    page = await client.get(f"{SNGV}/ke-hoach/2020")
    assert page.status_code == 200
    assert FORGED not in page.text
    assert BANNER.findall(page.text) == []
