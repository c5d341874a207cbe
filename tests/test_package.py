"""The package's contents read back with zipfile, openpyxl and sha256sum's rules, and `parboard verify`
(and the verify page) on a good and a tampered package."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import tracemalloc
import zipfile
from collections.abc import Iterator
from decimal import Decimal
from io import BytesIO
from pathlib import Path
from urllib.parse import unquote

import openpyxl
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db.runtime import DatabaseUrls
from backend.domain.evidence.storage import LocalStorage
from backend.domain.submissions.controllers import SubmissionController
from backend.domain.submissions.package import parse_sums, sums_line
from backend.domain.submissions.verify import MAX_SUMS, Report, check_archive
from tests.factories import (
    FOCAL,
    OTHER_FOCAL,
    PAGE,
    REVIEWER,
    VIEWER,
    submission_csrf,
    submission_rows,
    tenant_id,
)
from tests.fixtures.submissions import FILES, _empty_queue  # noqa: F401 - the fixture
from tests.support import TEST_VAR, parboard_async, sign_in

pytestmark = pytest.mark.usefixtures("demo_tenants", "criteria")


@pytest.fixture
def storage() -> LocalStorage:
    return LocalStorage(TEST_VAR / "blobs")


async def test_package_holds_manifest_sums_index_xlsx_and_evidence(package: bytes, owner_engine: AsyncEngine) -> None:
    archive = zipfile.ZipFile(BytesIO(package))
    assert archive.testzip() is None
    names = archive.namelist()
    assert names[:4] == ["manifest.json", "SHA256SUMS", "index.html", "tu-danh-gia-so-ngoai-vu-2020.xlsx"]
    evidence = sorted(n for n in names if n.startswith("evidence/"))
    # The two 1.2 plans clash as Windows compares names: whichever comes second is renamed "… (2)".
    assert sorted(n for n in evidence if not n.startswith("evidence/1.2/")) == [
        "evidence/1.5/Quyết định 3626∕QĐ-UBND.pdf",
        "evidence/7.1.5/Ảnh hội nghị #1.jpg",
        "evidence/chung/Báo cáo chung.docx",
    ]
    assert {n for n in evidence if n.startswith("evidence/1.2/")} in (
        {"evidence/1.2/Kế hoạch CCHC năm 2020.pdf", "evidence/1.2/kế hoạch cchc năm 2020 (2).PDF"},
        {"evidence/1.2/kế hoạch cchc năm 2020.PDF", "evidence/1.2/Kế hoạch CCHC năm 2020 (2).pdf"},
    )
    for info in archive.infolist():  # UTF-8 flag (bit 11) on every name that is not plain ASCII
        assert bool(info.flag_bits & 0x800) == (not info.filename.isascii()), info.filename

    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["schema"] == "parboard.submission/1"
    assert manifest["tenant"] == {"code": "so-ngoai-vu", "name": manifest["tenant"]["name"]}
    assert manifest["province"]["code"] == "ha-tinh"
    assert manifest["year"] == 2020
    assert manifest["submission"]["version"] == 1
    assert manifest["submission"]["submitted_by"] == "Nguyễn Thị Phương Thảo"
    assert manifest["criteria_set"]["version"] >= 1
    assert manifest["assessment"]["total_self_score"] == "75.250"
    by_code = {c["code"]: c for c in manifest["criteria"] if not c["remainder"]}
    assert by_code["1.2"]["self_score"] == "1.421" or by_code["1.2"]["self_score"].startswith("1.42")
    assert by_code["1.2"]["max_points"] == "1.500"
    files = {f["path"]: f for f in manifest["files"]}
    assert set(files) == set(evidence)
    for path, item in files.items():
        data = archive.read(path)
        assert item["sha256"] == hashlib.sha256(data).hexdigest()
        assert item["size"] == len(data)
    assert files["evidence/1.5/Quyết định 3626∕QĐ-UBND.pdf"]["document_number"] == "640/KH-STNMT"
    assert files["evidence/1.5/Quyết định 3626∕QĐ-UBND.pdf"]["document_date"] == "2023-02-24"
    assert files["evidence/1.5/Quyết định 3626∕QĐ-UBND.pdf"]["filename"] == "Quyết định 3626/QĐ-UBND.pdf"

    sums = parse_sums(archive.read("SHA256SUMS").decode())
    assert set(sums) == set(names) - {"SHA256SUMS"}
    for name, digest in sums.items():
        assert hashlib.sha256(archive.read(name)).hexdigest() == digest

    workbook = openpyxl.load_workbook(BytesIO(archive.read("tu-danh-gia-so-ngoai-vu-2020.xlsx")))
    cells = [c for row in workbook.active.iter_rows(values_only=True) for c in row if c is not None]
    assert "1.2" in cells
    # the maximum that applies: Hà Tĩnh 2020's departments are out of 80 + 20 (the survey part applies here)
    assert Decimal("100") in {Decimal(str(c)) for c in cells if isinstance(c, int | float)}

    index = archive.read("index.html").decode()
    links = {unquote(h) for h in re.findall(r'href="([^"]+)"', index)}
    assert set(evidence) | {"manifest.json", "SHA256SUMS", "tu-danh-gia-so-ngoai-vu-2020.xlsx"} <= links
    assert "75,25" in index
    assert "Kế hoạch CCHC năm 2020.pdf" in index
    assert "http" not in index.replace('lang="vi"', "")  # opens offline: nothing fetched from anywhere

    [row] = await submission_rows(owner_engine, await tenant_id(owner_engine))
    assert hashlib.sha256(package).hexdigest() == row.package_sha256
    assert len(package) == row.package_size


@pytest.mark.skipif(shutil.which("sha256sum") is None, reason="needs GNU sha256sum")
def test_sha256sum_checks_the_extracted_package(package: bytes, tmp_path: Path) -> None:
    zipfile.ZipFile(BytesIO(package)).extractall(tmp_path)
    checked = subprocess.run(
        ["sha256sum", "-c", "SHA256SUMS"], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


async def test_verify_cli_accepts_the_package_and_refuses_a_tampered_one(
    package: bytes, tmp_path: Path, database: DatabaseUrls
) -> None:
    good = tmp_path / "ho-so.zip"
    good.write_bytes(package)
    ok = await parboard_async("verify", str(good), database=database)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "HỢP LỆ" in ok.stdout
    assert "Khớp gói đã ghi nhận: lần nộp 1 năm 2020" in ok.stdout

    # One evidence byte changed, with SHA256SUMS and the manifest left as they were.
    tampered = tmp_path / "sua.zip"
    with zipfile.ZipFile(BytesIO(package)) as source, zipfile.ZipFile(tampered, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename.endswith(".docx"):
                data = data[:-1] + b"X"
            target.writestr(info, data)
    bad = await parboard_async("verify", str(tampered), database=database)
    assert bad.returncode == 1
    assert "evidence/chung/Báo cáo chung.docx: SHA-256 không khớp SHA256SUMS" in bad.stdout
    assert "KHÔNG HỢP LỆ" in bad.stdout

    # A consistent archive rebuilt byte for byte differently: entries check, the recorded hash does not.
    repacked = tmp_path / "dong-goi-lai.zip"
    with zipfile.ZipFile(BytesIO(package)) as source, zipfile.ZipFile(repacked, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info.filename, source.read(info))
    other = await parboard_async("verify", str(repacked), database=database)
    assert other.returncode == 1
    assert "không phải tệp đã nộp" in other.stdout

    offline = await parboard_async("verify", "--offline", str(repacked))
    assert offline.returncode == 0, offline.stdout

    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not a zip at all")
    refused = await parboard_async("verify", "--offline", str(junk))
    assert refused.returncode == 1
    assert "không phải là tệp ZIP" in refused.stdout


async def test_verify_page_names_the_submission_for_the_department_and_home_affairs(
    client: AsyncTestClient[Litestar], package: bytes
) -> None:
    for person, base in ((FOCAL, "/t/ha-tinh/so-ngoai-vu"), (REVIEWER, "/t/ha-tinh/so-noi-vu")):
        await sign_in(client, person)
        token = await submission_csrf(client, f"{base}/nop-ho-so/kiem-tra")
        response = await client.post(
            f"{base}/nop-ho-so/kiem-tra",
            files={"tep": ("ho-so.zip", package, "application/zip")},
            data={"_csrf_token": token},
        )
        assert response.status_code == 200, response.text
        assert "Hợp lệ: đúng là hồ sơ đã nộp" in response.text
        assert "lần nộp 1" in response.text

    await sign_in(client, OTHER_FOCAL)  # another department of the province: not theirs to match
    base = "/t/ha-tinh/so-tai-nguyen-moi-truong"
    token = await submission_csrf(client, f"{base}/nop-ho-so/kiem-tra")
    other = await client.post(
        f"{base}/nop-ho-so/kiem-tra",
        files={"tep": ("ho-so.zip", package, "application/zip")},
        data={"_csrf_token": token},
    )
    assert other.status_code == 422
    assert "không thuộc đơn vị của bạn" in other.text

    empty = await client.post(f"{base}/nop-ho-so/kiem-tra", data={"_csrf_token": token})
    assert empty.status_code == 422
    assert "Chọn tệp hồ sơ" in empty.text
    junk = await client.post(
        f"{base}/nop-ho-so/kiem-tra",
        files={"tep": ("x.zip", b"garbage", "application/zip")},
        data={"_csrf_token": token},
    )
    assert junk.status_code == 422
    assert "không phải là tệp ZIP" in junk.text


def _archive_with_sums(path: Path, sums: Iterator[bytes]) -> None:
    """A ZIP with a small manifest and a SHA256SUMS written from `sums` chunk by chunk (deflated)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", json.dumps({"schema": "parboard.submission/1", "files": []}))
        with archive.open("SHA256SUMS", "w", force_zip64=True) as entry:
            for chunk in sums:
                entry.write(chunk)


