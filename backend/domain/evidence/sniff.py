"""What a file IS, read from its bytes (never its name), and safe file names.

Accepted: PDF, DOCX, XLSX, ODT, ODS, JPEG, PNG and ZIP (kept as is). DOCX/XLSX/ODT/ODS are ZIP archives
told apart by their members: `[Content_Types].xml` with `word/` or `xl/` for Office, the stored `mimetype`
first entry for OpenDocument. The sniffer is fed the upload chunk by chunk: it refuses a wrong kind of
file from its first bytes, and reads the archive's central directory from the last bytes at the end.
"""

from __future__ import annotations

import re
import struct
import unicodedata
from collections import deque

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ODT = "application/vnd.oasis.opendocument.text"
ODS = "application/vnd.oasis.opendocument.spreadsheet"
JPEG = "image/jpeg"
PNG = "image/png"
ZIP = "application/zip"

LABELS = {
    PDF: "PDF",
    DOCX: "Word (DOCX)",
    XLSX: "Excel (XLSX)",
    ODT: "OpenDocument văn bản (ODT)",
    ODS: "OpenDocument bảng tính (ODS)",
    JPEG: "ảnh JPG",
    PNG: "ảnh PNG",
    ZIP: "tệp nén ZIP",
}
EXTENSIONS = {
    ".pdf": PDF,
    ".docx": DOCX,
    ".xlsx": XLSX,
    ".odt": ODT,
    ".ods": ODS,
    ".jpg": JPEG,
    ".jpeg": JPEG,
    ".png": PNG,
    ".zip": ZIP,
}
CANONICAL_EXTENSION = {PDF: ".pdf", DOCX: ".docx", XLSX: ".xlsx", ODT: ".odt", ODS: ".ods", JPEG: ".jpg"} | {
    PNG: ".png",
    ZIP: ".zip",
}
INLINE = frozenset({PDF, JPEG, PNG})  # shown in the browser; everything else is downloaded
ACCEPTED_TEXT = "PDF, DOCX, XLSX, ODT, ODS, JPG, PNG hoặc ZIP"

HEAD = 64 * 1024
TAIL = 2 * 1024 * 1024  # an archive's central directory is looked for in its last 2 MiB
_EOCD = struct.Struct("<4s4H2LH")
_CENTRAL = struct.Struct("<4s6H3L5H2L")
_EOCD_REACH = _EOCD.size + 0xFFFF  # the end record and the longest comment a ZIP can have


class NotAccepted(ValueError):
    """The content is not one of the accepted kinds (the message is Vietnamese, for the person)."""


class Sniffer:
    """Fed every chunk of one file in order; `content_type()` at the end says what it is."""

    def __init__(self) -> None:
        self.head = bytearray()
        self.tail: deque[bytes] = deque()
        self.tail_size = 0

    def feed(self, chunk: bytes) -> None:
        before = len(self.head)
        self.head += chunk[: HEAD - before]  # nothing once the head is full
        if before < 8 <= len(self.head):
            _magic(bytes(self.head))  # refuse early: no need to read the rest of a wrong file
        self.tail.append(chunk)
        self.tail_size += len(chunk)
        while self.tail_size - len(self.tail[0]) >= TAIL:
            self.tail_size -= len(self.tail.popleft())

    def content_type(self) -> str:
        head = bytes(self.head)
        kind = _magic(head)
        if kind != ZIP:
            return kind
        return _archive_kind(head, b"".join(self.tail))


def _magic(head: bytes) -> str:
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return ZIP
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise NotAccepted(f"là tệp Office đời cũ (DOC/XLS); hãy lưu lại thành DOCX/XLSX hoặc PDF ({ACCEPTED_TEXT})")
    raise NotAccepted(f"không phải định dạng được nhận ({ACCEPTED_TEXT})")


def _archive_kind(head: bytes, tail: bytes) -> str:
    # OpenDocument: the first entry is "mimetype", stored uncompressed.
    if head[30:38] == b"mimetype":
        name_len, extra_len = struct.unpack_from("<HH", head, 26)
        size = struct.unpack_from("<L", head, 18)[0]
        start = 30 + name_len + extra_len
        mimetype = head[start : start + min(size, 200)].decode("ascii", "replace").strip()
        if mimetype == ODT:
            return ODT
        if mimetype == ODS:
            return ODS
        if mimetype.startswith("application/vnd.oasis.opendocument"):
            raise NotAccepted(f"là tệp OpenDocument không được nhận (chỉ ODT, ODS; {ACCEPTED_TEXT})")
    names = _central_directory_names(tail)
    if "[Content_Types].xml" in names:
        if any(name.startswith("word/") for name in names):
            return DOCX
        if any(name.startswith("xl/") for name in names):
            return XLSX
        raise NotAccepted(f"là tệp Office không được nhận (chỉ DOCX, XLSX; {ACCEPTED_TEXT})")
    return ZIP


