"""Prove a package file is the one submitted: every entry against manifest.json and SHA256SUMS, and the
whole file's SHA-256 against the hash recorded when it was built.

Used by `parboard verify` and by the verify page, where anyone allowed may send any file: every read is
bounded. The archive is read entry by entry in chunks; the central directory's entry count, every entry's
declared size and compression ratio are checked before anything is decompressed (a 382 KiB ZIP whose
SHA256SUMS expands to 384 MiB is refused, not read), and SHA256SUMS and the manifest, the only entries
held in memory, are read up to their caps whatever their headers say. The messages are Vietnamese, for
the inspector.
"""

from __future__ import annotations

import hashlib
import json
import uuid
import zipfile
from dataclasses import dataclass, field
from struct import error as struct_error
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import Province, Submission, Tenant
from backend.db.rls import bind_tenant
from backend.domain.submissions.package import MANIFEST, SCHEMA, SUMS, parse_sums
from backend.web.formatting import vn_datetime, vn_size

CHUNK = 1024 * 1024
MAX_MANIFEST = 16 * 1024 * 1024  # a package of 20,000 files has a manifest of ~10 MiB
MAX_SUMS = 8 * 1024 * 1024  # ~300 bytes a line
MAX_ENTRIES = 50_000
# Evidence is stored uncompressed and the generated entries (text, XLSX) deflate well under this ratio; a
# member far beyond it is a decompression bomb. Small members are exempt (a page of zeros compresses 1000:1).
MAX_RATIO = 100
RATIO_EXEMPT_BELOW = 1024 * 1024
MAX_UNPACKED_SLACK = 256 * 1024 * 1024  # all entries together: twice the file, plus this


class _TooLarge(ValueError):
    """A member larger than its cap: read no further."""


@dataclass
class Report:
    sha256: str = ""
    size: int = 0
    entries: int = 0
    manifest: dict[str, Any] | None = None
    problems: list[str] = field(default_factory=list)
    submission: Submission | None = None
    recorded: str = ""  # what the database says about it, in words

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def tenant(self) -> str:
        m = self.manifest or {}
        return f"{m.get('tenant', {}).get('name', '?')} ({m.get('tenant', {}).get('code', '?')})"

    @property
    def year(self) -> Any:
        return (self.manifest or {}).get("year")

    @property
    def version(self) -> Any:
        return (self.manifest or {}).get("submission", {}).get("version")

    @property
    def submission_id(self) -> str:
        return str((self.manifest or {}).get("submission", {}).get("id", ""))

    def lines(self) -> list[str]:
        head = [f"Tệp: {vn_size(self.size)}, SHA-256 {self.sha256}"]
        if self.manifest:
            head.append(f"Hồ sơ: {self.tenant}, năm {self.year}, lần nộp {self.version}, mã {self.submission_id}")
        head.append(f"Đã kiểm tra {self.entries} mục trong tệp.")
        if self.recorded:
            head.append(self.recorded)
        if self.ok:
            return [*head, "KẾT QUẢ: HỢP LỆ, đúng là hồ sơ đã nộp."]
        return [*head, *(f"- {p}" for p in self.problems), "KẾT QUẢ: KHÔNG HỢP LỆ."]


def _file_digest(handle: IO[bytes]) -> tuple[str, int]:
    handle.seek(0)
    digest = hashlib.sha256()
    size = 0
    while chunk := handle.read(CHUNK):
        digest.update(chunk)
        size += len(chunk)
    handle.seek(0)
    return digest.hexdigest(), size