def _repeated_lines(total: int) -> Iterator[bytes]:
    block = sums_line("0" * 64, "evidence/1.2/a.pdf").encode() * 20_000
    for _ in range(total // len(block) + 1):
        yield block


def _varied_lines(total: int) -> Iterator[bytes]:
    written, number = 0, 0
    while written < total:
        lines = "".join(
            sums_line(hashlib.sha256(str(number + i).encode()).hexdigest(), f"e/{i}.pdf") for i in range(5000)
        )
        number += 5000
        written += len(lines)
        yield lines.encode()


def _checked_with_peak(path: Path) -> tuple[Report, int]:
    tracemalloc.start()
    try:
        with path.open("rb") as handle:
            report = check_archive(handle)
        return report, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_compression_bomb_in_sha256sums_is_refused_without_being_read(tmp_path: Path) -> None:
    bomb = tmp_path / "bom.zip"
    _archive_with_sums(bomb, _repeated_lines(384 * 1024 * 1024))
    assert bomb.stat().st_size < 2 * 1024 * 1024  # a few hundred KiB that would expand to 384 MiB
    report, peak = _checked_with_peak(bomb)
    assert not report.ok
    assert any(p.startswith("SHA256SUMS: nén bất thường") for p in report.problems), report.problems
    assert peak < 4 * 1024 * 1024, peak  # the file is hashed in 1 MiB chunks; the member is never expanded


def test_an_oversized_sha256sums_is_refused_at_its_cap(tmp_path: Path) -> None:
    large = tmp_path / "lon.zip"
    _archive_with_sums(large, _varied_lines(MAX_SUMS + 1024 * 1024))  # compresses 2:1, not a bomb
    report, peak = _checked_with_peak(large)
    assert any("SHA256SUMS quá lớn" in p for p in report.problems), report.problems
    assert peak < MAX_SUMS // 2, peak


async def test_the_verify_page_refuses_a_bomb_and_is_for_those_who_submit_or_appraise(
    client: AsyncTestClient[Litestar], tmp_path: Path
) -> None:
    bomb = tmp_path / "bom.zip"
    _archive_with_sums(bomb, _repeated_lines(64 * 1024 * 1024))
    base = "/t/ha-tinh/so-ngoai-vu"
    await sign_in(client, VIEWER)
    assert (await client.get(f"{base}/nop-ho-so/kiem-tra")).status_code == 403
    assert "Kiểm tra một tệp hồ sơ" not in (await client.get(PAGE)).text
    token = await submission_csrf(client)
    refused = await client.post(
        f"{base}/nop-ho-so/kiem-tra",
        files={"tep": ("bom.zip", bomb.read_bytes(), "application/zip")},
        data={"_csrf_token": token},
    )
    assert refused.status_code == 403
    await sign_in(client, FOCAL)
    assert "Kiểm tra một tệp hồ sơ" in (await client.get(PAGE)).text
    token = await submission_csrf(client, f"{base}/nop-ho-so/kiem-tra")
    response = await client.post(
        f"{base}/nop-ho-so/kiem-tra",
        files={"tep": ("bom.zip", bomb.read_bytes(), "application/zip")},
        data={"_csrf_token": token},
    )
    assert response.status_code == 422
    assert "SHA256SUMS: nén bất thường" in response.text
    assert SubmissionController.verify.request_max_body_size == 1024 * 1024 * 1024


async def test_the_verify_page_streams_its_upload_and_refuses_an_oversized_text_field(
    client: AsyncTestClient[Litestar],
) -> None:
    base = "/t/ha-tinh/so-ngoai-vu"
    await sign_in(client, FOCAL)
    token = await submission_csrf(client, f"{base}/nop-ho-so/kiem-tra")
    # request.form() kept a text field of any length in memory, up to the route's bound of 1 GiB
    huge = await client.post(
        f"{base}/nop-ho-so/kiem-tra",
        files={"tep": ("x.zip", b"garbage", "application/zip")},
        data={"_csrf_token": token, "ghi-chu": "x" * (4 * 1024 * 1024)},
    )
    assert huge.status_code == 413
    assert "Một trường của biểu mẫu quá dài" in huge.text
    forged = await client.post(
        f"{base}/nop-ho-so/kiem-tra",
        files={"tep": ("x.zip", b"garbage", "application/zip")},
        data={"_csrf_token": "f" * 128},
    )
    assert forged.status_code == 403
    without = await client.post(f"{base}/nop-ho-so/kiem-tra", files={"tep": ("x.zip", b"garbage", "application/zip")})
    assert without.status_code == 403
    header = await client.post(
        f"{base}/nop-ho-so/kiem-tra",
        files={"tep": ("x.zip", b"garbage", "application/zip")},
        headers={"x-csrftoken": token},
    )
    assert header.status_code == 422
    assert "không phải là tệp ZIP" in header.text
