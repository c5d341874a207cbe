"""Input that once answered 500: years out of range and integers beyond PostgreSQL's in paths, control
characters in forms. Every request goes through one hook (backend.web.input) before its handler."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from backend.web.input import clean_text
from tests.support import sign_in

pytestmark = pytest.mark.usefixtures("demo_tenants")

SNGV = "/t/ha-tinh/so-ngoai-vu"
FOCAL = "thao.ntp@sngv.hatinh.example.vn"


def test_control_characters_are_removed_but_tabs_and_line_breaks_stay() -> None:
    assert clean_text("Quyết\x00 định\x07 số\x1f 640\x7f") == "Quyết định số 640"
    assert clean_text("dòng 1\r\ndòng 2\tcột") == "dòng 1\r\ndòng 2\tcột"
    assert clean_text("Sở Nội vụ") == "Sở Nội vụ"


@pytest.mark.parametrize("year", ["0", "-1", "1899", "2200", "2147483648", "99999999999999999999"])
async def test_a_year_out_of_range_in_a_path_is_a_clear_404(client: AsyncTestClient[Litestar], year: str) -> None:
    await sign_in(client, FOCAL)
    for path in (
        f"{SNGV}/bao-cao/{year}",
        f"{SNGV}/bao-cao/{year}/nam",
        f"{SNGV}/tu-danh-gia/{year}",
        f"{SNGV}/ke-hoach/{year}",
        f"{SNGV}/nop-ho-so/{year}",
        f"{SNGV}/giai-trinh/{year}",
        f"{SNGV}/tai-lieu/{year}/tieu-chi/1.2",
    ):
        response = await client.get(path)
        assert response.status_code == 404, (path, response.status_code)
        assert "Không tìm thấy trang" in response.text


async def test_an_integer_beyond_the_database_in_a_path_is_a_404(client: AsyncTestClient[Litestar]) -> None:
    await sign_in(client, FOCAL)
    for path in (
        f"{SNGV}/nop-ho-so/2020/lan/2147483648/tai-ve",
        f"{SNGV}/nop-ho-so/2020/lan/-2147483649/tai-ve",
        f"{SNGV}/ke-hoach/2020/the/2147483648",
        f"{SNGV}/ke-hoach/2020/the/-1",
    ):
        response = await client.get(path)
        assert response.status_code == 404, (path, response.status_code)


async def test_a_year_in_range_still_opens(client: AsyncTestClient[Litestar]) -> None:
    await sign_in(client, FOCAL)
    assert (await client.get(f"{SNGV}/bao-cao/2020")).status_code == 200


async def test_control_characters_in_a_query_or_path_are_never_a_server_error(
    client: AsyncTestClient[Litestar],
) -> None:
    await sign_in(client, FOCAL)
    query = await client.get(f"{SNGV}/ke-hoach/2020", params={"q": "kế\x00hoạch"})
    assert query.status_code < 500
    path = await client.get(f"{SNGV}/tai-lieu/2020/tieu-chi/1.2%00")
    assert path.status_code == 400
    assert "Yêu cầu không hợp lệ" in path.text


async def test_a_multipart_text_field_that_is_not_utf8_is_a_400(
    client: AsyncTestClient[Litestar], csrf: Callable[..., Awaitable[str]]
) -> None:
    """Found by the route fuzz: Litestar decodes a multipart text field unguarded, which answered 500."""
    await sign_in(client, FOCAL)
    boundary = "b0undary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="email"\r\n\r\n'.encode()
        + b"\xc7\xfa\r\n"
        + f"--{boundary}--\r\n".encode()
    )
    for headers in ({"X-CSRFToken": await csrf()}, {}):  # the token in a header, or looked for in the form
        response = await client.post(
            f"{SNGV}/quan-tri/thanh-vien/moi",
            content=body,
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}", **headers},
        )
        assert response.status_code == 400, headers