def check_archive(handle: IO[bytes]) -> Report:
    """Check the archive's own consistency (blocking: run it in a thread from async code)."""
    report = Report()
    report.sha256, report.size = _file_digest(handle)
    if (count := _declared_entries(handle)) is not None and count > MAX_ENTRIES:
        report.problems.append(
            f"Tệp có {count} mục, quá nhiều cho một hồ sơ nộp (tối đa {MAX_ENTRIES}): không kiểm tra."
        )
        return report
    try:
        archive = zipfile.ZipFile(handle)
    except (zipfile.BadZipFile, OSError, ValueError):
        report.problems.append("Tệp không phải là tệp ZIP hợp lệ (hoặc bị cắt cụt).")
        return report
    with archive:
        if bombs := [_bomb_message(info) for info in archive.infolist() if _is_bomb(info)]:
            report.problems.extend(bombs)
            return report
        unpacked = sum(info.file_size for info in archive.infolist())
        if unpacked > 2 * report.size + MAX_UNPACKED_SLACK:
            report.problems.append(
                f"Các mục giải nén thành {_mib(unpacked)} từ một tệp {_mib(report.size)}: không phải hồ sơ do "
                "parboard đóng gói (tài liệu được lưu nguyên, không nén), không giải nén để kiểm tra."
            )
            return report
        names = [i.filename for i in archive.infolist() if not i.is_dir()]
        if len(names) != len(set(names)):
            report.problems.append("Tệp có mục trùng tên.")
        if MANIFEST not in names or SUMS not in names:
            report.problems.append(f"Thiếu {MANIFEST} hoặc {SUMS}: không phải hồ sơ nộp của parboard.")
            return report
        try:
            data = json.loads(_read_capped(archive, MANIFEST, MAX_MANIFEST))
            if not isinstance(data, dict):
                raise ValueError
            sums = parse_sums(_read_capped(archive, SUMS, MAX_SUMS).decode("utf-8"))
        except _TooLarge as exc:
            report.problems.append(str(exc))
            return report
        except (ValueError, UnicodeDecodeError, zipfile.BadZipFile, OSError) as exc:
            report.problems.append(
                f"{MANIFEST} hoặc {SUMS} không đọc được ({exc})." if str(exc) else f"{MANIFEST} không hợp lệ."
            )
            return report
        report.manifest = data
        if data.get("schema") != SCHEMA:
            report.problems.append(f"Phiên bản định dạng {data.get('schema')!r} không được hỗ trợ (cần {SCHEMA}).")
        expected: dict[str, tuple[str, int | None]] = {}
        for item in [*data.get("files", []), *data.get("generated", [])]:
            try:
                expected[str(item["path"])] = (str(item["sha256"]), int(item["size"]))
            except (KeyError, TypeError, ValueError):
                report.problems.append(f"{MANIFEST}: một mục tệp thiếu đường dẫn, SHA-256 hoặc kích thước.")
        for path in expected:
            if path not in sums:
                report.problems.append(f"{path}: có trong {MANIFEST} nhưng không có trong {SUMS}.")
        for path in sums:
            if path not in names:
                report.problems.append(f"{path}: có trong {SUMS} nhưng không có trong tệp ZIP.")
            elif path != MANIFEST and path not in expected:
                report.problems.append(f"{path}: có trong {SUMS} nhưng không có trong {MANIFEST}.")
        for name in names:
            if name == SUMS:
                continue
            if name not in sums:
                report.problems.append(f"{name}: mục lạ, không có trong {SUMS}.")
                continue
            try:
                digest, size = _entry_digest(archive, name)
            except (zipfile.BadZipFile, OSError, ValueError) as exc:
                report.problems.append(f"{name}: không đọc được ({exc}).")
                continue
            report.entries += 1
            if digest != sums[name]:
                report.problems.append(f"{name}: SHA-256 không khớp {SUMS} (nội dung đã bị thay đổi).")
            want = expected.get(name)
            if want is not None and (want[0] != digest or want[1] != size):
                report.problems.append(f"{name}: không khớp {MANIFEST} (SHA-256 hoặc kích thước khác).")
    return report


