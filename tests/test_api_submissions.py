"""The check of a package file over the JSON API (`/api/v1/…/nop-ho-so/kiem-tra`): the same streaming and the same
check as the verify page, answered as a report (`ok` and the problems in Vietnamese); a request without a file
or not a form is a 4xx on `tep`, and only those who submit or appraise may use it."""

from __future__ import annotations

import zipfile
from io import BytesIO

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.factories import FOCAL, OTHER_FOCAL, REVIEWER, VIEWER, submission_csrf
from tests.fixtures.submissions import _empty_queue, storage  # noqa: F401 - the fixtures
from tests.support import sign_in

pytestmark = pytest.mark.usefixtures("demo_tenants", "criteria")


def _verify(base: str) -> str:
    return f"/api/v1{base}/nop-ho-so/kiem-tra"


async def test_the_api_verifies_a_package_for_the_department_and_home_affairs(
    client: AsyncTestClient[Litestar],
    package: bytes,
) -> None:
    for person, base in ((FOCAL, "/t/ha-tinh/so-ngoai-vu"), (REVIEWER, "/t/ha-tinh/so-noi-vu")):
        await sign_in(client, person)
        headers = {"x-csrftoken": await submission_csrf(client)}
        response = await client.post(
            _verify(base), files={"tep": ("ho-so.zip", package, "application/zip")}, headers=headers
        )
        assert response.status_code == 200, response.text
        report = response.json()
        assert (report["ok"], report["problems"], report["year"], report["version"]) == (True, [], 2020, 1)
        assert report["tenant"] == "Sở Ngoại vụ (so-ngoai-vu)"
        assert "Khớp gói đã ghi nhận: lần nộp 1 năm 2020" in report["recorded"]
        assert report["lines"][-1] == "KẾT QUẢ: HỢP LỆ, đúng là hồ sơ đã nộp."

    # one evidence byte changed: the entries no longer match SHA256SUMS
    tampered = BytesIO()
    with zipfile.ZipFile(BytesIO(package)) as source, zipfile.ZipFile(tampered, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            target.writestr(info, data[:-1] + b"X" if info.filename.endswith(".docx") else data)
    bad = await client.post(
        _verify("/t/ha-tinh/so-noi-vu"),
        files={"tep": ("sua.zip", tampered.getvalue(), "application/zip")},
        headers={"x-csrftoken": await submission_csrf(client)},
    )
    assert bad.status_code == 200, bad.text
    assert bad.json()["ok"] is False
    changed = "evidence/chung/Báo cáo chung.docx: SHA-256 không khớp SHA256SUMS (nội dung đã bị thay đổi)."
    assert changed in bad.json()["problems"]

    await sign_in(client, OTHER_FOCAL)  # another department of the province: not theirs to match
    base = "/t/ha-tinh/so-tai-nguyen-moi-truong"
    headers = {"x-csrftoken": await submission_csrf(client)}
    other = await client.post(_verify(base), files={"tep": ("ho-so.zip", package, "application/zip")}, headers=headers)
    assert other.json()["ok"] is False
    assert any("không thuộc đơn vị của bạn" in p for p in other.json()["problems"])


async def test_the_api_verify_refuses_no_file_junk_and_those_who_may_not(client: AsyncTestClient[Litestar]) -> None:
    base = "/t/ha-tinh/so-ngoai-vu"
    await sign_in(client, FOCAL)
    headers = {"x-csrftoken": await submission_csrf(client)}
    empty = await client.post(_verify(base), data={"ghi-chu": "x"}, headers=headers)
    assert (empty.status_code, empty.json()["field"]) == (422, "tep")
    assert empty.json()["message"] == "Chọn tệp hồ sơ (.zip) cần kiểm tra."
    as_json = await client.post(_verify(base), json={"tep": "x"}, headers=headers)
    assert (as_json.status_code, as_json.json()["field"]) == (415, "tep")
    junk = await client.post(_verify(base), files={"tep": ("x.zip", b"garbage", "application/zip")}, headers=headers)
    assert junk.status_code == 200, junk.text
    assert junk.json()["ok"] is False
    assert any("không phải là tệp ZIP" in p for p in junk.json()["problems"])
    assert junk.json()["year"] is None
    no_csrf = await client.post(_verify(base), files={"tep": ("x.zip", b"garbage", "application/zip")})
    assert no_csrf.status_code == 403
    assert no_csrf.json()["code"] == "forbidden"

    await sign_in(client, VIEWER)
    viewer = await client.post(
        _verify(base),
        files={"tep": ("x.zip", b"garbage", "application/zip")},
        headers={"x-csrftoken": await submission_csrf(client)},
    )
    assert viewer.status_code == 403
