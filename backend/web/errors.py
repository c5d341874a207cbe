"""Error pages in Vietnamese (HTML for people, JSON for API clients); never a raw traceback."""

from __future__ import annotations

from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.response import Template
from sqlalchemy.exc import DBAPIError

from backend.logging import get_logger

log = get_logger("parboard.errors")

MESSAGES: dict[int, tuple[str, str]] = {
    400: ("Yêu cầu không hợp lệ", "Dữ liệu gửi lên không hợp lệ. Vui lòng kiểm tra lại và thử lại."),
    401: ("Cần đăng nhập", "Vui lòng đăng nhập bằng tài khoản của tỉnh để tiếp tục."),
    403: (
        "Không có quyền truy cập",
        "Tài khoản của bạn không có quyền xem trang này. Liên hệ quản trị viên của đơn vị để được cấp quyền.",
    ),
    404: ("Không tìm thấy trang", "Trang bạn tìm không tồn tại hoặc đã được chuyển đi."),
    405: ("Phương thức không được hỗ trợ", "Thao tác này không được hỗ trợ tại địa chỉ này."),
    409: (
        "Dữ liệu vừa thay đổi",
        "Dữ liệu gửi lên xung đột với dữ liệu vừa được lưu (có thể có người khác thao tác cùng lúc). "
        "Chưa có gì được lưu: hãy tải lại trang và thử lại.",
    ),
    423: ("Đơn vị đã lưu trữ", "Đơn vị này đã được sắp xếp lại: hồ sơ chỉ còn để xem, không sửa được nữa."),
    413: ("Dữ liệu quá lớn", "Dữ liệu gửi lên vượt quá giới hạn cho phép."),
    429: ("Quá nhiều yêu cầu", "Bạn đã gửi quá nhiều yêu cầu. Vui lòng thử lại sau ít phút."),
    500: (
        "Đã xảy ra lỗi hệ thống",
        "Hệ thống gặp sự cố ngoài dự kiến. Dữ liệu của bạn không bị thay đổi. Vui lòng thử lại; "
        "nếu lỗi lặp lại, gửi mã tham chiếu bên dưới cho bộ phận hỗ trợ.",
    ),
    503: ("Dịch vụ tạm thời gián đoạn", "Hệ thống đang bảo trì hoặc quá tải. Vui lòng thử lại sau."),
}


def _wants_json(request: Request[Any, Any, Any]) -> bool:
    if request.url.path.startswith("/api/") or request.headers.get("authorization", "").lower().startswith("bearer "):
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


class ClearRefusal(HTTPException):
    """A refusal whose `detail` (Vietnamese, for people) is the page's message, not the status's usual one."""


def _respond(
    request: Request[Any, Any, Any], status: int, detail: str | None = None, *, page_detail: bool = False
) -> Response[Any]:
    title, message = MESSAGES.get(status, MESSAGES[500] if status >= 500 else MESSAGES[400])
    if page_detail and detail:
        message = detail
    request_id = str(request.scope.get("parboard_request_id", ""))
    if _wants_json(request):
        return Response(
            {"status_code": status, "title": title, "detail": detail or message, "request_id": request_id},
            status_code=status,
            media_type=MediaType.JSON,
        )
    return Template(
        template_name="errors/error.html",
        context={"status": status, "title": title, "message": message, "request_id": request_id},
        status_code=status,
        media_type=MediaType.HTML,
    )


def http_exception_handler(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    detail = None
    if isinstance(exc, ValidationException):
        detail = "Dữ liệu không hợp lệ"
    if isinstance(exc, ClearRefusal):
        return _respond(request, exc.status_code, exc.detail, page_detail=True)
    return _respond(request, exc.status_code, detail)


def refused_input_status(exc: DBAPIError) -> int | None:
    """The status of a database error the request's input caused, or None (ours: a 500). PostgreSQL's data
    exceptions (SQLSTATE class 22, e.g. a value no column type holds) are a 400; an integrity violation (class 23:
    a duplicate, a row a concurrent request removed) and a serialization failure or deadlock are a 409, whether
    raised by a statement or by the commit."""
    sqlstate = str(getattr(exc.orig, "sqlstate", "") or "")
    if sqlstate.startswith("22"):
        return 400
    if sqlstate.startswith("23") or sqlstate in ("40001", "40P01"):
        return 409
    return None


def database_error_handler(request: Request[Any, Any, Any], exc: DBAPIError) -> Response[Any]:
    """A database error the input caused (`refused_input_status`) is a 4xx, never a 500, and nothing is saved."""
    status = refused_input_status(exc)
    if status is not None:
        log.warning("rejected input", path=request.url.path, sqlstate=getattr(exc.orig, "sqlstate", None))
        return _respond(request, status)
    return internal_error_handler(request, exc)


def undecodable_input_handler(request: Request[Any, Any, Any], exc: UnicodeDecodeError) -> Response[Any]:
    """A multipart text field that is not UTF-8: Litestar decodes it unguarded, wherever the form is read first (the
    CSRF check, the input hook, a handler), which answered 500. The input's fault: a 400."""
    log.warning("undecodable form field", path=request.url.path, reason=exc.reason)
    return _respond(request, 400)


def internal_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("unhandled error", path=request.url.path, error=type(exc).__name__)
    return _respond(request, 500)


EXCEPTION_HANDLERS: dict[int | type[Exception], Any] = {
    HTTPException: http_exception_handler,
    DBAPIError: database_error_handler,
    UnicodeDecodeError: undecodable_input_handler,
    500: internal_error_handler,
    Exception: internal_error_handler,
}