def _declared_entries(handle: IO[bytes]) -> int | None:
    """The entry count the end of central directory declares, read before zipfile builds one object per
    entry; None when it cannot be read (zipfile then says what is wrong)."""
    end_record = getattr(zipfile, "_EndRecData", None)  # CPython's reader of that record, ZIP64 included
    if end_record is None:
        return None
    try:
        found = end_record(handle)
    except (OSError, ValueError, struct_error):
        return None
    finally:
        handle.seek(0)
    return int(found[4]) if found else None  # zipfile._ECD_ENTRIES_TOTAL


def _is_bomb(info: zipfile.ZipInfo) -> bool:
    if info.compress_type == zipfile.ZIP_STORED or info.file_size < RATIO_EXEMPT_BELOW:
        return False
    return info.file_size > MAX_RATIO * max(info.compress_size, 1)


def _bomb_message(info: zipfile.ZipInfo) -> str:
    return (
        f"{info.filename}: nén bất thường ({_mib(info.compress_size)} giải nén thành {_mib(info.file_size)}), "
        "không phải hồ sơ do parboard đóng gói: không giải nén để kiểm tra."
    )


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB".replace(".", ",")


def _read_capped(archive: zipfile.ZipFile, name: str, cap: int) -> bytes:
    """A member's bytes, read in chunks and never more than `cap` of them (its header may lie)."""
    if archive.getinfo(name).file_size > cap:
        raise _TooLarge(f"{name} quá lớn (hơn {_mib(cap)}): không phải hồ sơ do parboard đóng gói.")
    data = bytearray()
    with archive.open(name) as entry:
        while chunk := entry.read(min(CHUNK, cap + 1 - len(data))):
            data += chunk
            if len(data) > cap:
                raise _TooLarge(f"{name} quá lớn (hơn {_mib(cap)}): không phải hồ sơ do parboard đóng gói.")
    return bytes(data)


def _entry_digest(archive: zipfile.ZipFile, name: str) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with archive.open(name) as entry:
        while chunk := entry.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


async def check_recorded(db: AsyncSession, report: Report, submission_id: uuid.UUID | None = None) -> None:
    """Compare the file's hash with the package hash recorded for its submission (found by the id given
    or the manifest's, in the tenant the manifest names). Binds that tenant: use a session of its own."""
    manifest = report.manifest or {}
    try:
        wanted = submission_id or uuid.UUID(str(manifest.get("submission", {}).get("id", "")))
    except ValueError:
        report.problems.append("Không xác định được lần nộp (manifest không có mã lần nộp).")
        return
    tenant = await db.scalar(
        select(Tenant)
        .join(Province, Province.id == Tenant.province_id)
        .where(
            Province.code == str(manifest.get("province", {}).get("code", "")),
            Tenant.code == str(manifest.get("tenant", {}).get("code", "")),
        )
    )
    if tenant is None:
        report.problems.append("Không có đơn vị nào như manifest ghi trong cơ sở dữ liệu.")
        return
    await bind_tenant(db, tenant.id)
    submission = await db.scalar(select(Submission).where(Submission.id == wanted))
    await match_submission(report, submission)


async def match_submission(report: Report, submission: Submission | None) -> None:
    if submission is None:
        report.problems.append("Không tìm thấy lần nộp này trong cơ sở dữ liệu.")
        return
    report.submission = submission
    if not submission.package_sha256:
        report.problems.append("Lần nộp này chưa có gói hồ sơ được ghi nhận (đang đóng gói hoặc bị lỗi).")
    elif submission.package_sha256 != report.sha256:
        report.problems.append(
            f"SHA-256 của tệp khác với gói đã ghi nhận khi nộp ({submission.package_sha256}): không phải tệp đã nộp."
        )
    else:
        report.recorded = (
            f"Khớp gói đã ghi nhận: lần nộp {submission.version} năm {submission.year}, "
            f"đóng gói lúc {vn_datetime(submission.built_at)}."
            if submission.built_at
            else "Khớp gói đã ghi nhận."
        )