def _central_directory_names(tail: bytes) -> set[str]:
    """The member names of a ZIP archive whose last bytes are `tail` (empty if they cannot be read)."""
    end = tail.rfind(b"PK\x05\x06", -_EOCD_REACH)  # a negative start counts from the end, as in a slice
    if end < 0 or end + _EOCD.size > len(tail):
        return set()
    *_, count, directory_size, _offset, _comment = _EOCD.unpack_from(tail, end)
    position = end - directory_size
    if position < 0:
        return set()
    names: set[str] = set()
    for _ in range(count):
        if position + _CENTRAL.size > end or tail[position : position + 4] != b"PK\x01\x02":
            break
        fields = _CENTRAL.unpack_from(tail, position)
        name_len, extra_len, comment_len = fields[10], fields[11], fields[12]
        raw = tail[position + _CENTRAL.size : position + _CENTRAL.size + name_len]
        names.add(raw.decode("utf-8", "replace"))
        position += _CENTRAL.size + name_len + extra_len + comment_len
    return names


_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(10)), *(f"LPT{i}" for i in range(10))}
_FORBIDDEN = re.compile(r'[<>:"|?*]')
MAX_NAME_BYTES = 255
LOOKALIKE_SLASH = "\u2215"  # ∕ DIVISION SLASH
ELLIPSIS = "\u2026"  # …
_DRIVE = re.compile(r"^[A-Za-z]:$")
FALLBACK_NAME = "tep-kiem-chung"


def safe_filename(raw: str) -> str:
    """The name to keep, as the person sees it: NFC (Vietnamese kept exactly), no control or bidi characters,
    no `..`, no leading dots, no reserved Windows name, at most 255 bytes of UTF-8 (shortened in the middle,
    the extension kept). A path ("../../x.pdf", "C:\\Tài liệu\\x.pdf") keeps its last part only; a slash
    inside a name ("Quyết định số 640/QĐ-UBND.pdf") becomes the lookalike "∕" (U+2215), which no file
    system reads as a separator."""
    name = unicodedata.normalize("NFC", raw)
    *folders, last = re.split(r"[/\\]", name)
    if folders:
        path_like = any(part.strip() in ("", ".", "..") or _DRIVE.match(part) for part in folders)
        name = last if path_like else LOOKALIKE_SLASH.join([*folders, last])
    name = re.sub(r"[\t\n\r\v\f]", " ", name)  # a tab or line break between words stays a space between them
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = _FORBIDDEN.sub("_", name)
    name = re.sub(r"\.{2,}", ".", name)
    name = re.sub(r"\s+", " ", name).strip().lstrip(".").rstrip(". ")
    if not name:
        name = FALLBACK_NAME
    stem = name.partition(".")[0].strip().upper()
    if stem in _RESERVED:
        name = f"_{name}"
    return _truncate(name)


def shorten_middle(name: str, max_bytes: int) -> str:
    """`name` within `max_bytes` of UTF-8, shortened in the middle ("Kế hoạch … năm 2020.pdf"): its start
    and end, the extension (up to 10 characters) always kept, whole characters only."""
    if len(name.encode()) <= max_bytes:
        return name
    stem, dot, extension = name.rpartition(".")
    if not dot or not stem or len(extension) > 10:
        stem, extension = name, ""
    suffix = f".{extension}" if extension else ""
    budget = max_bytes - len(suffix.encode()) - len(ELLIPSIS.encode())
    head = _within(stem, budget // 2)
    tail = _within(stem[::-1], budget - len(head.encode()))[::-1]
    return f"{head.rstrip()}{ELLIPSIS}{tail.lstrip()}{suffix}"


def _within(text: str, budget: int) -> str:
    """The longest start of `text` whose UTF-8 fits in `budget` bytes."""
    used = 0
    for index, character in enumerate(text):
        used += len(character.encode())
        if used > budget:
            return text[:index]
    return text


def _truncate(name: str) -> str:
    return shorten_middle(name, MAX_NAME_BYTES)


def name_for(filename: str, content_type: str) -> str:
    """`filename` if its extension says what the content is; refused if it names another accepted kind;
    the right extension added if it has none (or an unrelated one)."""
    _, dot, extension = filename.rpartition(".")
    expected = EXTENSIONS.get(f".{extension.lower()}") if dot else None
    if expected == content_type:
        return filename
    if expected is not None:
        raise NotAccepted(f"có đuôi .{extension.lower()} nhưng nội dung là {LABELS[content_type]}")
    return _truncate(filename + CANONICAL_EXTENSION[content_type])
