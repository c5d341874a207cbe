"""What every request's input goes through before its handler: one place, so no route can forget it.

- Path parameters: a year outside YEARS, or any other integer outside PostgreSQL's `integer`, is a 404
  (a year 0 or 2147483648 reached `date()` or the database and answered 500); a control character in a
  text one is a 400.
- Query values are left to their routes (a sign-in's `next` with a NUL lands on the home page); one that
  reaches PostgreSQL with a NUL is a 400 (backend.web.errors).
- Form values (URL-encoded and multipart, files aside): control characters other than tab and line
  breaks are removed. PostgreSQL's text and JSON refuse NUL (the audit log's JSON included), and the others
  are never typed on purpose (pasted from a word processor at most), so they are dropped rather than refused.
  Routes that read their own body as it streams (`opt={"reads_own_body": True}`, the evidence uploads)
  clean their few text fields with `clean_text` themselves.
"""

from __future__ import annotations

import re
from typing import Any

from litestar import Request
from litestar.enums import RequestEncodingType
from litestar.exceptions import ClientException, NotFoundException
from litestar.utils.scope.state import ScopeState

# Wide enough for every page's own answer about a year it has no data for (a Vietnamese 404 with a way
# out, a 422 from the API), narrow enough that no date arithmetic or database column overflows.
YEARS = range(1900, 2200)
INT4 = range(-(2**31), 2**31)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_FORMS = (RequestEncodingType.URL_ENCODED, RequestEncodingType.MULTI_PART)


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
        elif isinstance(value, str) and value != clean_text(value):
            raise ClientException("Địa chỉ có ký tự không hợp lệ.")
    if request.method in ("GET", "HEAD", "OPTIONS") or request.route_handler.opt.get("reads_own_body"):
        return
    if request.content_type[0] not in _FORMS:
        return
    # Parsed by a request object of its own: Litestar keeps the parsed form in the connection's state, where
    # the handler's request (which has not read it yet) then finds the cleaned values.
    await Request[Any, Any, Any](request.scope, receive=request.receive).form()
    state = ScopeState.from_scope(request.scope)
    if isinstance(state.form, dict):
        state.form = {key: _clean(value) for key, value in state.form.items()}
