"""Evidence files (tài liệu kiểm chứng): streaming upload, listing, soft delete, download.

The API other parts use (every function runs on a session already bound to the tenant, under RLS):

- `Target(year, criterion_code=None, task_id=None, request_id=None)`: what the files are attached to
  (a criterion of the year's self-assessment, a remedy task, or the answer to an inspector's evidence
  request; `request_id` may go with `criterion_code`).
- `await receive_uploads(request, db, tenant, settings, target) -> Received`: `target` may also be a lookup
  (`TargetLookup`), awaited once the body has been read: the API looks a task or a request up only after its
  fields are checked, so a NUL in a field is refused (400) before any service runs, as in every other body. Parses
  the multipart body AS IT STREAMS (`request.stream()`, never `request.form()`), writes each file part
  into the configured storage's `put` chunk by chunk, checks the content (sniff.py), the size limit
  (settings.storage.max_upload_bytes per file, refused while streaming), ≤ MAX_FILES files, and the CSRF
  token (the `x-csrftoken` header, or the `_csrf_token` field BEFORE any file part). All or nothing:
  `Received.errors` (field → Vietnamese message; field "files" for the files) means no row and no new
  blob; otherwise `Received.files` are the new `EvidenceFile` rows (flushed, audited). Form fields:
  `files` (several), `description`, `document` ("Số 640/KH-STNMT ngày 24/02/2023" → number and date),
  `section` (where in the document: "Điều 3, trang 5").
  Raise nothing for bad input except `PermissionDeniedException` (CSRF) and `ClientGone`. It COMMITS the
  session first (nothing may be pending) so that a slow upload holds no pooled connection, then binds
  the tenant again explicitly for the rows (the app's session class has no after_begin re-binding).
- `await files_for(db, target) -> list[EvidenceFile]`: the live files of a target, oldest first.
- `await evidence_counts(db, task_ids) -> dict[uuid.UUID, int]`: live files per task (board cards).
- `await delete_file(db, tenant, file_id) -> EvidenceFile`: soft delete by the uploader or a focal point
  while the year is not submitted, never once the answer it belongs to was sent (`EvidenceError` with a
  Vietnamese message otherwise).
- `await open_file(db, tenant, settings, file_id, *, inline) -> Stream`: a file this person sees (`visible_file`),
  streamed as below (the pages' and the API's download and preview).
- `await stream_file(db, storage, file_id, *, inline) -> Stream`: the download (attachment) or the
  preview (inline for PDF and images only), after reading the row under the bound tenant: bind the
  department's tenant first (the review's inspectors), a file of another tenant is a 404.
- The panel (list + upload control) of any target: `panel_url(base_path, target)` answers it (GET: the
  page, or its block "panel" of `evidence/panel.html` for htmx) and takes the files (POST, see
  controllers.py); embed it with `<div hx-get="{{ url }}" hx-trigger="load" hx-swap="outerHTML">` plus a
  plain link for no-JavaScript, as `evidence/_criterion_include.html` and `_task_include.html` do.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from secrets import compare_digest
from typing import Any

from litestar import Request
from litestar.exceptions import InternalServerException, NotFoundException, PermissionDeniedException
from litestar.middleware.csrf import CSRF_SECRET_LENGTH, generate_csrf_hash
from litestar.response import Stream
from multipart import MultipartSegment, ParserError, ParserLimitReached, PushMultipartParser, parse_options_header  # type: ignore[import-untyped]
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend import clock
from backend.auth.permissions import Permission
from backend.db.models import Province, Tenant, User
from backend.db.models.audit import AuditEntry
from backend.db.models.evidence import EvidenceFile, Submission
from backend.db.models.remedies import Task
from backend.db.models.review import EvidenceRequest
from backend.domain.evidence.sniff import INLINE, NotAccepted, Sniffer, name_for, safe_filename
from backend.domain.evidence.storage import EmptyBlob, Storage, TooLarge, storage_from_settings
from backend.domain.remedies.visibility import task_visible, visible_task
from backend.domain.tenants.deps import TenantContext
from backend.domain.tenants.services import province_calendar
from backend.settings import Settings
from backend.web.downloads import stream_download
from backend.web.formatting import vn_size
from backend.web.input import clean_text, unstorable_message
from backend.web.metrics import UPLOAD_BYTES

MAX_FILES = 20
MAX_FIELDS = 10
MAX_FIELD_BYTES = 8 * 1024
TEXT_FIELDS = ("description", "document", "section")
MAX_SECTION = 200  # characters of `document_section` ("Điều 3, trang 5")
MAX_HEADER_BYTES = 4096
WRITE_CHUNK = 1024 * 1024
CRITERION_CODE = re.compile(r"^\d{1,2}(\.\d{1,2}){0,4}$")
LIVE_SUBMISSION = ("building", "submitted")
NO_FILE = "Không tìm thấy tệp kiểm chứng."


class EvidenceError(ValueError):
    """A refused action, told in Vietnamese."""


class ClientGone(Exception):
    """The client went away mid-upload; nothing was kept."""


@dataclass(frozen=True)
class Target:
    year: int
    criterion_code: str | None = None
    task_id: uuid.UUID | None = None
    request_id: uuid.UUID | None = None


TargetLookup = Callable[[], Awaitable[Target]]


@dataclass
class Received:
    files: list[EvidenceFile] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    form: dict[str, str] = field(default_factory=dict)  # the text fields as typed, to show again
    status_code: int = 201


class _Refused(Exception):
    def __init__(self, field_name: str, message: str, status_code: int = 422, *, drain: bool = True) -> None:
        super().__init__(message)
        self.field_name = field_name
        self.message = message
        self.status_code = status_code
        self.drain = drain


def panel_url(base_path: str, target: Target) -> str:
    """Where a target's evidence panel is read (GET) and files are sent (POST)."""
    if target.request_id is not None:
        return f"{base_path}/tai-lieu/yeu-cau/{target.request_id}"
    if target.task_id is not None:
        return f"{base_path}/tai-lieu/nhiem-vu/{target.task_id}"
    return f"{base_path}/tai-lieu/{target.year}/tieu-chi/{target.criterion_code}"


