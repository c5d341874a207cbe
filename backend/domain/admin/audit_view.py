"""The audit log as people read it: who by name, what in Vietnamese, and per field "trước → sau" with values
the Vietnamese way (decimal comma, dd/mm/yyyy). Unknown keys are shown as they are, never an error."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import AuditEntry, User
from backend.web.formatting import vn_date, vn_number, vn_typed
from backend.web.templating import LABELS

SYSTEM = "Hệ thống"
GONE = "Người dùng đã xoá"

ACTIONS = {
    **LABELS,
    "plan.import": "Nhập kế hoạch từ tệp Excel",
    "not_applicable.claim": "Đề nghị không áp dụng tiêu chí",
    "not_applicable.revoke": "Rút đề nghị không áp dụng",
    "not_applicable.decide": "Quyết định không áp dụng",
    "not_applicable.accept": "Chấp nhận không áp dụng",
    "not_applicable.refuse": "Không chấp nhận không áp dụng",
}

ENTITIES = {
    "assessment": "Tự đánh giá",
    "membership": "Vai trò",
    "member": "Thành viên",
    "invitation": "Lời mời",
    "province-invitation": "Lời mời cấp tỉnh",
    "criteria-set": "Bộ chỉ số",
    "external-scores": "Điểm khảo sát, chỉ số",
    "plan": "Kế hoạch khắc phục",
    "task": "Nhiệm vụ",
    "report": "Báo cáo định kỳ",
    "submission": "Hồ sơ nộp",
    "evidence_file": "Tài liệu kiểm chứng",
    "evidence-request": "Yêu cầu bổ sung tài liệu",
    "review": "Thẩm định",
    "units": "Phòng, đơn vị",
    "not_applicable": "Không áp dụng",
}

FIELDS = {
    "points": "Điểm",
    "inputs": "Số liệu nhập",
    "explanation": "Giải trình",
    "evidence_refs": "Tài liệu kiểm chứng",
    "status": "Trạng thái",
    "reason": "Lý do",
    "total": "Tổng điểm",
    "email": "E-mail",
    "role": "Vai trò",
    "roles": "Vai trò",
    "unit_id": "Phòng, đơn vị",
    "user": "Người dùng",
    "source": "Nguồn",
    "active": "Đang hoạt động",
    "sessions": "Số phiên đăng nhập",
    "year": "Năm",
    "version": "Phiên bản",
    "criteria_set_version": "Phiên bản bộ chỉ số",
    "source_file": "Tệp nguồn",
    "total_max": "Điểm tối đa",
    "content_hash": "Mã băm nội dung",
    "scores": "Điểm",
    "entered_in": "Nhập tại",
    "tenants": "Đơn vị",
    "tenant": "Đơn vị",
    "by_tenant": "Đơn vị thực hiện",
    "by": "Đơn vị thực hiện",
    "file": "Tệp",
    "tasks": "Số nhiệm vụ",
    "first": "Nhiệm vụ đầu",
    "last": "Nhiệm vụ cuối",
    "signature": "Chữ ký nội dung",
    "areas": "Lĩnh vực",
    "title": "Tên nhiệm vụ",
    "kind": "Loại",
    "area": "Lĩnh vực",
    "criterion": "Tiêu chí",
    "criterion_code": "Tiêu chí",
    "deadline": "Thời hạn",
    "due": "Hạn hoàn thành",
    "lead_unit": "Đơn vị chủ trì",
    "points_lost": "Điểm bị trừ",
    "add": "Thêm việc",
    "text": "Nội dung",
    "done": "Đã xong",
    "length": "Độ dài (ký tự)",
    "result_date": "Ngày có kết quả",
    "package_sha256": "Mã băm gói hồ sơ",
    "package_size": "Dung lượng gói (byte)",
    "error": "Lỗi",
    "answer": "Trả lời",
    "changes": "Thay đổi",
    "filename": "Tên tệp",
    "sha256": "Mã băm",
    "size": "Dung lượng (byte)",
    "content_type": "Kiểu tệp",
    "task_id": "Nhiệm vụ",
    "request_id": "Yêu cầu",
    "description": "Mô tả",
    "document_number": "Số văn bản",
    "document_date": "Ngày văn bản",
}

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DECIMAL = re.compile(r"-?\d+\.\d+")


@dataclass(frozen=True, slots=True)
class Change:
    field: str
    before: str
    after: str


@dataclass(frozen=True, slots=True)
class Line:
    entry: AuditEntry
    actor: str
    action: str
    entity: str
    changes: list[Change]


def value(raw: Any) -> str:
    """One stored value as people read it: 10.5 → "10,5", "2026-12-05" → "05/12/2026", True → "Có"."""
    if raw is None or raw == "":
        return "–"
    if isinstance(raw, bool):
        return "Có" if raw else "Không"
    if isinstance(raw, int | Decimal):
        return vn_number(raw)
    if isinstance(raw, float):
        return vn_number(Decimal(str(raw)))
    if isinstance(raw, list):
        return ", ".join(value(item) for item in raw) or "–"
    if isinstance(raw, dict):
        return "; ".join(f"{FIELDS.get(str(k), str(k))}: {value(v)}" for k, v in raw.items()) or "–"
    text = str(raw)
    if _ISO_DATE.fullmatch(text):
        try:
            return vn_date(date.fromisoformat(text))
        except ValueError:
            return text
    if _DECIMAL.fullmatch(text):
        try:
            return vn_typed(text)
        except InvalidOperation:  # pragma: no cover - the pattern is a number
            return text
    return LABELS.get(text, text)


def changes(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> list[Change]:
    """Per field, in the order they were written, what it was and what it became (unchanged fields left out
    when there is a before)."""
    old, new = dict(before or {}), dict(after or {})
    keys = list(old) + [key for key in new if key not in old]
    lines = []
    for key in keys:
        if before is not None and after is not None and old.get(key) == new.get(key):
            continue
        lines.append(
            Change(
                FIELDS.get(key, key),
                value(old.get(key)) if key in old else "–",
                value(new.get(key)) if key in new else "–",
            )
        )
    return lines


def _user_id(actor: str) -> uuid.UUID | None:
    if not actor.startswith("user:"):
        return None
    try:
        return uuid.UUID(actor.removeprefix("user:"))
    except ValueError:
        return None


async def present(db: AsyncSession, entries: Iterable[AuditEntry]) -> list[Line]:
    """The entries with their actors' names: a user's name (or e-mail), "Hệ thống" for jobs, and "Người dùng
    đã xoá" for a user id nobody has any more."""
    entries = list(entries)
    ids = {user_id for entry in entries if (user_id := _user_id(entry.actor))}
    names: dict[uuid.UUID, str] = {}
    if ids:
        for user_id, full_name, email in await db.execute(
            select(User.id, User.full_name, User.email).where(User.id.in_(ids))
        ):
            names[user_id] = full_name or email or GONE
    lines = []
    for entry in entries:
        user_id = _user_id(entry.actor)
        actor = SYSTEM if user_id is None and not entry.actor.startswith("user:") else GONE
        if user_id is not None:
            actor = names.get(user_id, GONE)
        lines.append(
            Line(
                entry=entry,
                actor=actor,
                action=ACTIONS.get(entry.action, entry.action),
                entity=ENTITIES.get(entry.entity, entry.entity),
                changes=changes(entry.before, entry.after),
            )
        )
    return lines
