"""The submission package: one ZIP a department sends Sở Nội vụ, written while it streams.

Layout (schema "parboard.submission/1"):
- `manifest.json`: tenant, province, year, criteria set, every criterion's self-score and explanation,
  every file with its path in the archive, SHA-256 and size, who submitted and when;
- `SHA256SUMS`: `sha256sum -c` checks every other entry;
- `index.html`: a page that opens offline and links every file relatively;
- `tu-danh-gia-<tenant>-<year>.xlsx`: the self-assessment in the departments' layout;
- `evidence/<criterion code>/<file name>`: the evidence, byte for byte.

The archive is built by zipstream-ng (stored entries with data descriptors, ZIP64 as soon as it is
needed, the UTF-8 flag on every non-ASCII name so Windows shows diacritics) in a worker thread, pulling
the evidence chunk by chunk from storage on the event loop: memory stays bounded by a few chunks, whatever
the package's size.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import re
import threading
import unicodedata
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader
from zipstream import ZIP_DEFLATED, ZIP_STORED, ZipStream  # type: ignore[import-untyped]

from backend.domain.evidence.sniff import LOOKALIKE_SLASH, shorten_middle
from backend.web.formatting import vn_date, vn_datetime, vn_number

SCHEMA = "parboard.submission/1"
MANIFEST = "manifest.json"
SUMS = "SHA256SUMS"
INDEX = "index.html"
EVIDENCE_DIR = "evidence"
NO_CRITERION = "chung"  # evidence attached to no criterion (a task's, for instance)
OUT_CHUNK = 1024 * 1024  # the archive's chunks: few hops between the threads, little memory in flight
PREFETCH = 3  # chunks read ahead of the storage's hashing and writing
_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]')
# One path segment in bytes of UTF-8: file systems allow 255; the rest leaves room for " (12)" and for a
# reader's tools. A ZIP's names may be far longer; Windows extracts into paths of 260 characters at most.
MAX_NAME_BYTES = 200


@dataclass(frozen=True)
class CriterionEntry:
    code: str
    title: str
    max_points: Decimal
    self_score: Decimal | None
    explanation: str
    remainder: bool = False  # "Các nội dung khác của …": the rest of an area's points


@dataclass(frozen=True)
class EvidenceEntry:
    id: str
    sha256: str
    size: int
    content_type: str
    filename: str
    criterion_code: str | None
    description: str = ""
    document_number: str = ""
    document_date: date | None = None
    document_section: str = ""  # "Điều 3, trang 5"
    path: str = ""  # in the archive; set by `place_evidence`


@dataclass(frozen=True)
class PackageInfo:
    tenant_code: str
    tenant_name: str
    province_code: str
    province_name: str
    year: int
    criteria_set_id: str
    criteria_set_version: int
    total_max: Decimal
    total_score: Decimal
    assessment_status: str
    submission_id: str
    version: int
    submitted_by: str
    submitted_at: datetime
    criteria: Sequence[CriterionEntry]
    evidence: Sequence[EvidenceEntry] = field(default_factory=list)
    adjustments: Sequence[tuple[str, Decimal]] = ()  # the bonus and penalty the total counts, within their caps

    @property
    def xlsx_name(self) -> str:
        return f"tu-danh-gia-{self.tenant_code}-{self.year}.xlsx"


def safe_segment(text: str, fallback: str) -> str:
    """One path segment, NFC, with no separator, control or Windows-reserved character, never '.'/'..', within
    MAX_NAME_BYTES (shortened in the middle, the extension kept). A slash inside a name ("Quyết định số
    640/QĐ-UBND.pdf") shows as the lookalike "∕"."""
    text = unicodedata.normalize("NFC", text)
    if text.strip(" ./\\"):  # a name, not a path made of dots and separators
        text = text.replace("/", LOOKALIKE_SLASH)
    cleaned = _UNSAFE.sub("_", text).strip().strip(".").strip()
    return shorten_middle(cleaned, MAX_NAME_BYTES) or fallback


def place_evidence(files: Sequence[EvidenceEntry]) -> list[EvidenceEntry]:
    """Each file at `evidence/<criterion code>/<name>`; a name already taken in its folder (compared as
    Windows does, case-insensitively) becomes "name (2).ext", "name (3).ext", …"""
    taken: set[str] = set()
    placed = []
    for file in files:
        folder = f"{EVIDENCE_DIR}/{safe_segment(file.criterion_code or NO_CRITERION, NO_CRITERION)}"
        name = safe_segment(file.filename, "tep")
        stem, dot, extension = name.rpartition(".")
        if not stem:
            stem, dot, extension = name, "", ""
        candidate, number = name, 1
        while f"{folder}/{candidate}".casefold() in taken:
            number += 1
            candidate = shorten_middle(f"{stem} ({number}){dot}{extension}", MAX_NAME_BYTES)
        taken.add(f"{folder}/{candidate}".casefold())
        placed.append(_replace_path(file, f"{folder}/{candidate}"))
    return placed


def _replace_path(file: EvidenceEntry, path: str) -> EvidenceEntry:
    return EvidenceEntry(**{**file.__dict__, "path": path})


def _points(value: Decimal | None) -> str | None:
    return None if value is None else f"{value.quantize(Decimal('0.001')):f}"


def manifest(info: PackageInfo, others: dict[str, tuple[str, int]]) -> dict[str, Any]:
    """The manifest; `others` maps the generated entries (index, XLSX) to their (sha256, size)."""
    return {
        "schema": SCHEMA,
        "submission": {
            "id": info.submission_id,
            "version": info.version,
            "submitted_by": info.submitted_by,
            "submitted_at": info.submitted_at.isoformat(),
        },
        "tenant": {"code": info.tenant_code, "name": info.tenant_name},
        "province": {"code": info.province_code, "name": info.province_name},
        "year": info.year,
        "criteria_set": {"id": info.criteria_set_id, "version": info.criteria_set_version},
        "assessment": {
            "status": info.assessment_status,
            "total_max": _points(info.total_max),
            "total_self_score": _points(info.total_score),
            "adjustments": [{"label": label, "points": _points(points)} for label, points in info.adjustments],
        },
        "criteria": [
            {
                "code": c.code,
                "title": c.title,
                "max_points": _points(c.max_points),
                "self_score": _points(c.self_score),
                "explanation": c.explanation,
                "remainder": c.remainder,
            }
            for c in info.criteria
        ],
        "files": [
            {
                "path": f.path,
                "sha256": f.sha256,
                "size": f.size,
                "content_type": f.content_type,
                "criterion": f.criterion_code,
                "filename": f.filename,
                "description": f.description,
                "document_number": f.document_number,
                "document_date": f.document_date.isoformat() if f.document_date else None,
                "document_section": f.document_section,
            }
            for f in info.evidence
        ],
        "generated": [{"path": path, "sha256": digest, "size": size} for path, (digest, size) in others.items()],
    }


def sums_line(digest: str, path: str) -> str:
    """One `sha256sum` line; a name with a backslash or newline is escaped the way GNU sha256sum does."""
    if "\\" in path or "\n" in path:
        return f"\\{digest}  {path.replace(chr(92), chr(92) * 2).replace(chr(10), chr(92) + 'n')}\n"
    return f"{digest}  {path}\n"


def parse_sums(text: str) -> dict[str, str]:
    """SHA256SUMS back into {path: sha256}; raises ValueError on a malformed line."""
    result: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line:
            continue
        escaped = line.startswith("\\")
        body = line[1:] if escaped else line
        digest, sep, path = body.partition("  ")
        if not sep or not re.fullmatch(r"[0-9a-f]{64}", digest):
            raise ValueError(f"dòng {number} của {SUMS} không đúng định dạng")
        if escaped:
            path = re.sub(r"\\(.)", lambda m: "\n" if m[1] == "n" else m[1], path)
        result[path] = digest
    return result


def render_index(info: PackageInfo, templates_dir: Path) -> str:
    environment = Environment(loader=FileSystemLoader(templates_dir), autoescape=True, trim_blocks=True)
    environment.filters.update(vn_number=vn_number, vn_date=vn_date, vn_datetime=vn_datetime)
    by_code: dict[str | None, list[EvidenceEntry]] = {}
    for file in info.evidence:
        by_code.setdefault(file.criterion_code, []).append(file)
    return environment.get_template("submissions/package_index.html").render(info=info, by_code=by_code, href=_href)


def _href(path: str) -> str:
    """A relative link to an entry: every segment percent-encoded, so '#', '?' and '%' in names work."""
    from urllib.parse import quote

    return quote(path)  # "/" is the one character quote() leaves as it is


@dataclass(frozen=True)
class Member:
    """One entry of the archive: its bytes as an async stream (or bytes), its size when known."""

    path: str
    data: bytes | Callable[[], AsyncIterator[bytes]]
    size: int | None = None
    compress: bool = False
    # A blob on the local disk is read by the zip thread itself, without a trip through the event loop:
    # reading then overlaps with the hashing and writing of the archive on the loop.
    local_file: Path | None = None


class Progress:
    """Evidence files packaged. `read` counts those the zip thread has read to their end, which runs up to
    PREFETCH chunks ahead of the writer; `done` those whose last bytes the writer has taken (what the progress
    bar shows)."""

    def __init__(self) -> None:
        self.read = 0
        self.done = 0


def zip_stream(members: Sequence[Member], progress: Progress | None = None) -> AsyncIterator[bytes]:
    """The archive's bytes in ~1 MiB chunks (OUT_CHUNK). The zip writer runs in a worker thread; each member's bytes
    are pulled from the event loop one chunk at a time, so only a few chunks are ever in memory."""
    return _zip_chunks(members, progress or Progress())


async def _zip_chunks(members: Sequence[Member], progress: Progress) -> AsyncIterator[bytes]:
    loop = asyncio.get_running_loop()
    archive = ZipStream(compress_type=ZIP_STORED)
    for member in members:
        kind = ZIP_DEFLATED if member.compress else ZIP_STORED
        if isinstance(member.data, bytes):
            archive.add(member.data, member.path, compress_type=kind)
        elif member.local_file is not None:
            archive.add(
                _read_local(member, member.local_file, progress), member.path, size=member.size, compress_type=kind
            )
        else:
            archive.add(_bridge(member, loop, progress), member.path, size=member.size, compress_type=kind)
    generator = iter(archive)
    # Held while the writer runs in a thread: the archive is closed only once no pull is still running in one.
    writing = threading.Lock()

    def pull() -> bytes:
        # ~OUT_CHUNK at a time: few hops between the threads whatever the files' sizes.
        parts: list[bytes] = []
        total = 0
        with writing:
            for part in generator:
                parts.append(part)
                total += len(part)
                if total >= OUT_CHUNK:
                    break
        return b"".join(parts)

    def close() -> None:
        # In a thread, never on the event loop: closing a member streamed from the loop (_bridge) waits for the
        # loop to close its source, which would wait forever on the loop's own thread.
        with writing:
            generator.close()

    # The zip thread reads ahead a few chunks: reading and CRC-ing the evidence overlaps with hashing and
    # writing the archive (the storage's threads), at a cost of PREFETCH chunks at most.
    # Each chunk travels with the count of files read to their end by the time it was cut.
    ahead: asyncio.Queue[tuple[bytes, int] | BaseException] = asyncio.Queue(maxsize=PREFETCH)

    async def produce() -> None:
        try:
            while chunk := await asyncio.to_thread(pull):
                await ahead.put((chunk, progress.read))
            await ahead.put((b"", progress.read))
        except asyncio.CancelledError:  # the consumer is gone: nobody would take what is put now
            raise
        except BaseException as exc:  # handed to the consumer, which raises it
            await ahead.put(exc)

    producer = asyncio.create_task(produce())
    try:
        while True:
            item = await ahead.get()
            if isinstance(item, BaseException):
                raise item
            chunk, read = item
            progress.done = read
            if not chunk:
                break
            yield chunk
    finally:
        producer.cancel()
        with contextlib.suppress(asyncio.CancelledError):  # the producer hands every other error over
            await producer
        await asyncio.to_thread(close)


def _bridge(member: Member, loop: asyncio.AbstractEventLoop, progress: Progress) -> Iterator[bytes]:
    """The member's async chunks, read from the zip writer's thread; the size must match the record."""
    assert not isinstance(member.data, bytes)
    source = member.data()

    async def next_chunk() -> bytes:
        return await anext(source)

    size = 0
    try:
        while True:
            try:
                chunk = asyncio.run_coroutine_threadsafe(next_chunk(), loop).result()
            except StopAsyncIteration:
                break
            size += len(chunk)
            yield chunk
    finally:
        asyncio.run_coroutine_threadsafe(source.aclose(), loop).result()  # type: ignore[attr-defined]
    if member.size is not None and size != member.size:
        raise PackageError(
            f"tệp {member.path}: kho lưu trữ có {vn_number(size)} byte, hồ sơ ghi {vn_number(member.size)} byte"
        )
    progress.read += 1


def _read_local(member: Member, file: Path, progress: Progress) -> Iterator[bytes]:
    size = 0
    try:
        handle = file.open("rb")
    except FileNotFoundError:
        raise PackageError(f"tệp {member.path}: không còn trong kho lưu trữ") from None
    with handle:
        while chunk := handle.read(OUT_CHUNK):
            size += len(chunk)
            yield chunk
    if member.size is not None and size != member.size:
        raise PackageError(
            f"tệp {member.path}: kho lưu trữ có {vn_number(size)} byte, hồ sơ ghi {vn_number(member.size)} byte"
        )
    progress.read += 1


class PackageError(RuntimeError):
    """The package cannot be built as recorded (a blob is missing or differs); the message is Vietnamese."""


def digest_of(data: bytes) -> tuple[str, int]:
    return hashlib.sha256(data).hexdigest(), len(data)


def manifest_bytes(data: dict[str, Any]) -> bytes:
    return (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode()