def upload_limit_text(limit: int) -> str:
    """50 MB, 64 KB, 1,5 MB: the limit as people read it (binary units, decimal comma)."""
    return vn_size(limit)


_DATE = re.compile(r"(?<![\d/])(\d{1,2})/(\d{1,2})/(\d{4})(?![\d/])")


def parse_document(text: str) -> tuple[str, date | None]:
    """ "Số 640/KH-STNMT ngày 24/02/2023" → ("640/KH-STNMT", date(2023, 2, 24)); EvidenceError if the date
    is not a real dd/mm/yyyy one or nothing can be read."""
    text = " ".join(text.split())
    if not text:
        return "", None
    found = _DATE.search(text)
    day: date | None = None
    before = text
    if found:
        try:
            day = date(int(found.group(3)), int(found.group(2)), int(found.group(1)))
        except ValueError:
            raise EvidenceError(f"Ngày “{found.group(0)}” không có thật (ghi theo dd/mm/yyyy).") from None
        if not 1945 <= day.year <= 2100:
            raise EvidenceError(f"Ngày “{found.group(0)}” không hợp lệ.")
        before = text[: found.start()]
    before = re.sub(r"(?i)[,;]?\s*ngày\s*$", "", before.strip()).strip(" ,;")
    number = re.sub(r"(?i)^(văn bản\s+)?số\s*:?\s*", "", before).strip(" ,;")
    if len(number) > 127:
        raise EvidenceError("Số văn bản quá dài (tối đa 127 ký tự).")
    if not number and day is None:
        raise EvidenceError("Ghi theo mẫu: Số 640/KH-STNMT ngày 24/02/2023.")
    return number, day


def parse_section(text: str) -> str:
    """Where in its document the evidence is ("Điều 3, trang 5"), on one line; "" for none. EvidenceError (for the
    person) when it is too long or names nothing; a NUL or other control character never reaches the database."""
    text = " ".join(clean_text(text).split())
    if len(text) > MAX_SECTION:
        raise EvidenceError(f"Vị trí trong văn bản quá dài (tối đa {MAX_SECTION} ký tự, đang có {len(text)}).")
    if text and not any(c.isalnum() for c in text):
        raise EvidenceError("Ghi điều, mục hoặc trang của văn bản, ví dụ: Điều 3, trang 5.")
    return text


