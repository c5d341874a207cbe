"""An evidence file names where in its document the evidence is ("Điều 3, trang 5"), as some provinces ask: kept
with the file, shown in its list, refused next to the field when too long or empty of any word or number, and
never storing a control character. (Shown in the review and the package: test_bonus_penalty_surfaces.)"""

from __future__ import annotations

import re

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.domain.evidence.services import EvidenceError, parse_section
from tests.factories import STAFF, evidence_rows, upload_evidence, upload_one_pdf
from tests.html_support import squash
from tests.samples import PDF_BYTES
from tests.support import sign_in

pytestmark = pytest.mark.usefixtures("demo_tenants", "criteria")


def test_a_section_is_one_line_of_bounded_text_with_a_word_or_number() -> None:
    assert parse_section("  Điều 3,\n  trang 5 ") == "Điều 3, trang 5"
    assert parse_section("Mục II.2\x00, tr. 5–7") == "Mục II.2, tr. 5–7"  # NUL dropped, never stored
    assert parse_section("") == ""
    assert parse_section("x" * 200) == "x" * 200
    with pytest.raises(EvidenceError, match=r"quá dài \(tối đa 200 ký tự, đang có 201\)"):
        parse_section("x" * 201)
    with pytest.raises(EvidenceError, match="ví dụ: Điều 3, trang 5"):
        parse_section(" –, ; ")


async def test_an_uploaded_file_keeps_its_section_and_shows_it(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine
) -> None:
    await sign_in(client, STAFF)
    response, row = await upload_one_pdf(
        client, owner_engine, {"document": "Số 640/KH-STNMT ngày 24/02/2023", "section": "Điều 3,\x07 trang 5"}
    )
    assert row["document_section"] == "Điều 3, trang 5"
    assert '<span class="evidence-section">Điều 3, trang 5</span>' in squash(response.text)
    # the form starts empty again for the next documents
    assert re.search(r'name="section" maxlength="200" placeholder="Điều 3, trang 5" value=""', squash(response.text))


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ("Điều 3, trang " + "5" * 190, "Vị trí trong văn bản quá dài (tối đa 200 ký tự, đang có 204)."),
        ("—", "Ghi điều, mục hoặc trang của văn bản, ví dụ: Điều 3, trang 5."),
    ],
)
async def test_a_bad_section_is_answered_next_to_the_field_and_nothing_is_kept(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine, section: str, message: str
) -> None:
    await sign_in(client, STAFF)
    response = await upload_evidence(client, [("a.pdf", PDF_BYTES)], {"section": section})
    assert response.status_code == 422
    error = re.search(r'<p class="field-error" id="([^"]+)-section-error">([^<]+)</p>', squash(response.text))
    assert error
    assert error.group(2) == message
    assert f'aria-describedby="{error.group(1)}-section-error"' in response.text
    assert await evidence_rows(owner_engine) == []  # (the blobs go with the rows: test_evidence's document date)
