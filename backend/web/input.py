"""What every request's input goes through before its handler: one place, so no route can forget it.

- Path parameters: a year outside YEARS, or any other integer outside PostgreSQL's `integer`, is a 404
  (a year 0 or 2147483648 reached `date()` or the database and answered 500); a control character in a
  text one is a 400.
- What PostgreSQL's text cannot hold (`UNSTORABLE`: NUL, which text and jsonb refuse, and a lone surrogate,
  which has no UTF-8) is refused with a 400 that names the field (`UnstorableInput`), before any service
  runs: in a path parameter, in a form value, in a JSON body's strings and keys, and in the API's query
  parameters. A page's query values are left to their routes (a sign-in's `next` with a NUL lands on the
  home page); one that still reaches PostgreSQL is a 400 (backend.web.errors).
- Form values (URL-encoded and multipart, files aside): the other control characters than tab and line
  breaks are removed. They are never typed on purpose (pasted from a word processor at most), so they are
  dropped rather than refused. Routes that read their own body as it streams (`opt={"reads_own_body": True}`,
  the evidence uploads) refuse a NUL in their few text fields and clean them with `clean_text` themselves.
"""

from __future__ import annotations

import json
import re
from typing import Any

from litestar import Request
from litestar.enums import RequestEncodingType
from litestar.exceptions import ClientException, NotFoundException
from litestar.utils.scope.state import ScopeState

from backend.web.api import is_api_path
from backend.web.errors import ClearRefusal

# Wide enough for every page's own answer about a year it has no data for (a Vietnamese 404 with a way
# out, a 422 from the API), narrow enough that no date arithmetic or database column overflows.
YEARS = range(1900, 2200)
INT4 = range(-(2**31), 2**31)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_FORMS = (RequestEncodingType.URL_ENCODED, RequestEncodingType.MULTI_PART)
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# The JSON escapes that may decode to an unstorable character (`\u0000`, half of a surrogate pair): only a body with
# one is decoded here (a pair decodes to one character and passes).
_ESCAPED = re.compile(rb"\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})")


def unstorable_message(field: str | None = None) -> str:
    """The Vietnamese refusal of a value PostgreSQL cannot hold (`field`: where, when the message is not next to it)."""
    where = f" ở «{field}»" if field else ""
    return (
        f"Dữ liệu gửi lên có ký tự không lưu được{where} (ký tự NUL hoặc mã Unicode không hợp lệ). "
        "Hãy xoá ký tự đó rồi gửi lại; chưa có gì được lưu."
    )


class UnstorableInput(ClearRefusal):
    """A value PostgreSQL's text cannot hold: 400, naming the field (the API's `field`, in the page's message)."""

    def __init__(self, field: str | None) -> None:
        self.field = field or None
        super().__init__(detail=unstorable_message(self.field), status_code=400)


def unstorable_at(value: Any, path: str = "") -> str | None:
    """Where in a decoded JSON value (keys included) a string PostgreSQL cannot hold is, as `items[0].note` ("" for
    the value itself; a bad key is its object's fault), or None: nowhere."""
    if isinstance(value, str):
        return path if UNSTORABLE.search(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            if UNSTORABLE.search(str(key)):
                return path
            found = unstorable_at(item, f"{path}.{key}" if path else str(key))
            if found is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = unstorable_at(item, f"{path}[{index}]")
            if found is not None:
                return found
    return None


def clean_text(value: str) -> str:
    """`value` without NUL and the other control characters (tab, CR and LF stay)."""
    return _CONTROL.sub("", value)


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, list):
        return [_clean(item) for item in value]
    return value  # an UploadFile: its name is never stored as sent


async def check_request_input(request: Request[Any, Any, Any]) -> None:
    """The app's `before_request` hook (see the module docstring)."""
    for name, value in request.path_params.items():
        if isinstance(value, int) and not isinstance(value, bool):
            if value not in (YEARS if name == "year" else INT4):
                raise NotFoundException(f"Không có {'năm' if name == 'year' else 'mục'} {value}.")
        elif isinstance(value, str) and UNSTORABLE.search(value):
            raise UnstorableInput(name)
        elif isinstance(value, str) and value != clean_text(value):
            raise ClientException("Địa chỉ có ký tự không hợp lệ.")
    if is_api_path(request.url.path):
        for name, value in request.query_params.multi_items():
            if UNSTORABLE.search(name) or UNSTORABLE.search(value):
                raise UnstorableInput(None if UNSTORABLE.search(name) else name)
    if request.method in ("GET", "HEAD", "OPTIONS") or request.route_handler.opt.get("reads_own_body"):
        return
    if request.content_type[0] in _FORMS:
        await _check_form(request)
    elif "data" in request.route_handler.parsed_fn_signature.parameters:
        await _check_json(request)


async def _check_form(request: Request[Any, Any, Any]) -> None:
    # Parsed by a request object of its own: Litestar keeps the parsed form in the connection's state, where
    # the handler's request (which has not read it yet) then finds the cleaned values.
    await Request[Any, Any, Any](request.scope, receive=request.receive).form()
    state = ScopeState.from_scope(request.scope)
    if not isinstance(state.form, dict):
        return
    for key, value in state.form.items():
        if UNSTORABLE.search(key):
            raise UnstorableInput(None)
        values = value if isinstance(value, list) else [value]
        if any(isinstance(item, str) and UNSTORABLE.search(item) for item in values):
            raise UnstorableInput(key)
    state.form = {key: _clean(value) for key, value in state.form.items()}


async def _check_json(request: Request[Any, Any, Any]) -> None:
    """A body the handler decodes as JSON (Litestar keeps the body read here for it). Only a body with an escape
    that may decode to an unstorable character is decoded here; one that is no JSON is left to the handler."""
    body = await request.body()
    if not _ESCAPED.search(body):
        return
    try:  # Python's decoder: msgspec's refuses a lone surrogate without saying where
        decoded = json.loads(body)
    except ValueError:
        return
    found = unstorable_at(decoded)
    if found is not None:
        raise UnstorableInput(found)