async def check_target(db: AsyncSession, target: Target) -> None:
    """EvidenceError unless files may be attached to `target` now (under the bound tenant)."""
    if target.criterion_code is not None and not CRITERION_CODE.match(target.criterion_code):
        raise EvidenceError("Mã tiêu chí không hợp lệ.")
    if target.request_id is not None:
        asked = await _evidence_request(db, target.request_id)
        if asked.status != "open":
            raise EvidenceError("Yêu cầu này đã được giải trình: không thêm tệp được nữa.")
        # The same deadline as the text answer (review.decisions.answer): a file is part of the answer.
        if (deadline := await _explanation_deadline_passed(db, asked)) is not None:
            raise EvidenceError(f"Đã quá hạn giải trình ({deadline:%d/%m/%Y}): không gửi giải trình được nữa.")
        return  # answering the inspectors comes after the submission, by design
    if target.task_id is not None and await db.get(Task, target.task_id) is None:
        raise NotFoundException("Không tìm thấy nhiệm vụ.")
    if await year_submitted(db, target.year):
        raise EvidenceError(f"Bản tự đánh giá năm {target.year} đã nộp: không thêm hay xoá tệp được nữa.")


async def _explanation_deadline_passed(db: AsyncSession, asked: EvidenceRequest) -> date | None:
    """The province's explanation deadline for the request's year if it has passed, else None."""
    province = await db.scalar(
        select(Province).join(Tenant, Tenant.province_id == Province.id).where(Tenant.id == asked.tenant_id)
    )
    calendar = province_calendar(province, asked.year) if province is not None else None
    if calendar is None or calendar.explanation_open(clock.utc_now()):
        return None
    return calendar.explanation_deadline


async def sent_answers(db: AsyncSession, files: Iterable[EvidenceFile]) -> set[uuid.UUID]:
    """The ids of those `files` that belong to an answer already sent (its request no longer open)."""
    request_ids = {f.request_id for f in files if f.request_id is not None}
    if not request_ids:
        return set()
    sent = set(
        await db.scalars(
            select(EvidenceRequest.id).where(EvidenceRequest.id.in_(request_ids), EvidenceRequest.status != "open")
        )
    )
    return {f.id for f in files if f.request_id in sent}


async def year_submitted(db: AsyncSession, year: int) -> bool:
    found = await db.scalar(
        select(func.count())
        .select_from(Submission)
        .where(Submission.year == year, Submission.status.in_(LIVE_SUBMISSION))
    )
    return bool(found)


def criterion_target(year: int, code: str) -> Target:
    """A criterion of the year's self-assessment named in a URL (404 for a code no criterion can have)."""
    if not CRITERION_CODE.match(code):
        raise NotFoundException("Không có tiêu chí này.")
    return Target(year=year, criterion_code=code)


async def target_for_task(db: AsyncSession, tenant: TenantContext, task_id: uuid.UUID) -> Target:
    """A task's evidence, for a person who sees the task on the board (404 otherwise, as its card)."""
    task = await visible_task(db, tenant, Task.id == task_id)
    if task is None:
        raise NotFoundException("Không tìm thấy nhiệm vụ.")
    return Target(year=task.year, criterion_code=task.criterion_code, task_id=task.id)


async def visible_file(db: AsyncSession, tenant: TenantContext, file_id: uuid.UUID) -> EvidenceFile:
    """A live file of the bound tenant that this person may see: a task's file only if they see the task."""
    file = await _live_file(db, file_id)
    if file.task_id is not None and not await task_visible(db, tenant, file.task_id):
        raise NotFoundException(NO_FILE)
    return file


async def _live_file(db: AsyncSession, file_id: uuid.UUID, *, for_update: bool = False) -> EvidenceFile:
    """A file of the bound tenant not deleted (404 otherwise)."""
    file = await db.get(EvidenceFile, file_id, with_for_update=for_update)
    if file is None or file.deleted_at is not None:
        raise NotFoundException(NO_FILE)
    return file


