"""The pure core, without the database or the app: the sniffer and the names of evidence, the package's names,
sums and writer, and the permission matrix and its guard. `make mutate` runs these against its mutants (see
docs/mutation.md), so each takes milliseconds."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import io
import os
import re
import struct
import unicodedata
import zipfile
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest
from litestar import Litestar, get, route
from litestar.enums import HttpMethod
from litestar.handlers import HTTPRouteHandler
from litestar.testing import AsyncTestClient
from litestar.types import ASGIApp, Receive, Scope, Send

from backend.auth.permissions import (
    MATRIX,
    PUBLIC,
    SIGNED_IN,
    Permission,
    TokenScope,
    access_guard,
    allows,
    declare_automatic_options_public,
    declared_access,
    declared_token_scope,
)
from backend.db.models import Role
from backend.domain.evidence.services import parse_document
from backend.domain.evidence.sniff import (
    DOCX,
    FALLBACK_NAME,
    HEAD,
    JPEG,
    ODS,
    ODT,
    PDF,
    PNG,
    TAIL,
    XLSX,
    ZIP,
    NotAccepted,
    Sniffer,
    _central_directory_names,
    name_for,
    safe_filename,
    shorten_middle,
)
from backend.domain.submissions.package import (
    MAX_NAME_BYTES,
    OUT_CHUNK,
    PREFETCH,
    CriterionEntry,
    EvidenceEntry,
    Member,
    PackageError,
    PackageInfo,
    Progress,
    _read_local,
    digest_of,
    manifest,
    manifest_bytes,
    parse_sums,
    place_evidence,
    render_index,
    safe_segment,
    sums_line,
    zip_stream,
)
from backend.settings import PROJECT_ROOT
from backend.web.downloads import ascii_fallback
from tests.html_support import squash
from tests.samples import (
    DOCX_BYTES,
    HTML_BYTES,
    ODS_BYTES,
    ODT_BYTES,
    PDF_BYTES,
    SVG_BYTES,
    TEXT_BYTES,
    XLSX_BYTES,
    ZIP_BYTES,
    zip_of,
)

# -- content and names, without the app --------------------------------------------------------------


def _sniff(data: bytes, chunk: int = 1000) -> str:
    sniffer = Sniffer()
    for start in range(0, len(data), chunk):
        sniffer.feed(data[start : start + chunk])
    return sniffer.content_type()


def test_content_is_recognised_from_bytes_not_names() -> None:
    assert _sniff(PDF_BYTES) == PDF
    assert _sniff(DOCX_BYTES) == DOCX
    assert _sniff(XLSX_BYTES) == XLSX
    assert _sniff(ODT_BYTES) == ODT
    assert _sniff(ODS_BYTES) == ODS
    assert _sniff(ZIP_BYTES) == ZIP
    with pytest.raises(NotAccepted):
        _sniff(b"MZ\x90\x00" + b"\x00" * 100)  # a Windows program
    with pytest.raises(NotAccepted):
        _sniff(zip_of({"[Content_Types].xml": b"<Types/>", "ppt/presentation.xml": b"<p/>"}))


@pytest.mark.parametrize(
    "data", [HTML_BYTES, SVG_BYTES, TEXT_BYTES, b"%PDF", b"%PD"], ids=["html", "svg", "text", "short-pdf", "3-bytes"]
)
def test_pages_images_as_markup_and_plain_text_are_not_accepted_whatever_their_name(data: bytes) -> None:
    for chunk in (1, 7, 1000):
        with pytest.raises(NotAccepted, match="không phải định dạng được nhận"):
            _sniff(data, chunk)


def test_dangerous_names_are_neutralised() -> None:
    assert safe_filename("../../etc/passwd") == "passwd"
    assert safe_filename("..\\..\\Windows\\system32\\x.pdf") == "x.pdf"
    assert safe_filename(".htaccess") == "htaccess"
    assert safe_filename("CON.pdf") == "_CON.pdf"
    assert safe_filename("a\x00b\x1f\u202ec.pdf") == "abc.pdf"
    assert safe_filename("..") == "tep-kiem-chung"
    nfd = unicodedata.normalize("NFD", "Kế hoạch số 640.pdf")
    assert safe_filename(nfd) == "Kế hoạch số 640.pdf"
    long = safe_filename("Báo cáo " * 60 + ".pdf")
    assert len(long.encode()) <= 255
    assert long.endswith(".pdf")
    long.encode().decode()  # still whole characters


def test_a_slash_inside_a_name_stays_visible_and_long_names_keep_their_extension() -> None:
    assert safe_filename("Quyết định số 640/QĐ-UBND.pdf") == "Quyết định số 640∕QĐ-UBND.pdf"
    assert safe_filename("Kế hoạch 12\\KH-UBND.docx") == "Kế hoạch 12∕KH-UBND.docx"
    assert safe_filename("C:\\Tài liệu\\Báo cáo.pdf") == "Báo cáo.pdf"  # a path: its last part
    assert safe_filename("/home/an/x.pdf") == "x.pdf"
    long = safe_filename("Quyết định phê duyệt " * 15 + "kèm theo.pdf")  # 300+ characters
    assert len(long.encode()) <= 255
    assert long.startswith("Quyết định phê duyệt")
    assert long.endswith("kèm theo.pdf")
    assert "…" in long


def test_document_number_and_date_are_read() -> None:
    assert parse_document("Số 640/KH-STNMT ngày 24/02/2023") == (
        "640/KH-STNMT",
        datetime.date(2023, 2, 24),
    )
    assert parse_document("12/2023/QĐ-UBND")[0] == "12/2023/QĐ-UBND"
    assert parse_document("") == ("", None)


# -- the package: names, sums and the writer ------------------------------------------------------------


def test_clashing_and_dangerous_names_are_placed_safely() -> None:
    def entry(code: str | None, name: str) -> EvidenceEntry:
        return EvidenceEntry(id="x", sha256="0" * 64, size=1, content_type="", filename=name, criterion_code=code)

    placed = place_evidence(
        [
            entry("1.2", "a.pdf"),
            entry("1.2", "A.pdf"),
            entry("1.2", "a.pdf"),
            entry("../..", "..\\x"),
            entry("1.2", ".."),
        ]
    )
    assert [p.path for p in placed] == [
        "evidence/1.2/a.pdf",
        "evidence/1.2/A (2).pdf",
        "evidence/1.2/a (3).pdf",
        "evidence/_/_x",
        "evidence/1.2/tep",
    ]
    assert parse_sums(sums_line("a" * 64, "x\\y") + sums_line("b" * 64, "plain")) == {
        "x\\y": "a" * 64,
        "plain": "b" * 64,
    }


def test_a_clash_is_numbered_before_the_last_extension_and_odd_criteria_go_to_the_common_folder() -> None:
    placed = place_evidence([_file("1.2", n) for n in ("a.b.pdf", "a.b.pdf", "scan", "scan")] + [_file("..", "x.pdf")])
    assert [p.path for p in placed] == [
        "evidence/1.2/a.b.pdf",
        "evidence/1.2/a.b (2).pdf",
        "evidence/1.2/scan",
        "evidence/1.2/scan (2)",
        "evidence/chung/x.pdf",
    ]


def test_names_keep_their_slash_as_a_lookalike_and_are_shortened_in_the_middle() -> None:
    def entry(name: str) -> EvidenceEntry:
        return EvidenceEntry(id="x", sha256="0" * 64, size=1, content_type="", filename=name, criterion_code="1.5")

    long = "Báo cáo kết quả thực hiện " * 12 + "năm 2020.pdf"  # 300+ characters, 400+ bytes
    placed = [p.path for p in place_evidence([entry("Quyết định số 640/QĐ-UBND.pdf"), entry(long), entry(long)])]
    assert placed[0] == "evidence/1.5/Quyết định số 640∕QĐ-UBND.pdf"
    for path in placed[1:]:
        name = path.removeprefix("evidence/1.5/")
        assert len(name.encode()) <= MAX_NAME_BYTES
        assert name.startswith("Báo cáo kết quả thực hiện")
        assert "…" in name
    assert placed[1].endswith(" năm 2020.pdf")
    assert placed[2].endswith(" năm 2020 (2).pdf")


async def _not_streamed() -> AsyncIterator[bytes]:  # a local blob is read from its file
    raise AssertionError("read from local_file")
    yield b""


async def test_progress_counts_files_the_writer_has_taken_not_those_read_ahead(tmp_path: Path) -> None:
    from backend.domain.submissions.package import OUT_CHUNK, Member, Progress, zip_stream

    size = OUT_CHUNK + OUT_CHUNK // 2  # each file spans two chunks of the archive
    members = []
    for n in range(6):
        path = tmp_path / f"{n}.bin"
        path.write_bytes(bytes([n]) * size)
        members.append(Member(f"evidence/{n}.bin", _not_streamed, size=size, local_file=path))
    progress = Progress()
    received = 0
    async for chunk in zip_stream(members, progress):
        received += len(chunk)
        # the files whose last byte the writer has taken so far (headers only make this smaller)
        assert progress.done <= received // size, (progress.done, received)
    assert progress.done == progress.read == len(members)


# -- the permission matrix -----------------------------------------------------------------------------------


def test_every_role_has_an_entry_in_the_matrix() -> None:
    assert set(MATRIX) == set(Role)


def test_platform_admin_has_every_permission() -> None:
    assert MATRIX[Role.PLATFORM_ADMIN] == frozenset(Permission)


def test_viewer_may_only_view_the_tenant() -> None:
    assert MATRIX[Role.VIEWER] == {Permission.TENANT_VIEW}


@pytest.mark.parametrize("role", list(Role))
def test_every_role_may_view_its_tenant(role: Role) -> None:
    assert allows({role}, Permission.TENANT_VIEW)


def test_staff_cannot_confirm_tasks_but_focal_point_and_leader_can() -> None:
    assert not allows({Role.STAFF}, Permission.TASK_CONFIRM)
    assert not allows({Role.UNIT_HEAD}, Permission.TASK_CONFIRM)
    assert allows({Role.FOCAL_POINT}, Permission.TASK_CONFIRM)
    assert allows({Role.LEADER}, Permission.TASK_CONFIRM)


def test_province_reviewer_appraises_but_does_not_manage_tenants() -> None:
    assert allows({Role.PROVINCE_REVIEWER}, Permission.REVIEW_APPRAISE)
    assert not allows({Role.PROVINCE_REVIEWER}, Permission.TENANT_MANAGE)


def test_only_the_province_reviewer_and_platform_admin_appraise() -> None:
    appraisers = {role for role in Role if allows({role}, Permission.REVIEW_APPRAISE)}
    assert appraisers == {Role.PROVINCE_REVIEWER, Role.PLATFORM_ADMIN}


def test_only_the_province_admins_reviewers_and_platform_admin_enter_external_scores() -> None:
    # Survey parts and external indices come from the province's Sở Nội vụ, never from a department.
    enterers = {role for role in Role if allows({role}, Permission.EXTERNAL_SCORES_ENTER)}
    assert enterers == {Role.PROVINCE_ADMIN, Role.PROVINCE_REVIEWER, Role.PLATFORM_ADMIN}


def test_a_person_with_several_roles_gets_the_union() -> None:
    assert allows({Role.VIEWER, Role.LEADER}, Permission.ASSESSMENT_APPROVE)
    assert not allows(set(), Permission.TENANT_VIEW)


# Who may do what, written out as a table a person can check: a change to the matrix must change this table too.
#                         platform province reviewer tenant focal unit  staff leader viewer
#                         admin    admin             admin  point head
MATRIX_TABLE = """
TENANT_VIEW               x        x        x        x      x     x     x     x      x
TENANT_MANAGE             x        .        .        x      .     .     .     .      .
AUDIT_READ                x        x        .        x      x     .     .     x      .
ASSESSMENT_EDIT           x        .        .        .      x     x     x     .      .
ASSESSMENT_APPROVE        x        .        .        .      .     .     .     x      .
TASK_EDIT_OWN_UNIT        x        .        .        .      x     x     x     x      .
TASK_EDIT_ANY             x        .        .        .      x     .     .     x      .
TASK_CONFIRM              x        .        .        .      x     .     .     x      .
EVIDENCE_UPLOAD           x        .        .        .      x     x     x     .      .
EVIDENCE_DELETE_ANY       x        .        .        .      x     .     .     .      .
SUBMISSION_SUBMIT         x        .        .        .      x     .     .     x      .
SUBMISSION_VERIFY         x        .        x        .      x     .     .     x      .
REVIEW_APPRAISE           x        .        x        .      .     .     .     .      .
PROVINCE_MANAGE           x        x        .        .      .     .     .     .      .
EXTERNAL_SCORES_ENTER     x        x        x        .      .     .     .     .      .
PROVINCE_RESULTS          x        x        x        .      .     .     .     .      .
PLATFORM_MANAGE           x        .        .        .      .     .     .     .      .
"""
TABLE_ROLES = (
    Role.PLATFORM_ADMIN,
    Role.PROVINCE_ADMIN,
    Role.PROVINCE_REVIEWER,
    Role.TENANT_ADMIN,
    Role.FOCAL_POINT,
    Role.UNIT_HEAD,
    Role.STAFF,
    Role.LEADER,
    Role.VIEWER,
)


def test_the_matrix_is_exactly_the_access_table() -> None:
    expected: dict[Role, set[Permission]] = {role: set() for role in TABLE_ROLES}
    for line in MATRIX_TABLE.strip().splitlines():
        name, *marks = line.split()
        assert len(marks) == len(TABLE_ROLES), line
        for role, mark in zip(TABLE_ROLES, marks, strict=True):
            if mark == "x":
                expected[role].add(Permission[name])
    assert {role: set(MATRIX[role]) for role in Role} == expected
    assert {line.split()[0] for line in MATRIX_TABLE.strip().splitlines()} == {p.name for p in Permission}


# -- the sniffer, kind by kind ----------------------------------------------------------------------------------


def _stored_first(mimetype: bytes, *members: str) -> bytes:
    return zip_of(dict.fromkeys(members, b"<x/>"), first=("mimetype", mimetype))


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 20, PNG),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 20, JPEG),
        (b"%PDF-1.4\n" + b"x" * 20, PDF),
        (b"PK\x05\x06" + b"\x00" * 18, ZIP),  # an empty archive is only its end record
    ],
    ids=["png", "jpeg", "pdf", "empty-zip"],
)
def test_each_magic_number_names_its_kind(data: bytes, kind: str) -> None:
    assert _sniff(data) == kind


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 20,
            "là tệp Office đời cũ (DOC/XLS); hãy lưu lại thành DOCX/XLSX",
        ),
        (b"%PDF" + b"\x00" * 20, "không phải định dạng được nhận (PDF, DOCX, XLSX, ODT, ODS, JPG, PNG hoặc ZIP)"),
        (b"\x89PNG" + b"\x00" * 20, "không phải định dạng được nhận"),
        (b"PK\x01\x02" + b"\x00" * 20, "không phải định dạng được nhận"),
    ],
    ids=["old-office", "pdf-without-dash", "png-cut", "zip-central-entry-first"],
)
def test_wrong_kinds_are_refused_with_the_reason(data: bytes, message: str) -> None:
    with pytest.raises(NotAccepted) as refused:
        _sniff(data)
    assert str(refused.value).startswith(message)


def test_a_wrong_kind_is_refused_from_its_first_eight_bytes_without_reading_on() -> None:
    sniffer = Sniffer()
    sniffer.feed(b"MZ\x90\x00\x03\x00\x00")  # seven bytes: not yet judged
    with pytest.raises(NotAccepted):
        sniffer.feed(b"\x00")


def test_opendocument_is_told_by_its_stored_mimetype() -> None:
    assert _sniff(_stored_first(ODT.encode(), "content.xml")) == ODT
    assert _sniff(_stored_first(ODS.encode(), "content.xml")) == ODS
    assert _sniff(_stored_first(b"  " + ODT.encode() + b"\n", "content.xml")) == ODT  # spaces around it
    with pytest.raises(NotAccepted, match=r"^là tệp OpenDocument không được nhận \(chỉ ODT, ODS;"):
        _sniff(_stored_first(b"application/vnd.oasis.opendocument.presentation", "content.xml"))
    # a "mimetype" entry that names no OpenDocument kind: an archive like any other
    assert _sniff(_stored_first(b"text/plain", "content.xml")) == ZIP


def test_office_is_told_by_its_members_wherever_they_are_listed() -> None:
    many = {f"word/media/image{n}.png": b"x" for n in range(30)}
    assert _sniff(zip_of({**many, "[Content_Types].xml": b"<Types/>"})) == DOCX
    assert _sniff(zip_of({"xl/worksheets/sheet1.xml": b"<x/>", "[Content_Types].xml": b"<T/>"})) == XLSX
    # Office members without the content-types list: a plain archive
    assert _sniff(zip_of({"word/document.xml": b"<w/>"})) == ZIP
    with pytest.raises(NotAccepted, match=r"^là tệp Office không được nhận \(chỉ DOCX, XLSX;"):
        _sniff(zip_of({"[Content_Types].xml": b"<T/>", "ppt/slides/slide1.xml": b"<p/>"}))


def test_an_archive_whose_directory_cannot_be_read_is_a_plain_archive() -> None:
    docx = DOCX_BYTES
    end = docx.rfind(b"PK\x05\x06")
    assert _sniff(docx[:end]) == ZIP  # no end record
    assert _sniff(docx[: end + 10]) == ZIP  # an end record cut short
    broken = bytearray(docx)
    broken[end + 12 : end + 16] = (len(docx) * 2).to_bytes(4, "little")  # a directory larger than the file
    assert _sniff(bytes(broken)) == ZIP
    wrong = bytearray(docx)
    first = docx.find(b"PK\x01\x02")
    wrong[first : first + 4] = b"PK\x09\x09"  # the directory does not start with an entry
    assert _sniff(bytes(wrong)) == ZIP


def test_the_directory_is_found_in_the_last_two_mebibytes_of_a_large_archive() -> None:
    filler = {f"xl/media/{n}.bin": os.urandom(300 * 1024) for n in range(12)}  # ~3.6 MiB, not compressible
    data = zip_of({"[Content_Types].xml": b"<T/>", **filler})
    assert len(data) > 3 * 1024 * 1024
    for chunk in (64 * 1024, 1024 * 1024):
        assert _sniff(data, chunk) == XLSX


# -- names -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "kept"),
    [
        ("  Báo   cáo\tnăm 2020 .pdf  ", "Báo cáo năm 2020 .pdf"),
        ('a<b>c:d"e|f?g*h.pdf', "a_b_c_d_e_f_g_h.pdf"),
        ("báo cáo...pdf", "báo cáo.pdf"),
        ("...ẩn.pdf", "ẩn.pdf"),
        ("kết thúc. ", "kết thúc"),
        ("nul.txt.pdf", "_nul.txt.pdf"),
        ("LPT9", "_LPT9"),
        ("COM10.pdf", "COM10.pdf"),  # only COM0–COM9 are reserved
        ("\u202e\u200bfdp.exe", "fdp.exe"),  # format characters are dropped
        ("a/b", "a∕b"),
        ("./a.pdf", "a.pdf"),
        ("a//b.pdf", "b.pdf"),
        ("D:/b.pdf", "b.pdf"),
        ("   ", "tep-kiem-chung"),
        ("Xin phép X.pdf", "Xin phép X.pdf"),
        ("Phụ lục X", "Phụ lục X"),
    ],
)
def test_each_rule_of_a_safe_name(raw: str, kept: str) -> None:
    assert safe_filename(raw) == kept


def test_shortening_keeps_whole_characters_the_start_the_end_and_a_short_extension() -> None:
    assert shorten_middle("abc.pdf", 7) == "abc.pdf"
    assert shorten_middle("abcdefghij.pdf", 12) == "ab…hij.pdf"  # 12 - 4 (.pdf) - 3 (…) = 5: 2 + 3
    assert shorten_middle("abcdefghij", 8) == "ab…hij"
    assert shorten_middle("ếếếếếếếếếế.pdf", 13) == "ế…ế.pdf"  # ế is 3 bytes: 13 - 4 - 3 = 6 → 3 + 3
    assert shorten_middle("tên.phần-mở-rộng-dài", 12) == "tên…-dài"  # an extension over 10 characters is the name
    assert shorten_middle(".pdf" + "x" * 20, 10).startswith(".pd")  # no stem: the whole name is shortened
    assert shorten_middle("ab  cd  ef.pdf", 12) == "ab…ef.pdf"  # spaces at the cut are trimmed
    assert shorten_middle("a b cdefg.pdf", 12) == "a…efg.pdf"
    assert shorten_middle("a.b.cdefghij.pdf", 12) == "a.…hij.pdf"  # the extension is after the last dot
    assert shorten_middle("." + "b" * 8, 7) == ".b…bb"  # no stem, even with a short extension: the whole name
    assert shorten_middle("abcdefghij.0123456789", 16) == "a…j.0123456789"  # ten characters: still an extension
    assert shorten_middle("abcdefghij.0123456789a", 16) == "abcdef…456789a"  # eleven: part of the name


def test_a_name_gets_the_extension_of_its_content() -> None:
    assert name_for("Báo cáo.pdf", PDF) == "Báo cáo.pdf"
    assert name_for("Báo cáo.PDF", PDF) == "Báo cáo.PDF"
    assert name_for("scan", PDF) == "scan.pdf"
    assert name_for("pdf", PDF) == "pdf.pdf"  # a name without a dot has no extension, whatever it reads
    assert name_for("Báo cáo v1.2.pdf", PDF) == "Báo cáo v1.2.pdf"  # the extension is after the last dot
    assert name_for("bảng.v2", XLSX) == "bảng.v2.xlsx"
    assert name_for("ảnh.jpeg", JPEG) == "ảnh.jpeg"
    assert name_for(FALLBACK_NAME, PNG) == "tep-kiem-chung.png"
    assert name_for("x" * 253, PNG).endswith(".png")
    assert len(name_for("x" * 253, PNG).encode()) == 255
    with pytest.raises(NotAccepted, match=r"^có đuôi \.pdf nhưng nội dung là ảnh PNG$"):
        name_for("anh.Pdf", PNG)


def test_the_ascii_name_for_old_clients() -> None:
    assert ascii_fallback("Kế hoạch Đề án đất.pdf") == "Ke hoach De an dat.pdf"
    assert ascii_fallback('a"b\\c;d\x07.pdf') == "abcd.pdf"
    assert ascii_fallback("  Ổ  ") == "O"
    assert ascii_fallback("ảnh.png") == "anh.png"
    assert ascii_fallback("中文") == "tep"
    assert ascii_fallback("Xã X.pdf") == "Xa X.pdf"


def _info(evidence: list[EvidenceEntry]) -> PackageInfo:
    return PackageInfo(
        tenant_code="so-ngoai-vu",
        tenant_name="Sở Ngoại vụ",
        province_code="ha-tinh",
        province_name="Hà Tĩnh",
        year=2020,
        criteria_set_id="set-1",
        criteria_set_version=3,
        total_max=Decimal("100"),
        total_score=Decimal("85.675"),
        assessment_status="approved",
        submission_id="sub-1",
        version=2,
        submitted_by="Nguyễn Thị Phương Thảo",
        submitted_at=datetime.datetime(2026, 12, 5, 15, 24, tzinfo=datetime.UTC),
        criteria=[
            CriterionEntry("1.2", "Kế hoạch CCHC", Decimal("1.5"), Decimal("1.25"), "Đã ban hành"),
            CriterionEntry("1.3", "Báo cáo", Decimal("2"), None, ""),
            CriterionEntry("1", "", Decimal("0.5"), Decimal("0"), "", remainder=True),
        ],
        evidence=evidence,
    )


def _file(code: str | None, name: str, **more: object) -> EvidenceEntry:
    return EvidenceEntry(
        id=f"id-{name}", sha256="a" * 64, size=10, content_type=PDF, filename=name, criterion_code=code, **more
    )


def test_the_manifest_records_every_field_with_points_to_three_places() -> None:
    [placed] = place_evidence(
        [
            _file(
                "1.2",
                "Kế hoạch.pdf",
                description="Mô tả",
                document_number="640/KH",
                document_date=datetime.date(2020, 2, 24),
                document_section="Điều 3, trang 5",
            )
        ]
    )
    info = dataclasses.replace(_info([placed]), adjustments=(("Điểm cộng", Decimal("2")), ("Điểm trừ", Decimal("1.5"))))
    assert manifest(info, {"index.html": ("b" * 64, 7)}) == {
        "schema": "parboard.submission/1",
        "submission": {
            "id": "sub-1",
            "version": 2,
            "submitted_by": "Nguyễn Thị Phương Thảo",
            "submitted_at": "2026-12-05T15:24:00+00:00",
        },
        "tenant": {"code": "so-ngoai-vu", "name": "Sở Ngoại vụ"},
        "province": {"code": "ha-tinh", "name": "Hà Tĩnh"},
        "year": 2020,
        "criteria_set": {"id": "set-1", "version": 3},
        "assessment": {
            "status": "approved",
            "total_max": "100.000",
            "total_self_score": "85.675",
            "adjustments": [{"label": "Điểm cộng", "points": "2.000"}, {"label": "Điểm trừ", "points": "1.500"}],
        },
        "criteria": [
            {
                "code": "1.2",
                "title": "Kế hoạch CCHC",
                "max_points": "1.500",
                "self_score": "1.250",
                "explanation": "Đã ban hành",
                "remainder": False,
            },
            {
                "code": "1.3",
                "title": "Báo cáo",
                "max_points": "2.000",
                "self_score": None,
                "explanation": "",
                "remainder": False,
            },
            {
                "code": "1",
                "title": "",
                "max_points": "0.500",
                "self_score": "0.000",
                "explanation": "",
                "remainder": True,
            },
        ],
        "files": [
            {
                "path": "evidence/1.2/Kế hoạch.pdf",
                "sha256": "a" * 64,
                "size": 10,
                "content_type": PDF,
                "criterion": "1.2",
                "filename": "Kế hoạch.pdf",
                "description": "Mô tả",
                "document_number": "640/KH",
                "document_date": "2020-02-24",
                "document_section": "Điều 3, trang 5",
            }
        ],
        "generated": [{"path": "index.html", "sha256": "b" * 64, "size": 7}],
    }
    assert manifest(_info([_file(None, "a.pdf")]), {})["files"][0]["document_date"] is None


def test_the_index_lists_each_file_under_its_criterion_with_links_that_survive_odd_names() -> None:
    files = place_evidence(
        [
            _file("1.2", "Báo cáo #1 50%.pdf", document_number="12/BC", document_date=datetime.date(2020, 3, 1)),
            _file(None, "Chung.pdf"),
            _file("9.9", "Lạc.pdf"),
        ]
    )
    rendered = render_index(_info(files), PROJECT_ROOT / "templates")
    page = squash(rendered)
    assert "<title>Hồ sơ tự đánh giá CCHC năm 2020 – Sở Ngoại vụ</title>" in page
    link = '<a href="evidence/1.2/B%C3%A1o%20c%C3%A1o%20%231%2050%25.pdf">Báo cáo #1 50%.pdf</a>'
    assert f"{link} – Số 12/BC ngày 01/03/2020" in page
    assert "85,675/100" in page
    assert "22:24 05/12/2026" in page  # Vietnam time
    assert "Các nội dung khác của 1" in page
    others = page.split("<h2>Tài liệu khác</h2>")[1]
    assert ">Chung.pdf</a></li>" in others
    assert ">Lạc.pdf</a> (tiêu chí 9.9)</li>" in others
    assert "Báo cáo #1" not in others
    assert re.search(r"<tbody>\n *<tr>", rendered)  # block tags leave no blank lines


def test_the_index_escapes_what_people_typed() -> None:
    [file] = place_evidence([_file("1.2", "<script>alert(1)</script>.pdf", document_number="<b>1</b>")])
    page = render_index(_info([file]), PROJECT_ROOT / "templates")
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;.pdf" in page
    assert "Số &lt;b&gt;1&lt;/b&gt;" in page


@pytest.mark.parametrize(
    ("text", "fallback", "segment"),
    [
        ("1.2", "chung", "1.2"),
        ("..", "chung", "chung"),
        (" . ", "chung", "chung"),
        ("a\x00b:c*d", "tep", "a_b_c_d"),
        ("  .ẩn.  ", "tep", "ẩn"),
        ("640/QĐ", "tep", "640∕QĐ"),
        ("/", "tep", "_"),
        ("Xã X", "tep", "Xã X"),
        ("X/X", "tep", "X∕X"),
    ],
)
def test_a_path_segment_is_one_safe_segment(text: str, fallback: str, segment: str) -> None:
    assert safe_segment(text, fallback) == segment


def test_sums_lines_escape_as_gnu_sha256sum_does_and_read_back() -> None:
    digest = "c" * 64
    assert sums_line(digest, "a b.pdf") == f"{digest}  a b.pdf\n"
    assert sums_line(digest, "a\\b") == f"\\{digest}  a\\\\b\n"
    assert sums_line(digest, "a\nb") == f"\\{digest}  a\\nb\n"
    lines = sums_line(digest, "a\\b") + "\n" + sums_line(digest, "a\nb") + sums_line(digest, "x  y")
    assert parse_sums(lines) == {"a\\b": digest, "a\nb": digest, "x  y": digest}


@pytest.mark.parametrize(
    "text",
    ["c" * 64 + " a.pdf", "C" * 64 + "  a.pdf", "c" * 63 + "  a.pdf", "c" * 65 + "  a.pdf", "\\" + "g" * 64 + "  a"],
    ids=["one-space", "upper-case", "short", "long", "not-hex"],
)
def test_a_malformed_sums_line_is_named_by_its_number(text: str) -> None:
    with pytest.raises(ValueError, match=r"^dòng 2 của SHA256SUMS không đúng định dạng$"):
        parse_sums(sums_line("d" * 64, "ok") + text + "\n")


async def _chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def test_the_writer_stores_or_deflates_each_kind_of_member_and_counts_the_files(tmp_path: Path) -> None:
    local = tmp_path / "blob"
    local.write_bytes(b"%PDF local " * 1000)
    members = [
        Member("manifest.json", b'{"a": 1}' * 100, compress=True),
        Member("evidence/1.2/a.pdf", lambda: _chunks(b"%PDF ", b"streamed"), size=13),
        Member("evidence/1.2/b.pdf", b"bytes"),
        Member("evidence/1.2/d.pdf", lambda: _chunks(b"%PDF d"), size=6),
        Member("evidence/1.3/c.pdf", _not_streamed, size=11_000, local_file=local),
        Member("evidence/1.3/e.txt", _not_streamed, size=11_000, compress=True, local_file=local),
        Member("evidence/1.3/f.txt", lambda: _chunks(b"streamed " * 100), size=900, compress=True),
    ]
    progress = Progress()
    data = b"".join([chunk async for chunk in zip_stream(members, progress)])
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert archive.namelist() == [m.path for m in members]
    assert archive.read("evidence/1.2/a.pdf") == b"%PDF streamed"
    assert archive.read("evidence/1.3/c.pdf") == archive.read("evidence/1.3/e.txt") == local.read_bytes()
    assert archive.read("evidence/1.2/b.pdf") == b"bytes"
    kinds = {info.filename: info.compress_type for info in archive.infolist()}
    assert kinds == {
        "manifest.json": zipfile.ZIP_DEFLATED,
        "evidence/1.2/a.pdf": zipfile.ZIP_STORED,
        "evidence/1.2/b.pdf": zipfile.ZIP_STORED,
        "evidence/1.2/d.pdf": zipfile.ZIP_STORED,
        "evidence/1.3/c.pdf": zipfile.ZIP_STORED,
        "evidence/1.3/e.txt": zipfile.ZIP_DEFLATED,
        "evidence/1.3/f.txt": zipfile.ZIP_DEFLATED,
    }
    assert archive.read("evidence/1.3/f.txt") == b"streamed " * 100
    assert archive.testzip() is None
    assert (progress.read, progress.done) == (5, 5)  # the streamed and the local files; bytes are not evidence


@pytest.mark.parametrize("local", [False, True], ids=["streamed", "local"])
async def test_a_member_whose_bytes_differ_from_the_record_stops_the_package(tmp_path: Path, local: bool) -> None:
    blob = tmp_path / "blob"
    blob.write_bytes(b"12345")
    member = (
        Member("evidence/x.pdf", _not_streamed, size=1234, local_file=blob)
        if local
        else Member("evidence/x.pdf", lambda: _chunks(b"12345"), size=1234)
    )
    with pytest.raises(PackageError, match=r"^tệp evidence/x\.pdf: kho lưu trữ có 5 byte, hồ sơ ghi 1\.234 byte$"):
        async for _ in zip_stream([member]):
            pass


async def test_the_archive_comes_in_chunks_of_about_out_chunk_however_small_the_parts() -> None:
    """Few hops between the threads: small parts are gathered until a chunk reaches OUT_CHUNK, then it is cut."""
    part, count = b"x" * 4096, 600  # 2,4 MiB in 4 KiB parts
    member = Member("evidence/x.bin", lambda: _chunks(*[part] * count), size=len(part) * count)
    chunks = [chunk async for chunk in zip_stream([member])]
    assert len(chunks) == 3
    for chunk in chunks[:-1]:
        assert OUT_CHUNK <= len(chunk) < OUT_CHUNK + len(part) + 200  # the last part, and the member's header
    assert zipfile.ZipFile(io.BytesIO(b"".join(chunks))).read("evidence/x.bin") == part * count


async def test_a_download_stopped_after_its_first_chunk_closes_the_writer_quietly(tmp_path: Path) -> None:
    """The person closed the tab: the writer, still reading ahead, is cancelled without an error of its own."""
    blob = tmp_path / "blob"
    blob.write_bytes(b"\0" * OUT_CHUNK * 8)
    members = [Member(f"evidence/{n}.bin", _not_streamed, size=OUT_CHUNK * 8, local_file=blob) for n in range(2)]
    progress = Progress()
    stream = zip_stream(members, progress)
    assert len(await anext(stream)) >= OUT_CHUNK
    await stream.aclose()  # raises nothing
    assert progress.done == 0


def _local_header(chunk: bytes) -> tuple[int, int, int]:
    """A ZIP's first local file header: the version needed to extract it and its two size fields."""
    assert chunk[:4] == b"PK\x03\x04"
    version, compressed, size = struct.unpack("<H", chunk[4:6])[0], *struct.unpack("<II", chunk[18:26])
    return version, compressed, size


