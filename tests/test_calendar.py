"""The province's yearly calendar in tenants/: checked with Vietnamese reasons naming the path, stored by the
sync, and read back as the windows and deadlines that lock editing by themselves."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db.engine import create_session_maker
from backend.db.models import Province
from backend.domain.tenants.config import load_directory
from backend.domain.tenants.services import province_calendar
from backend.settings import PROJECT_ROOT
from tests.factories import sync_dir
from tests.province_files import rejection, sample_province, write_province

YEAR_2024: dict[str, Any] = {
    "self_assessment": {"from": "01/10/2024", "to": "15/11/2024"},
    "submission_deadline": "20/11/2024",
    "explanation_deadline": "10/12/2024",
    "round_1": {"from": "21/11/2024", "to": "30/11/2024"},
    "round_2": {"from": "11/12/2024", "to": "20/12/2024"},
}


def with_calendar(root: Path, calendar: Any) -> Path:
    data = sample_province()
    data["province"]["calendar"] = calendar
    write_province(root, data)
    return root


def test_the_shipped_provinces_have_valid_calendars() -> None:
    for loaded in load_directory(PROJECT_ROOT / "tenants"):
        assert 2024 in loaded.config.province.calendar, loaded.file


@pytest.mark.parametrize(
    ("change", "path", "reason"),
    [
        ({"submission_deadline": "31/02/2024"}, "$.province.calendar.2024.submission_deadline", "dd/mm/yyyy"),
        ({"submission_deadline": "2024-11-20"}, "$.province.calendar.2024.submission_deadline", "dd/mm/yyyy"),
        ({"explanation_deadline": "10/12/2031"}, "$.province.calendar.2024.explanation_deadline", "năm 2024 hoặc 2025"),
        (
            {"submission_deadline": "10/11/2024"},
            "$.province.calendar.2024.submission_deadline",
            "hạn nộp hồ sơ (10/11/2024) không được trước ngày kết thúc tự đánh giá (15/11/2024)",
        ),
        (
            {"round_2": {"from": "11/12/2024", "to": "01/12/2024"}},
            "$.province.calendar.2024.round_2.to",
            "không được trước ngày bắt đầu thẩm định vòng 2",
        ),
    ],
)
def test_bad_dates_are_named_with_their_path(tmp_path: Path, change: dict[str, Any], path: str, reason: str) -> None:
    problems = rejection(with_calendar(tmp_path, {2024: {**YEAR_2024, **change}}))
    assert any(p.path == path and reason in p.reason for p in problems), problems


def test_unknown_and_missing_keys_are_refused_in_vietnamese(tmp_path: Path) -> None:
    problems = rejection(with_calendar(tmp_path / "a", {2024: {**YEAR_2024, "round_3": {"from": "x", "to": "y"}}}))
    assert any("khóa lạ 'round_3'" in p.reason for p in problems), problems
    missing = {k: v for k, v in YEAR_2024.items() if k != "submission_deadline"}
    problems = rejection(with_calendar(tmp_path / "b", {2024: missing}))
    assert any("thiếu khóa bắt buộc 'submission_deadline'" in p.reason for p in problems), problems
    problems = rejection(with_calendar(tmp_path / "c", {1800: YEAR_2024}))
    assert any("năm 1800 không hợp lệ" in p.reason for p in problems), problems


async def test_the_sync_stores_it_and_the_helper_reads_the_windows(tmp_path: Path, owner_engine: AsyncEngine) -> None:
    await sync_dir(owner_engine, with_calendar(tmp_path, {2024: YEAR_2024}), demo_people=False)
    async with create_session_maker(owner_engine)() as db:
        province = (await db.scalars(select(Province))).one()
    assert province_calendar(province, 2023) is None
    calendar = province_calendar(province, 2024)
    assert calendar is not None
    assert calendar.submission_deadline == date(2024, 11, 20)
    assert calendar.self_assessment_open(date(2024, 11, 15))
    assert not calendar.self_assessment_open(date(2024, 11, 16))
    # A deadline includes its whole day, Vietnam time: 16:59 UTC on the 20th is 23:59 in Hà Nội.
    assert calendar.submission_open(datetime(2024, 11, 20, 16, 59, tzinfo=UTC))
    assert not calendar.submission_open(datetime(2024, 11, 20, 17, 0, tzinfo=UTC))
    assert calendar.explanation_open(date(2024, 12, 10))
    assert not calendar.explanation_open(date(2024, 12, 11))
    assert [calendar.round(date(2024, 11, d)) for d in (20, 21, 30)] == [None, 1, 1]
    assert [calendar.round(date(2024, 12, d)) for d in (10, 11, 20, 21)] == [None, 2, 2, None]


def test_the_departments_day_is_vietnams_whatever_the_servers_time_zone() -> None:
    from datetime import UTC, date, datetime

    from backend.clock import vietnam_today

    assert vietnam_today(datetime(2026, 12, 31, 16, 59, tzinfo=UTC)) == date(2026, 12, 31)
    assert vietnam_today(datetime(2026, 12, 31, 17, 0, tzinfo=UTC)) == date(2027, 1, 1)  # 00:00 in Hà Tĩnh
