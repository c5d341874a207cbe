"""Files people download (spreadsheets, documents, a submission's package, evidence, charts): one way to name
them and the same headers everywhere.

The name is Vietnamese (`filename*`, RFC 6266 and 5987) with a plain-ASCII `filename` beside it for clients
that read only that one; the content is the tenant's, so no shared cache may keep it (`private, no-store`).
Every response also gets `X-Content-Type-Options: nosniff` from the app's security headers.
"""

from __future__ import annotations

import unicodedata
from collections.abc import AsyncIterable, Mapping
from typing import Literal
from urllib.parse import quote

from litestar import Response
from litestar.response import Stream

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
ZIP = "application/zip"
PNG = "image/png"
SVG = "image/svg+xml"
CACHE_CONTROL = "private, no-store"


def ascii_fallback(filename: str) -> str:
    """A plain-ASCII version of the name for old clients ("Kế hoạch.pdf" → "Ke hoach.pdf")."""
    decomposed = unicodedata.normalize("NFKD", filename.replace("đ", "d").replace("Đ", "D"))
    text = "".join(ch for ch in decomposed if ord(ch) < 128 and ch not in '"\\;' and ch.isprintable())
    return text.strip() or "tep"


def content_disposition(
    name: str, *, ascii_name: str | None = None, disposition: Literal["attachment", "inline"] = "attachment"
) -> str:
    """`attachment` (or `inline`) with the ASCII `filename` (`ascii_name`, else `name` without its diacritics)
    and the Vietnamese `name` as `filename*`."""
    fallback = ascii_fallback(name if ascii_name is None else ascii_name)
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def _headers(
    name: str,
    ascii_name: str | None,
    disposition: Literal["attachment", "inline"],
    size: int | None,
    more: Mapping[str, str] | None,
) -> dict[str, str]:
    headers = {
        "Content-Disposition": content_disposition(name, ascii_name=ascii_name, disposition=disposition),
        "Cache-Control": CACHE_CONTROL,
    }
    if size is not None:
        headers["Content-Length"] = str(size)
    return {**headers, **(more or {})}


def download(
    data: bytes,
    name: str,
    media_type: str,
    *,
    ascii_name: str | None = None,
    disposition: Literal["attachment", "inline"] = "attachment",
    headers: Mapping[str, str] | None = None,
) -> Response[bytes]:
    """A file made in memory (a spreadsheet, a document, a chart), saved under `name`."""
    return Response(data, media_type=media_type, headers=_headers(name, ascii_name, disposition, None, headers))


def stream_download(
    chunks: AsyncIterable[bytes],
    name: str,
    media_type: str,
    *,
    size: int | None,
    ascii_name: str | None = None,
    disposition: Literal["attachment", "inline"] = "attachment",
    headers: Mapping[str, str] | None = None,
) -> Stream:
    """A stored file streamed from storage as it is read (a package, a piece of evidence), `size` bytes long
    when known."""
    return Stream(chunks, media_type=media_type, headers=_headers(name, ascii_name, disposition, size, headers))