async def target_for_request(db: AsyncSession, request_id: uuid.UUID) -> Target:
    asked = await _evidence_request(db, request_id)
    return Target(year=asked.year, criterion_code=asked.criterion_code, request_id=asked.id)


async def _evidence_request(db: AsyncSession, request_id: uuid.UUID) -> EvidenceRequest:
    """An inspectors' evidence request to the bound tenant (404 otherwise)."""
    asked = await db.get(EvidenceRequest, request_id)
    if asked is None:
        raise NotFoundException("Không tìm thấy yêu cầu giải trình.")
    return asked


async def files_for(db: AsyncSession, target: Target) -> list[EvidenceFile]:
    """The live files of a target, oldest first (a criterion shows its own files and its answers')."""
    query = select(EvidenceFile).where(EvidenceFile.deleted_at.is_(None), EvidenceFile.year == target.year)
    if target.request_id is not None:
        query = query.where(EvidenceFile.request_id == target.request_id)
    elif target.task_id is not None:
        query = query.where(EvidenceFile.task_id == target.task_id)
    else:
        query = query.where(EvidenceFile.criterion_code == target.criterion_code, EvidenceFile.task_id.is_(None))
    return list(await db.scalars(query.order_by(EvidenceFile.uploaded_at, EvidenceFile.filename)))


async def uploader_names(db: AsyncSession, files: Iterable[EvidenceFile]) -> dict[uuid.UUID, str]:
    """The full names of the people who uploaded `files`, by user id."""
    ids = {f.uploaded_by for f in files if f.uploaded_by}
    if not ids:
        return {}
    return dict((await db.execute(select(User.id, User.full_name).where(User.id.in_(ids)))).all())


async def criterion_files(db: AsyncSession, year: int, criterion: str | None = None) -> list[EvidenceFile]:
    """The live files of the year's criteria (or of one), oldest first; a remedy task's files are on its task."""
    query = select(EvidenceFile).where(
        EvidenceFile.deleted_at.is_(None), EvidenceFile.year == year, EvidenceFile.task_id.is_(None)
    )
    if criterion is not None:
        query = query.where(EvidenceFile.criterion_code == criterion)
    return list(await db.scalars(query.order_by(EvidenceFile.uploaded_at, EvidenceFile.id)))


async def evidence_counts(db: AsyncSession, task_ids: Iterable[uuid.UUID] | Select[Any]) -> dict[uuid.UUID, int]:
    """Live evidence files per task of the bound tenant (tasks without files are absent); `task_ids` is a
    few ids, or a SELECT of them (a whole board's, cheaper than hundreds of bind parameters)."""
    ids = task_ids if isinstance(task_ids, Select) else list(task_ids)
    if not isinstance(ids, Select) and not ids:
        return {}
    rows = await db.execute(
        select(EvidenceFile.task_id, func.count())
        .where(EvidenceFile.task_id.in_(ids), EvidenceFile.deleted_at.is_(None))
        .group_by(EvidenceFile.task_id)
    )
    return {task_id: count for task_id, count in rows.all() if task_id is not None}


def may_delete(tenant: TenantContext, file: EvidenceFile) -> bool:
    person = tenant.principal
    return file.uploaded_by == person.user_id or person.can(Permission.EVIDENCE_DELETE_ANY, tenant.id)


async def delete_file(db: AsyncSession, tenant: TenantContext, file_id: uuid.UUID) -> EvidenceFile:
    """Soft-delete a file (the blob stays: other rows may share it, and the audit keeps its hash)."""
    file = await _live_file(db, file_id, for_update=True)
    if not may_delete(tenant, file):
        raise EvidenceError("Chỉ người tải lên hoặc đầu mối CCHC được xoá tệp này.")
    if file.request_id is None and await year_submitted(db, file.year):
        raise EvidenceError(f"Bản tự đánh giá năm {file.year} đã nộp: không xoá tệp được nữa.")
    # Every exchange with the inspectors is kept: a correction is a new file beside the old one.
    if await sent_answers(db, [file]):
        raise EvidenceError("Tệp này thuộc phần giải trình đã gửi: được giữ nguyên, không xoá được.")
    file.deleted_at = datetime.now(UTC)
    db.add(
        AuditEntry.by(
            tenant.id,
            tenant.principal.user_id,
            "evidence.delete",
            "evidence_file",
            str(file.id),
            before=_snapshot(file),
        )
    )
    await db.flush()
    return file


