"""The survey's answer-level import: a file of questionnaire answers (XLSX or CSV, one answer a row: phiếu, đơn vị,
tiêu chí, trả lời) checked row by row, then aggregated (`backend.domain.scoring.survey`) into a preview of each
unit's survey points. Nothing is saved here: the preview's confirmation saves through the external-scores grid.
"""

from __future__ import annotations

import csv
import io
import unicodedata
import zipfile
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import polars as pl
from openpyxl import load_workbook

from backend.db.models import Province
from backend.domain.admin.province_scores_services import ExternalGrid
from backend.domain.assessments.xlsx import ImportProblem
from backend.domain.scoring.survey import (
    ANSWER_SCHEMA,
    ANSWERS,
    DEFAULT_SHARES,
    ItemScore,
    SurveyRules,
    aggregate_answers,
)

MAX_BYTES = 20 * 1024 * 1024
MAX_UNZIPPED = 200 * 1024 * 1024
MAX_ANSWERS = 500_000
MAX_PROBLEMS = 50  # the preview lists the first ones (and says how many there are)
COLUMNS = {"phieu": "questionnaire", "don vi": "tenant", "tieu chi": "item", "tra loi": "answer"}
HEADER_HINT = "dòng 1 phải có các cột: Phiếu, Đơn vị, Tiêu chí, Trả lời"


@dataclass
class AnswerPreview:
    answers: int = 0
    scores: list[ItemScore] = field(default_factory=list)
    problems: list[ImportProblem] = field(default_factory=list)
    problem_count: int = 0
    rules: SurveyRules = field(default_factory=SurveyRules)

    @property
    def entries(self) -> dict[str, str]:
        """The grid's fields ("tenant:code") with the points to save, for the confirmation form."""
        return {f"{s.tenant}:{s.item}": f"{s.points:f}" for s in self.scores if s.points is not None}

    @property
    def not_applicable(self) -> list[tuple[str, str, str]]:
        """(tenant code, item code, reason) of the items with too few answers: they do not apply to their unit."""
        least = self.rules.min_answers
        return [
            (s.tenant, s.item, f"Không đủ phiếu khảo sát ({s.answers} phiếu, tối thiểu {least})")
            for s in self.scores
            if s.points is None
        ]


def survey_rules(province: Province) -> SurveyRules:
    """The province's declared answer shares and minimum (`survey_answers` in province.yaml), else the defaults."""
    declared: dict[str, Any] = (province.settings or {}).get("survey_answers") or {}
    shares = {k: Decimal(str(v)) for k, v in (declared.get("shares") or {}).items()} or dict(DEFAULT_SHARES)
    return SurveyRules(shares, int(declared.get("min_answers", SurveyRules().min_answers)))


def _plain(text: object) -> str:
    """ "Tiêu chí " → "tieu chi": header names without case, diacritics, underscores or extra spaces."""
    folded = unicodedata.normalize("NFD", str(text or "")).replace("đ", "d").replace("Đ", "D")
    ascii_only = "".join(c for c in folded if not unicodedata.combining(c))
    return " ".join(ascii_only.replace("_", " ").casefold().split())


def _rows(data: bytes) -> tuple[list[tuple[object, ...]], ImportProblem | None]:
    """The file's rows (header first), from XLSX (a zip) or CSV (UTF-8, comma or semicolon)."""
    if len(data) > MAX_BYTES:
        return [], ImportProblem("", f"Tệp lớn hơn {MAX_BYTES // (1024 * 1024)} MB.")
    if data[:2] == b"PK":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                if sum(i.file_size for i in archive.infolist()) > MAX_UNZIPPED:
                    return [], ImportProblem("", "Tệp quá lớn sau khi giải nén.")
            workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception:  # openpyxl raises many kinds of errors for what is not a workbook
            return [], ImportProblem("", "Tệp không phải bảng tính Excel (.xlsx) hay CSV hợp lệ.")
        try:
            if not workbook.worksheets:
                return [], ImportProblem("", "Bảng tính trống.")
            rows: list[tuple[object, ...]] = []
            for row in workbook.worksheets[0].iter_rows(values_only=True):
                rows.append(tuple(row))
                if len(rows) > MAX_ANSWERS + 1:
                    break
            return rows, None
        finally:
            workbook.close()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return [], ImportProblem("", "Tệp CSV không phải UTF-8: hãy lưu lại với bảng mã UTF-8.")
    first = text.split("\n", 1)[0]
    dialect = ";" if first.count(";") > first.count(",") else ","
    lines: list[tuple[object, ...]] = [tuple(r) for r in csv.reader(io.StringIO(text), delimiter=dialect)]
    return lines[: MAX_ANSWERS + 2], None


def read_answers(data: bytes, grid: ExternalGrid, rules: SurveyRules) -> AnswerPreview:
    """Check every answer (each problem with its row) and, when there is none, aggregate them per unit and item."""
    preview = AnswerPreview(rules=rules)
    rows, problem = _rows(data)
    if problem is not None:
        preview.problems, preview.problem_count = [problem], 1
        return preview
    if not rows:
        preview.problems, preview.problem_count = [ImportProblem("", f"Tệp trống: {HEADER_HINT}.")], 1
        return preview
    header = {_plain(name): index for index, name in enumerate(rows[0])}
    missing = [name for name in COLUMNS if name not in header]
    if missing:
        preview.problems, preview.problem_count = [ImportProblem("", f"Thiếu cột: {HEADER_HINT}.")], 1
        return preview
    if len(rows) - 1 > MAX_ANSWERS:
        limit = f"{MAX_ANSWERS:,}".replace(",", ".")
        preview.problems, preview.problem_count = [ImportProblem("", f"Tệp có quá {limit} câu trả lời.")], 1
        return preview
    tenants = {t.code for t in grid.tenants}
    items = {c.code: c for c in grid.criteria if not c.is_index}
    good: list[tuple[str, str, str]] = []
    problems: list[ImportProblem] = []
    for line, row in enumerate(rows[1:], start=2):
        cells = {
            key: str(row[header[name]] if header[name] < len(row) and row[header[name]] is not None else "").strip()
            for name, key in COLUMNS.items()
        }
        if not any(cells.values()):
            continue
        tenant, item, answer = cells["tenant"], cells["item"], cells["answer"].upper()
        reasons = []
        if tenant not in tenants:
            reasons.append(f"đơn vị {tenant!r} không có trong danh sách đơn vị của bảng này")
        if item not in items:
            reasons.append(f"tiêu chí {item!r} không phải phần khảo sát của bộ chỉ số")
        if answer not in ANSWERS:
            reasons.append(f"câu trả lời {cells['answer']!r} phải là một trong A, B, C, D, E")
        if reasons:
            problems.append(ImportProblem(f"dòng {line}", "; ".join(reasons)))
        else:
            good.append((tenant, item, answer))
    preview.answers = len(good)
    if problems:
        preview.problems, preview.problem_count = problems[:MAX_PROBLEMS], len(problems)
        return preview
    frame = pl.DataFrame(good, schema=ANSWER_SCHEMA, orient="row")
    preview.scores = aggregate_answers(
        frame, {code: c.max_points for code, c in items.items()}, rules, [t.code for t in grid.tenants]
    )
    return preview
