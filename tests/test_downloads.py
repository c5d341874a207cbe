"""Downloads name their file the same way everywhere: an ASCII `filename` and the Vietnamese one as `filename*`."""

from __future__ import annotations

from backend.web.downloads import XLSX, content_disposition, download


def test_vietnamese_name_has_an_ascii_fallback_beside_it() -> None:
    header = content_disposition("Kế hoạch khắc phục 2025 - Sở Ngoại vụ.xlsx")
    assert header == (
        'attachment; filename="Ke hoach khac phuc 2025 - So Ngoai vu.xlsx"; '
        "filename*=UTF-8''K%E1%BA%BF%20ho%E1%BA%A1ch%20kh%E1%BA%AFc%20ph%E1%BB%A5c%202025%20-%20S%E1%BB%9F%20Ngo%E1%BA%A1i%20v%E1%BB%A5.xlsx"
    )


def test_given_ascii_name_and_inline() -> None:
    header = content_disposition("Kết quả.xlsx", ascii_name="ket-qua-ht-2025.xlsx", disposition="inline")
    assert header.startswith("inline; filename=\"ket-qua-ht-2025.xlsx\"; filename*=UTF-8''K")


def test_quotes_and_separators_cannot_break_the_header() -> None:
    header = content_disposition('a"b;c\\d\r\n.pdf')
    fallback = header.split('filename="', 1)[1].split('"', 1)[0]
    assert fallback == "abcd.pdf"
    assert "\r" not in header
    assert "\n" not in header


def test_download_is_private_and_never_stored() -> None:
    response = download(b"x", "Bảng.xlsx", XLSX)
    assert response.headers["Cache-Control"] == "private, no-store"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="Bang.xlsx"')
    assert response.media_type == XLSX
