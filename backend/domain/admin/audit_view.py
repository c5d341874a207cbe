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

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import AuditEntry, Membership, Unit, User
from backend.domain.assessments.not_applicable import STATUS_LABELS as NOT_APPLICABLE_LABELS
from backend.domain.assessments.services import STATUS_LABELS
from backend.domain.submissions.services import STATUS_LABELS_VN
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

# Values of a "status" field, whatever was audited: self-assessments, submissions, requests, claims.
STATUSES = {
    **STATUS_LABELS,
    **STATUS_LABELS_VN,
    "open": "Đang chờ trả lời",
    "answered": "Đã giải trình",
    **NOT_APPLICABLE_LABELS,
}

# Values that are ids of people or units: shown by name (from the users and the tenant's units).
PEOPLE_FIELDS = frozenset({"user"})
UNIT_FIELDS = frozenset({"unit_id", "lead_unit"})
GONE_UNIT = "Đơn vị đã xoá"

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
    entity_id: str
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


def changes(
    before: Mapping[str, Any] | None, after: Mapping[str, Any] | None, names: Mapping[str, str] | None = None
) -> list[Change]:
    """Per field, in the order they were written, what it was and what it became (unchanged fields left out
    when there is a before); ids of people and units by their names in `names`."""
    old, new = dict(before or {}), dict(after or {})
    keys = list(old) + [key for key in new if key not in old]

    def shown(key: str, values: Mapping[str, Any]) -> str:
        if key not in values:
            return "–"
        raw = values[key]
        if names is not None and isinstance(raw, str) and key in PEOPLE_FIELDS | UNIT_FIELDS:
            return names.get(raw, GONE if key in PEOPLE_FIELDS else GONE_UNIT)
        if key == "status" and isinstance(raw, str):
            return STATUSES.get(raw, raw)
        return value(raw)

    lines = []
    for key in keys:
        if before is not None and after is not None and old.get(key) == new.get(key):
            continue
        lines.append(Change(FIELDS.get(key, key), shown(key, old), shown(key, new)))
    return lines


def _uuid(text: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(text))
    except ValueError:
        return None


def _user_id(actor: str) -> uuid.UUID | None:
    if not actor.startswith("user:"):
        return None
    try:
        return uuid.UUID(actor.removeprefix("user:"))
    except ValueError:
        return None


async def present(db: AsyncSession, entries: Iterable[AuditEntry]) -> list[Line]:
    """The entries with names instead of ids: the actor's name (or e-mail), "Hệ thống" for jobs and "Người
    dùng đã xoá" for a user id nobody has any more; people and units named in the values and the entity ids
    of members and memberships likewise. Other ids mean nothing to a reader and are left out."""
    entries = list(entries)
    people: set[uuid.UUID] = set()
    units: set[uuid.UUID] = set()
    memberships: set[uuid.UUID] = set()
    for entry in entries:
        if user_id := _user_id(entry.actor):
            people.add(user_id)
        if entry.entity == "member" and (member := _uuid(entry.entity_id)):
            people.add(member)
        if entry.entity == "membership" and (membership := _uuid(entry.entity_id)):
            memberships.add(membership)
        for values in (entry.before or {}, entry.after or {}):
            for key, raw in values.items():
                if key in PEOPLE_FIELDS and (person := _uuid(raw)):
                    people.add(person)
                if key in UNIT_FIELDS and (unit := _uuid(raw)):
                    units.add(unit)
    person_name = func.coalesce(func.nullif(User.full_name, ""), User.email)
    names: dict[str, str] = {}
    if people:
        names.update((str(i), n) for i, n in await db.execute(select(User.id, person_name).where(User.id.in_(people))))
    if memberships:
        names.update(
            (str(i), n)
            for i, n in await db.execute(
                select(Membership.id, person_name)
                .join(User, User.id == Membership.user_id)
                .where(Membership.id.in_(memberships))
            )
        )
    if units:
        names.update((str(i), n) for i, n in await db.execute(select(Unit.id, Unit.name).where(Unit.id.in_(units))))
    lines = []
    for entry in entries:
        user_id = _user_id(entry.actor)
        if user_id is not None:
            actor = names.get(str(user_id), GONE)
        else:
            actor = GONE if entry.actor.startswith("user:") else SYSTEM
        if entry.entity in {"member", "membership"}:
            entity_id = names.get(entry.entity_id, GONE)
        else:
            entity_id = "" if _uuid(entry.entity_id) else entry.entity_id
        lines.append(
            Line(
                entry=entry,
                actor=actor,
                action=ACTIONS.get(entry.action, entry.action),
                entity=ENTITIES.get(entry.entity, entry.entity),
                entity_id=entity_id,
                changes=changes(entry.before, entry.after, names),
            )
        )
    return lines