async def stream_file(db: AsyncSession, storage: Storage, file_id: uuid.UUID, *, inline: bool) -> Stream:
    """The file's bytes from storage, read after its row under the bound tenant (404 otherwise). Every
    response also gets `X-Content-Type-Options: nosniff` from the app's security headers."""
    file = await _live_file(db, file_id)
    if await storage.size(file.sha256) != file.size:
        raise NotFoundException("Tệp kiểm chứng không còn trong kho lưu trữ; hãy báo quản trị hệ thống.")
    shown = inline and file.content_type in INLINE
    headers: dict[str, str] = {}
    if shown and file.content_type == "application/pdf":
        # the browser's PDF viewer is a plugin: `sandbox` or `object-src 'none'` would show a blank page;
        # nothing else may load, and no other site may frame it
        headers["Content-Security-Policy"] = "default-src 'none'; object-src 'self'; frame-ancestors 'self'"
    elif shown:
        headers["Content-Security-Policy"] = "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"
    return stream_download(
        storage.open(file.sha256),
        file.filename,
        file.content_type,
        size=file.size,
        disposition="inline" if shown else "attachment",
        headers=headers,
    )


async def open_file(
    db: AsyncSession, tenant: TenantContext, settings: Settings, file_id: uuid.UUID, *, inline: bool
) -> Stream:
    """A file this person sees (`visible_file`, 404 otherwise), downloaded or previewed (`stream_file`)."""
    await visible_file(db, tenant, file_id)
    return await stream_file(db, storage_from_settings(settings), file_id, inline=inline)


def _snapshot(file: EvidenceFile) -> dict[str, Any]:
    return {
        "filename": file.filename,
        "sha256": file.sha256,
        "size": file.size,
        "content_type": file.content_type,
        "year": file.year,
        "criterion_code": file.criterion_code,
        "task_id": str(file.task_id) if file.task_id else None,
        "request_id": str(file.request_id) if file.request_id else None,
        "description": file.description,
        "document_number": file.document_number,
        "document_date": file.document_date.isoformat() if file.document_date else None,
        "document_section": file.document_section,
    }


def csrf_ok(request: Request[Any, Any, Any], token: str | None) -> bool:
    """The same check as Litestar's CSRF middleware (which is skipped on upload routes because it would
    buffer the whole body with `request.form()`): also used by the verify page's upload."""
    config = request.app.csrf_config
    if config is None:
        return True
    cookie = request.cookies.get(config.cookie_name)
    if not token or not cookie:
        return False

    def decode(value: str) -> str | None:
        if len(value) < CSRF_SECRET_LENGTH + 1:
            return None
        secret, digest = value[:CSRF_SECRET_LENGTH], value[CSRF_SECRET_LENGTH:]
        return secret if compare_digest(digest, generate_csrf_hash(token=secret, secret=config.secret)) else None

    ours, theirs = decode(token), decode(cookie)
    return ours is not None and theirs is not None and compare_digest(ours, theirs)


class _Events:
    """Parser events from the request body as it arrives, within the request's size bound."""

    def __init__(self, request: Request[Any, Any, Any], parser: PushMultipartParser, limit: int) -> None:
        self.request = request
        self.parser = parser
        self.limit = limit
        self.received = 0
        self.finished = False

    async def __aiter__(self) -> AsyncIterator[MultipartSegment | bytes | None]:
        try:
            async for chunk in self.request.stream():
                self.received += len(chunk)
                if self.received > self.limit:
                    raise _Refused("files", "Yêu cầu tải lên quá lớn.", 413, drain=False)
                for event in self.parser.parse(chunk):
                    yield event
            for event in self.parser.parse(b""):
                yield event
        except InternalServerException as exc:  # Litestar's "client disconnected prematurely"
            raise ClientGone from exc
        except ParserLimitReached as exc:
            message = f"Biểu mẫu vượt giới hạn: tối đa {MAX_FILES} tệp mỗi lần, tên tệp và các trường không quá dài."
            raise _Refused("files", message, 413) from exc
        except ParserError as exc:
            raise _Refused("files", "Dữ liệu gửi lên không đúng định dạng biểu mẫu.", 400) from exc
        self.finished = True


