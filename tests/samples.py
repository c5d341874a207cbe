"""Sample file contents for the evidence tests: each accepted kind as its bytes, and content a browser would run
or show as a page, named as an accepted kind."""

from __future__ import annotations

import io
import zipfile

from backend.domain.evidence.sniff import ODS, ODT

PDF_BYTES = b"%PDF-1.7\n" + b"x" * 2000 + b"\n%%EOF\n"
PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100
# content that a browser would run or show as a page, named as an accepted kind
HTML_BYTES = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>\n"
SVG_BYTES = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect/></svg>\n'
TEXT_BYTES = "Báo cáo kết quả thực hiện nhiệm vụ CCHC năm 2020.\n".encode()


def zip_of(members: dict[str, bytes], *, first: tuple[str, bytes] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        if first:
            archive.writestr(zipfile.ZipInfo(first[0]), first[1], compress_type=zipfile.ZIP_STORED)
        for name, data in members.items():
            archive.writestr(name, data, compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


DOCX_BYTES = zip_of({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>"})
XLSX_BYTES = zip_of({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<workbook/>"})
ODT_BYTES = zip_of({"content.xml": b"<office/>"}, first=("mimetype", ODT.encode()))
ODS_BYTES = zip_of({"content.xml": b"<office/>"}, first=("mimetype", ODS.encode()))
ZIP_BYTES = zip_of({"bien-ban.txt": "Biên bản".encode()})
