"""The JSON API's base (`/api/v1`): one error shape, its exception handlers, and cursor pagination.

Every error under `/api/v1` answers `{"code", "message", "field"}` (`ApiError`): `code` is stable and meant for
programs, `message` is Vietnamese and meant for people, `field` names the input at fault (or is null). A stale
version answers 409 with the fresh object next to the error (`ApiConflict`). The handlers are registered on the
API's router only: the pages keep their HTML error pages (backend.web.errors), and the app-level handlers hand
an `/api/v1` path they see (no route matched, a method not allowed) back here.

Lists are paged by an opaque cursor (`encode_cursor`/`decode_cursor`, `page_of`): the client sends back the
`next_cursor` it received, `limit` is bounded, and a walk sees every row exactly once.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Annotated, Any, Final, TypeVar

import msgspec
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIMediaType, Operation, RequestBody, Schema
from litestar.params import QueryParameter
from sqlalchemy.exc import DBAPIError

from backend.logging import get_logger
from backend.web.errors import MESSAGES, ClearRefusal, refused_input_status

log = get_logger("parboard.api")

API_PREFIX: Final = "/api/v1"
T = TypeVar("T")
R = TypeVar("R")

# The stable codes, by status: programs branch on these, never on the message.
CODES: Final[dict[int, str]] = {
    400: "invalid_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    423: "archived",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}


class ApiError(msgspec.Struct, kw_only=True):
    """An error of the API: a stable `code`, a Vietnamese `message`, and the input `field` at fault (or null)."""

    code: str
    message: str
    field: str | None = None


class ApiProblem(HTTPException):
    """An error an API operation raises with its own code, message and field (e.g. a rule of a service)."""

    status_code = 422

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None, status: int = 422) -> None:
        super().__init__(detail=message, status_code=status)
        self.field = field
        self.code = code or CODES.get(status, "invalid")


STALE: Final = "Dữ liệu đã được người khác thay đổi; hãy xem bản mới nhất và thử lại."


class ApiConflict(HTTPException):
    """A write on a stale version: 409 with the fresh object (`current`, an API model) for the client to retry."""

    status_code = 409

    def __init__(self, current: Any, message: str = STALE) -> None:
        super().__init__(detail=message, status_code=409)
        self.current = current


_MISSING = re.compile(r"missing required field `([^`]+)`")


def _public_name(request: Request[Any, Any, Any], key: str) -> str:
    """A parameter's name as the client sends it (`QueryParameter(name="don-vi")`), not the handler's argument."""
    parameter = request.route_handler.parsed_fn_signature.parameters.get(key)
    alias = getattr(getattr(parameter, "kwarg_definition", None), "name", None)
    return alias if isinstance(alias, str) and alias else key


def _validation_error(request: Request[Any, Any, Any], exc: ValidationException) -> tuple[str, str | None]:
    """A Vietnamese message and the field from Litestar's validation failure (its messages are msgspec's English)."""
    extra = exc.extra if isinstance(exc.extra, list) else []
    first = extra[0] if extra and isinstance(extra[0], dict) else {}
    raw = str(first.get("message", ""))
    key = _public_name(request, str(first.get("key", ""))) or None
    if key == "data":  # the body as a whole
        key = None
    if missing := _MISSING.search(raw):
        field = f"{key}.{missing.group(1)}" if key else missing.group(1)
        return f"Thiếu trường bắt buộc «{field}».", field
    if first.get("source") == "body" and not first.get("key") and "JSON" in raw:
        return "Nội dung gửi lên không phải JSON hợp lệ.", None
    if key:
        return f"Giá trị của «{key}» không hợp lệ.", key
    return "Dữ liệu gửi lên không hợp lệ.", None


def _message(status: int, detail: str) -> str:
    """Our own details are Vietnamese; Litestar's own (English, e.g. "Not Found" or a CSRF failure) are
    replaced by the status's Vietnamese message."""
    if detail and not detail.isascii():
        return detail
    return MESSAGES.get(status, MESSAGES[500] if status >= 500 else MESSAGES[400])[1]


def error_response(status: int, error: ApiError, **extra: Any) -> Response[Any]:
    content = {**msgspec.structs.asdict(error), **extra}
    return Response(content, status_code=status, media_type=MediaType.JSON)