async def receive_uploads(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    tenant: TenantContext,
    settings: Settings,
    target: Target | TargetLookup,
) -> Received:
    """Stream the request's files into storage and record them as this person's, all or nothing (see the module
    docstring)."""
    tenant_id, actor, storage = tenant.id, tenant.principal.user_id, storage_from_settings(settings)
    received = Received()
    created: list[str] = []
    # Nothing is pending yet (the tenant was only looked up): end the transaction so that a slow upload
    # does not hold a pooled connection; the next statement begins a new one, bound to the same tenant.
    await db.commit()
    try:
        await _receive(request, db, tenant_id, actor, settings, storage, target, received, created)
    except _Refused as refused:
        received.errors[refused.field_name] = refused.message
        received.status_code = refused.status_code
    except BaseException:
        await _forget(storage, created)
        raise
    if received.errors:
        await _forget(storage, created)
        received.files = []
    return received


async def _forget(storage: Storage, created: list[str]) -> None:
    """Remove the blobs this request created (none was referenced before it)."""
    for key in created:
        await storage.delete(key)
    created.clear()


async def _receive(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    tenant_id: uuid.UUID,
    actor: uuid.UUID | None,
    settings: Settings,
    storage: Storage,
    target: Target | TargetLookup,
    received: Received,
    created: list[str],
) -> None:
    kind, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get("boundary", "")
    if kind != "multipart/form-data" or not boundary or len(boundary) > 200:
        raise _Refused("files", "Hãy gửi tệp bằng biểu mẫu tải lên (multipart/form-data).", 415, drain=False)
    per_file = settings.storage.max_upload_bytes
    bound = MAX_FILES * per_file + MAX_FIELDS * MAX_FIELD_BYTES + 1024 * 1024
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > bound:
        raise _Refused(
            "files",
            f"Yêu cầu tải lên quá lớn (tối đa {MAX_FILES} tệp, mỗi tệp {upload_limit_text(per_file)}).",
            413,
            drain=False,
        )
    csrf_checked = csrf_ok(request, request.headers.get("x-csrftoken"))
    parser = PushMultipartParser(
        boundary,
        max_header_size=MAX_HEADER_BYTES,
        max_header_count=8,
        max_segment_count=MAX_FILES + MAX_FIELDS,
        strict=True,
    )
    events = _Events(request, parser, bound)
    stream = aiter(events)
    stored: list[tuple[str, str, int, str]] = []  # (filename, sha256, size, content type)
    refusals: list[str] = []
    try:
        async for event in stream:
            if not isinstance(event, MultipartSegment):
                continue  # the parser only gives body chunks after their segment
            if event.filename is None:
                value = await _field(stream, event.name)
                if event.name == "_csrf_token" and not csrf_checked:
                    csrf_checked = csrf_ok(request, value)
                elif event.name in TEXT_FIELDS:
                    received.form[event.name] = value
                continue
            if not csrf_checked:
                raise PermissionDeniedException("CSRF token verification failed")
            if event.name != "files":
                raise _Refused("files", "Trường tệp không đúng.", 400)
            if not event.filename and not stored and not refusals:
                await _skip(stream)  # a browser sends an empty part when no file was chosen
                continue
            if len(stored) + len(refusals) >= MAX_FILES:
                raise _Refused("files", f"Mỗi lần tải lên tối đa {MAX_FILES} tệp.", 413, drain=False)
            filename = safe_filename(event.filename)
            sniffer = Sniffer()
            try:
                blob = await storage.put(_body(stream, sniffer), max_bytes=per_file)
            except TooLarge:
                raise _Refused(
                    "files",
                    f"Tệp “{filename}” lớn hơn {upload_limit_text(per_file)}: không tệp nào được lưu.",
                    413,
                    drain=False,
                ) from None
            except EmptyBlob:
                refusals.append(f"Tệp “{filename}” rỗng.")
                continue
            except NotAccepted as exc:
                await _skip(stream)
                refusals.append(f"Tệp “{filename}” {exc}.")
                continue
            UPLOAD_BYTES.inc(blob.size)
            if blob.created:
                created.append(blob.sha256)
            try:
                content_type = sniffer.content_type()
                filename = name_for(filename, content_type)
            except NotAccepted as exc:
                refusals.append(f"Tệp “{filename}” {exc}.")
                continue
            stored.append((filename, blob.sha256, blob.size, content_type))
    except _Refused as refused:
        # Read the rest so the browser shows the answer rather than a reset connection, unless the
        # rest is large (then the connection is closed on it).
        if refused.drain or (declared is not None and declared.isdigit() and int(declared) <= 3 * per_file):
            await _drain(stream)
        raise
    if not csrf_checked:
        raise PermissionDeniedException("CSRF token verification failed")
    if refusals:
        raise _Refused("files", " ".join([*refusals, "Không tệp nào được lưu."]))
    if not stored:
        raise _Refused("files", "Hãy chọn ít nhất một tệp.")
    description = received.form.get("description", "").strip()
    if len(description) > 2000:
        raise _Refused("description", "Mô tả quá dài (tối đa 2000 ký tự).")
    try:
        number, day = parse_document(received.form.get("document", ""))
    except EvidenceError as exc:
        raise _Refused("document", str(exc)) from None
    try:
        section = parse_section(received.form.get("section", ""))
    except EvidenceError as exc:
        raise _Refused("section", str(exc)) from None
    # A new transaction (the first one was ended before streaming): the session re-applies its bound
    # tenant when it begins (backend.db.rls).
    if not isinstance(target, Target):
        target = await target()
    try:
        await check_target(db, target)
    except EvidenceError as exc:
        raise _Refused("files", str(exc), 409) from None
    for filename, sha256, size, content_type in stored:
        row = EvidenceFile(
            tenant_id=tenant_id,
            year=target.year,
            criterion_code=target.criterion_code,
            task_id=target.task_id,
            request_id=target.request_id,
            sha256=sha256,
            size=size,
            content_type=content_type,
            filename=filename,
            description=description,
            document_number=number,
            document_date=day,
            document_section=section,
            uploaded_by=actor,
        )
        db.add(row)
        await db.flush()
        db.add(AuditEntry.by(tenant_id, actor, "evidence.upload", "evidence_file", str(row.id), after=_snapshot(row)))
        received.files.append(row)
    await db.flush()