@pytest.mark.parametrize("local", [False, True], ids=["streamed", "local"])
async def test_zip64_is_decided_by_the_size_on_record_before_the_first_byte(tmp_path: Path, local: bool) -> None:
    """ZIP64 is decided by the size on record before the first byte is read (the header precedes the data): a
    member recorded over 4 GiB gets it, one recorded smaller does not (zipstream-ng gives it to every member of
    unknown size). Two MiB stand in for five GiB; the difference is then found at the member's end, as for any
    blob that differs from its record."""
    huge, data = 5 * 1024**3, b"\0" * OUT_CHUNK
    blob = tmp_path / "blob"
    blob.write_bytes(data * 2)
    member = (
        Member("evidence/x.mp4", _not_streamed, size=huge, local_file=blob)
        if local
        else Member("evidence/x.mp4", lambda: _chunks(data, data), size=huge)
    )
    small = (  # recorded at its size, under 4 GiB: no ZIP64
        Member("evidence/y.pdf", _not_streamed, size=2 * OUT_CHUNK, local_file=blob)
        if local
        else Member("evidence/y.pdf", lambda: _chunks(data, data), size=2 * OUT_CHUNK)
    )
    stream = zip_stream([member])
    assert _local_header(await anext(stream)) == (45, 0xFFFFFFFF, 0xFFFFFFFF)  # ZIP64: the sizes in its extra field
    with pytest.raises(PackageError, match=r"kho lưu trữ có 2\.097\.152 byte, hồ sơ ghi 5\.368\.709\.120 byte$"):
        async for _ in stream:
            pass
    chunks = [chunk async for chunk in zip_stream([small])]
    assert _local_header(chunks[0]) == (20, 0, 0)  # sizes in the data descriptor after the data