def api_exception_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Every exception under `/api/v1` as an `ApiError` (a 409 with `current` too); never a traceback."""
    if isinstance(exc, ApiConflict):
        error = ApiError(code=CODES[409], message=_message(409, exc.detail))
        return error_response(409, error, current=exc.current)
    if isinstance(exc, ApiProblem):
        return error_response(exc.status_code, ApiError(code=exc.code, message=exc.detail, field=exc.field))
    if isinstance(exc, ValidationException):
        message, field = _validation_error(request, exc)
        return error_response(400, ApiError(code=CODES[400], message=message, field=field))
    if isinstance(exc, HTTPException) and exc.status_code == 400 and exc.detail.startswith("JSON is malformed"):
        return error_response(400, ApiError(code=CODES[400], message="Nội dung gửi lên không phải JSON hợp lệ."))
    if isinstance(exc, HTTPException):
        status = exc.status_code
        message = exc.detail if isinstance(exc, ClearRefusal) else _message(status, exc.detail)
        code = CODES.get(status, "error" if status < 500 else "internal_error")
        headers = exc.headers or None
        field = getattr(exc, "field", None)  # an input's refusal names it (backend.web.input)
        response = error_response(status, ApiError(code=code, message=message, field=field))
        if headers:
            response.headers.update(headers)
        return response
    if isinstance(exc, UnicodeDecodeError):  # a multipart text field not in UTF-8 (see backend.web.errors)
        log.warning("undecodable form field", path=request.url.path, reason=exc.reason)
        message = "Dữ liệu gửi lên không phải văn bản UTF-8 hợp lệ."
        return error_response(400, ApiError(code=CODES[400], message=message))
    if isinstance(exc, DBAPIError) and (refused := refused_input_status(exc)) is not None:
        log.warning("rejected input", path=request.url.path, sqlstate=getattr(exc.orig, "sqlstate", None))
        return error_response(refused, ApiError(code=CODES[refused], message=MESSAGES[refused][1]))
    log.exception("unhandled error", path=request.url.path, error=type(exc).__name__)
    return error_response(500, ApiError(code=CODES[500], message=MESSAGES[500][1]))


API_EXCEPTION_HANDLERS: Final[dict[int | type[Exception], Any]] = {Exception: api_exception_handler}


def is_api_path(path: str) -> bool:
    return path == API_PREFIX or path.startswith(API_PREFIX + "/")


def delegating_to_api(handler: Callable[[Request[Any, Any, Any], Any], Response[Any]]) -> Any:
    """An app-level exception handler that leaves `/api/v1` paths to `api_exception_handler`: the router
    answers an unknown path or method before any route (and so the API router's handlers) is reached."""

    def handle(request: Request[Any, Any, Any], exc: Any) -> Response[Any]:
        if is_api_path(request.url.path):
            return api_exception_handler(request, exc)
        return handler(request, exc)

    return handle


def with_api_errors(handlers: dict[int | type[Exception], Any]) -> dict[int | type[Exception], Any]:
    return {key: delegating_to_api(handler) for key, handler in handlers.items()}


DESCRIPTIONS: Final[dict[int, str]] = {
    400: "Dữ liệu gửi lên không đúng định dạng (trường sai hoặc thiếu)",
    401: "Cần đăng nhập",
    403: "Không có quyền",
    404: "Không tìm thấy (hoặc thuộc đơn vị khác)",
    # the fresh object (`current`) when the version was stale; absent when the database refused a concurrent change
    409: "Dữ liệu đã thay đổi: kèm bản mới nhất (`current`) khi có; không kèm thì đọc lại",
    422: "Dữ liệu không hợp lệ theo quy tắc nghiệp vụ",
    423: "Đơn vị đã lưu trữ: chỉ còn để xem",
    429: "Quá nhiều yêu cầu",
}


def error_responses(*extra: tuple[int, type[ApiError]]) -> dict[int, ResponseSpec]:
    """The `responses=` of an API operation: its errors documented with the `ApiError` shape (a 409 with its
    own model, a subclass of ApiError with `current`)."""
    specs = {
        status: ResponseSpec(data_container=ApiError, description=DESCRIPTIONS[status], generate_examples=False)
        for status in (400, 401, 403, 404, 422, 423, 429)
    }
    for status, model in extra:
        specs[status] = ResponseSpec(
            data_container=model,
            description=DESCRIPTIONS.get(status, HTTPStatus(status).phrase),
            generate_examples=False,
        )
    return specs


def multipart_operation(description: str, form: Schema) -> type[Operation]:
    """The `operation_class=` of an operation that streams its own multipart body (no `data` argument Litestar could
    describe): its `multipart/form-data` body with `form`'s fields, for a client generator and the schema fuzz."""

    @dataclass
    class MultipartOperation(Operation):
        def __post_init__(self) -> None:
            content = {"multipart/form-data": OpenAPIMediaType(schema=form)}
            self.request_body = RequestBody(required=True, description=description, content=content)

    return MultipartOperation


# --- cursor pagination ---

MAX_LIMIT: Final = 200
DEFAULT_LIMIT: Final = 50
LIMIT_DESCRIPTION: Final = f"số mục một trang (1–{MAX_LIMIT})"
Limit = Annotated[int, QueryParameter(name="limit", ge=1, le=MAX_LIMIT, description=LIMIT_DESCRIPTION)]
Cursor = Annotated[
    str | None,
    QueryParameter(name="cursor", max_length=512, description="`next_cursor` của trang trước; bỏ trống ở trang đầu"),
]


def encode_cursor(*values: Any) -> str:
    """An opaque cursor of the last row's sort key (any values msgspec encodes: str, int, UUID, date, Decimal)."""
    return base64.urlsafe_b64encode(msgspec.json.encode(values)).rstrip(b"=").decode()


def decode_cursor(cursor: str, key_type: type[T]) -> T:
    """The sort key a cursor carries, typed as `key_type` (a tuple type); a cursor not ours is a 400 on `cursor`."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        return msgspec.json.decode(raw, type=key_type)
    except (binascii.Error, ValueError, msgspec.DecodeError, msgspec.ValidationError):
        raise ApiProblem("Con trỏ phân trang không hợp lệ.", field="cursor", status=400) from None


def page_of(rows: Sequence[R], limit: int, key: Callable[[R], tuple[Any, ...]]) -> tuple[list[R], str | None]:
    """A page from `rows` fetched as `limit + 1` in the sort order: the first `limit`, and the cursor after the
    last of them when there was one more (else None: the walk is complete)."""
    items = list(rows[:limit])
    if len(rows) <= limit or not items:
        return items, None
    return items, encode_cursor(*key(items[-1]))