async def _field(stream: AsyncIterator[MultipartSegment | bytes | None], name: str) -> str:
    value = bytearray()
    async for event in stream:
        if event is None:
            break
        if isinstance(event, bytes):
            value += event
            if len(value) > MAX_FIELD_BYTES:
                raise _Refused("files", "Một trường của biểu mẫu quá dài.", 413)
    if b"\x00" in value:  # refused as every form's NUL is (backend.web.input), next to its field
        raise _Refused(name if name in TEXT_FIELDS else "files", unstorable_message(), 400)
    return clean_text(value.decode("utf-8", "replace"))


async def _skip(stream: AsyncIterator[MultipartSegment | bytes | None]) -> None:
    async for event in stream:
        if event is None:
            return


async def _drain(stream: AsyncIterator[MultipartSegment | bytes | None]) -> None:
    """Read what is left of a refused request (bounded), so the browser gets the answer, not a reset."""
    try:
        async for _ in stream:
            pass
    except (_Refused, PermissionDeniedException):
        pass


async def _body(stream: AsyncIterator[MultipartSegment | bytes | None], sniffer: Sniffer) -> AsyncIterator[bytes]:
    """One file part's bytes, gathered into chunks of about WRITE_CHUNK (the socket gives small pieces;
    each write to storage is a thread hop)."""
    pending = bytearray()
    async for event in stream:
        if event is None:
            break
        if isinstance(event, bytes):
            sniffer.feed(event)
            pending += event
            if len(pending) >= WRITE_CHUNK:
                yield bytes(pending)
                pending.clear()
    if pending:
        yield bytes(pending)