async def test_a_missing_local_blob_stops_the_package(tmp_path: Path) -> None:
    member = Member("evidence/x.pdf", _not_streamed, size=1, local_file=tmp_path / "gone")
    with pytest.raises(PackageError, match=r"^tệp evidence/x\.pdf: không còn trong kho lưu trữ$"):
        async for _ in zip_stream([member]):
            pass


# -- the guard, on an app of its own --------------------------------------------------------------------------


def _guarded(
    *handlers: HTTPRouteHandler, signed_in: bool = False, token: frozenset[TokenScope] | None = None
) -> Litestar:
    def person(app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            if token is not None:  # an API token's principal: its scopes, no roles
                scope["parboard_principal"] = SimpleNamespace(token_scopes=token)  # type: ignore[typeddict-unknown-key]
            elif signed_in:
                scope["parboard_principal"] = "a person"  # type: ignore[typeddict-unknown-key]
            await app(scope, receive, send)

        return middleware

    app = Litestar(route_handlers=list(handlers), guards=[access_guard], middleware=[person])
    for registered in app.routes:
        declare_automatic_options_public(registered)
    return app


@get("/khong-khai-bao", sync_to_thread=False)
def _undeclared() -> str:
    return "served"


@get("/chuoi", opt={"access": "public"}, sync_to_thread=False)
def _as_a_string() -> str:
    return "served"


@get("/cong-khai", opt={"access": PUBLIC}, sync_to_thread=False)
def _public() -> str:
    return "served"


@get("/da-dang-nhap", opt={"access": SIGNED_IN}, sync_to_thread=False)
def _signed_in() -> str:
    return "served"


@get("/nhat-ky", opt={"access": Permission.AUDIT_READ}, sync_to_thread=False)
def _permission() -> str:
    return "served"


@route("/tu-khai", http_method=[HttpMethod.OPTIONS], sync_to_thread=False)
def _own_options() -> str:
    return "served"


@pytest.mark.parametrize(
    ("path", "anonymous", "signed_in"),
    [
        ("/khong-khai-bao", 403, 403),
        ("/chuoi", 403, 403),
        ("/cong-khai", 200, 200),
        ("/da-dang-nhap", 401, 200),
        ("/nhat-ky", 401, 200),  # the tenant's roles are checked where the tenant is resolved
    ],
)
async def test_the_guard_serves_only_what_a_route_declares(path: str, anonymous: int, signed_in: int) -> None:
    handlers = (_undeclared, _as_a_string, _public, _signed_in, _permission)
    for person, status in ((False, anonymous), (True, signed_in)):
        async with AsyncTestClient(app=_guarded(*handlers, signed_in=person)) as client:
            response = await client.get(path)
        assert response.status_code == status, (path, person)
        assert (response.text == "served") is (status == 200)
        if status == 401:
            assert response.json()["detail"] == "Cần đăng nhập"


@get("/ket-qua", opt={"access": Permission.TENANT_VIEW, "token_scope": TokenScope.RESULTS_READ}, sync_to_thread=False)
def _results() -> str:
    return "served"


async def test_a_token_passes_only_routes_declaring_one_of_its_scopes_and_is_told_why_not() -> None:
    handlers = (_results, _permission, _public, _undeclared)
    async with AsyncTestClient(app=_guarded(*handlers, token=frozenset({TokenScope.RESULTS_READ}))) as client:
        assert (await client.get("/ket-qua")).text == "served"
        assert (await client.get("/cong-khai")).text == "served"
        refused = await client.get("/nhat-ky")  # no token scope declared: no token passes
        undeclared = await client.get("/khong-khai-bao")
    assert refused.status_code == 403
    assert refused.json()["detail"] == "Mã truy cập API không được cấp quyền cho thao tác này"
    assert undeclared.status_code == 403
    assert undeclared.json()["detail"] == "Route declares no access"
    for scopes in (frozenset({TokenScope.EVIDENCE_READ}), frozenset()):  # another scope, or none
        async with AsyncTestClient(app=_guarded(*handlers, token=scopes)) as client:
            other = await client.get("/ket-qua")
        assert other.status_code == 403
        assert other.json()["detail"] == "Mã truy cập API không được cấp quyền cho thao tác này"


@get("/chuoi-pham-vi", opt={"access": Permission.TENANT_VIEW, "token_scope": "results:read"}, sync_to_thread=False)
def _scope_as_a_string() -> str:
    return "served"


def test_a_declared_token_scope_is_a_scope_only() -> None:
    assert declared_token_scope(_results) is TokenScope.RESULTS_READ
    assert declared_token_scope(_scope_as_a_string) is None  # the scope's text is not the scope
    assert declared_token_scope(_permission) is None
    assert declared_token_scope(_as_a_string) is None


def test_a_declared_access_is_a_permission_or_a_public_level_only() -> None:
    assert declared_access(_public) is PUBLIC
    assert declared_access(_signed_in) is SIGNED_IN
    assert declared_access(_permission) is Permission.AUDIT_READ
    assert declared_access(_as_a_string) is None
    assert declared_access(_undeclared) is None


async def test_only_the_generated_options_answer_becomes_public() -> None:
    app = _guarded(_permission, _own_options)
    async with AsyncTestClient(app=app) as client:
        generated = await client.options("/nhat-ky")
        own = await client.options("/tu-khai")
    assert generated.status_code == 204
    assert generated.headers["allow"] == "GET, OPTIONS"
    assert own.status_code == 403  # a handler written for OPTIONS declares its access like any other
    assert "access" not in _own_options.opt


def test_the_manifest_is_written_as_readable_utf8_json_and_hashed_as_written() -> None:
    assert manifest_bytes({"tên": "Sở Ngoại vụ", "số": [1]}) == (
        '{\n  "tên": "Sở Ngoại vụ",\n  "số": [\n    1\n  ]\n}\n'.encode()
    )
    assert digest_of(b"abc") == ("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", 3)


# -- what mutation testing found unguarded (docs/mutation.md) ----------------------------------------------------


def test_the_sniffer_keeps_the_first_64_kib_and_no_more_than_the_last_2_mib_whatever_the_chunks() -> None:
    data = zip_of({"[Content_Types].xml": b"<T/>", "word/document.xml": os.urandom(3 * 1024 * 1024)})
    sizes = [1, 7, HEAD - 8, 3, *[TAIL // 4] * 12]
    sniffer, fed = Sniffer(), 0
    for size in sizes:
        sniffer.feed(data[fed : fed + size])
        fed = min(fed + size, len(data))
        assert bytes(sniffer.head) == data[: min(fed, HEAD)]
        assert sniffer.tail_size == sum(map(len, sniffer.tail)) >= min(fed, TAIL)
        assert sniffer.tail_size - len(sniffer.tail[0]) < TAIL  # the oldest chunk held is still needed
        assert b"".join(sniffer.tail) == data[fed - sniffer.tail_size : fed]
    assert fed == len(data)
    assert sniffer.content_type() == DOCX


def _stored_header(name: bytes, content: bytes, *, extra: bytes = b"", size: int | None = None) -> bytes:
    """A ZIP local file header (stored), as the first bytes of a file; `size` overrides the size field."""
    fields = (20, 0, 0, 0, 0, 0, len(content) if size is None else size, len(content), len(name), len(extra))
    return struct.pack("<4s5H3L2H", b"PK\x03\x04", *fields) + name + extra + content


@pytest.mark.parametrize(
    ("extra", "content", "size"),
    [
        (b"\0" * 4, ODT.encode(), None),
        (b"\0" * 40_000, ODT.encode(), None),  # an extra field longer than a signed 16-bit number
        (b"", ODT.encode().ljust(200), 0x8000_0000),  # a size beyond a signed 32-bit number: read 200 bytes
        (b"", ODT.encode().ljust(200) + b"X", 1000),  # the first 200 bytes only
    ],
    ids=["extra", "long-extra", "huge-size", "first-200"],
)
def test_an_opendocument_mimetype_is_found_after_the_header_s_unsigned_lengths(
    extra: bytes, content: bytes, size: int | None
) -> None:
    assert _sniff(_stored_header(b"mimetype", content, extra=extra, size=size)) == ODT


def test_a_mimetype_entry_with_bytes_outside_ascii_is_a_plain_archive() -> None:
    assert _sniff(_stored_header(b"mimetype", b"application/\xff\xfe")) == ZIP


def test_the_end_record_is_looked_for_only_as_far_back_as_the_longest_comment() -> None:
    assert _sniff(DOCX_BYTES + b"\0" * 0xFFFF) == DOCX  # what a 65 535-byte comment leaves after the record
    assert _sniff(DOCX_BYTES + b"\0" * 0x10000) == ZIP  # one byte further: no end record where one can be


def test_the_last_end_record_is_the_archive_s_not_one_of_an_archive_inside_it() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", b"<T/>")
        archive.writestr("word/embeddings/x.zip", ZIP_BYTES, compress_type=zipfile.ZIP_STORED)
    assert _sniff(buffer.getvalue()) == DOCX


def _end_record(data: bytes) -> tuple[int, int, int]:
    """(entries, directory size, directory offset) of an archive without a comment."""
    count, size, offset = struct.unpack_from("<H2L", data, len(data) - 12)
    return count, size, offset


def test_the_directory_is_read_from_its_first_byte_with_extra_fields_and_comments() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        first = zipfile.ZipInfo("[Content_Types].xml")
        first.extra, first.comment = struct.pack("<2H", 0xCAFE, 4) + b"abcd", b"the first"
        archive.writestr(first, b"<T/>")
        archive.writestr("word/document.xml", b"<w/>")
        archive.writestr("Xbc.txt", b"x")
    data = buffer.getvalue().replace(b"Xbc.txt", b"\xffbc.txt")  # a name that is not UTF-8
    _, _, offset = _end_record(data)
    names = {"[Content_Types].xml", "word/document.xml", "\ufffdbc.txt"}
    assert _central_directory_names(data) == names
    assert _central_directory_names(data[offset:]) == names  # the last bytes kept start with the directory


def test_a_directory_entry_that_runs_into_the_end_record_is_not_read() -> None:
    data = DOCX_BYTES
    count, size, offset = _end_record(data)
    fake = b"PK\x01\x02" + b"\0" * 6  # counted in the directory, too short to be an entry
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, count + 1, count + 1, size + len(fake), offset, 0)
    forged = data[: len(data) - 22] + fake + end
    assert _central_directory_names(forged) == {"[Content_Types].xml", "word/document.xml"}


def test_a_local_file_is_read_a_chunk_at_a_time(tmp_path: Path) -> None:
    blob = tmp_path / "blob"
    blob.write_bytes(b"\0" * (2 * OUT_CHUNK + 10))
    member = Member("evidence/blob.bin", _not_streamed, size=2 * OUT_CHUNK + 10, local_file=blob)
    assert [len(chunk) for chunk in _read_local(member, blob, Progress())] == [OUT_CHUNK, OUT_CHUNK, 10]


def test_progress_starts_at_nothing_read_and_nothing_packaged() -> None:
    assert (Progress().read, Progress().done) == (0, 0)


async def test_a_download_stopped_while_the_writer_waits_with_chunks_ready_ends_at_once() -> None:
    """The writer has read PREFETCH chunks ahead and waits to hand over the next: closing the download cancels it
    there, instead of leaving it (and the download's end) waiting for a reader that is gone."""
    pulled = 0

    async def parts() -> AsyncIterator[bytes]:
        nonlocal pulled
        for _ in range(PREFETCH + 8):
            pulled += 1
            yield b"\0" * OUT_CHUNK

    stream = zip_stream([Member("evidence/x.bin", parts, size=OUT_CHUNK * (PREFETCH + 8))])
    await anext(stream)
    for _ in range(3000):  # bounded: until the writer holds a full queue and waits to put one more
        if pulled >= PREFETCH + 2:
            break
        await asyncio.sleep(0.01)
    assert pulled >= PREFETCH + 2
    await asyncio.wait_for(stream.aclose(), timeout=30)  # a guard against a hang, not a measure of speed


def test_a_last_entry_without_a_name_ending_at_the_end_record_is_read() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", b"<T/>")
        archive.writestr(zipfile.ZipInfo(""), b"")  # its directory entry is the bare 46 bytes
    assert _central_directory_names(buffer.getvalue()) == {"[Content_Types].xml", ""}
