"""Jinja2 setup and page-or-fragment rendering (fragments are named blocks of the full page)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from jinja2_fragments.litestar import HTMXBlockTemplate
from litestar import Request
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Template
from litestar.response.base import ASGIResponse
from litestar.template.config import TemplateConfig

from backend.web.formatting import vn_date, vn_datetime, vn_number, vn_percent, vn_size, vn_typed

LABELS = {
    "lineage.rename": "đổi tên",
    "lineage.merge": "hợp nhất",
    "lineage.split": "chia tách",
    "lineage.move": "chuyển tỉnh",
    "lineage.province_merge": "sáp nhập tỉnh",
    "department": "Sở, ban, ngành",
    "home_affairs": "Sở Nội vụ",
    "commune": "Xã, phường",
    "office": "Văn phòng",
    "phong": "Phòng chuyên môn",
    "inspectorate": "Thanh tra",
    "chi_cuc": "Chi cục",
    "public_service": "Đơn vị sự nghiệp",
    "quy-1": "Báo cáo quý I",
    "6-thang": "Báo cáo 6 tháng",
    "quy-3": "Báo cáo quý III",
    "nam": "Báo cáo năm",
    "platform_admin": "Quản trị hệ thống",
    "province_admin": "Quản trị cấp tỉnh",
    "province_reviewer": "Thẩm định viên Sở Nội vụ",
    "tenant_admin": "Quản trị đơn vị",
    "focal_point": "Đầu mối CCHC (Văn phòng)",
    "unit_head": "Trưởng phòng, đơn vị",
    "staff": "Chuyên viên",
    "leader": "Lãnh đạo Sở",
    "viewer": "Người xem",
    "invite": "Mời thành viên",
    "revoke": "Huỷ lời mời",
    "change-role": "Đổi vai trò",
    "disable": "Khoá thành viên",
    "enable": "Mở khoá thành viên",
    "revoke-sessions": "Đăng xuất khỏi mọi thiết bị",
    "grant": "Cấp vai trò",
    "sync": "Đồng bộ cấu hình",
    "criteria.upload": "Tải lên bộ chỉ số",
    "external.enter": "Nhập điểm khảo sát, chỉ số",
    "assessment.start": "Bắt đầu tự đánh giá",
    "assessment.row": "Sửa điểm tự đánh giá",
    "assessment.gui-duyet": "Gửi lãnh đạo duyệt",
    "assessment.rut-lai": "Rút về dự thảo",
    "assessment.tra-lai": "Trả lại để sửa",
    "assessment.duyet": "Duyệt tự đánh giá",
    "assessment.mo-lai": "Mở lại tự đánh giá",
    "task.create": "Tạo nhiệm vụ",
    "task.update": "Sửa nhiệm vụ",
    "task.move": "Di chuyển nhiệm vụ",
    "task.checklist": "Việc cần làm",
    "task.comment": "Trao đổi",
    "plan.ngay-ket-qua": "Ngày có kết quả thẩm định",
    "plan.duyet": "Duyệt kế hoạch",
    "plan.mo-lai": "Mở lại kế hoạch",
    "plan.import": "Nhập kế hoạch từ tệp Excel",
    "report.save": "Lưu báo cáo định kỳ",
    "report.submit": "Nộp báo cáo định kỳ",
    "evidence.upload": "Tải lên tài liệu kiểm chứng",
    "evidence.delete": "Xoá tài liệu kiểm chứng",
    "submission.submit": "Nộp hồ sơ tự đánh giá",
    "submission.build": "Đóng gói hồ sơ",
    "submission.built": "Đã đóng gói hồ sơ",
    "submission.failed": "Đóng gói hồ sơ lỗi",
    "submission.retry": "Đóng gói lại hồ sơ",
    "submission.withdraw": "Rút hồ sơ",
    "review.decide": "Thẩm định tiêu chí",
    "review.request": "Yêu cầu bổ sung tài liệu",
    "review.answer": "Giải trình",
    "review.sign-off": "Ký duyệt tiêu chí",
    "review.assign": "Giao cơ quan thẩm định",
    "review.round-2": "Chuyển thẩm định vòng 2",
    "review.return": "Trả lại hồ sơ",
    "review.finalise": "Công bố kết quả thẩm định",
}


def jinja_environment(directory: Path, **options: Any) -> Environment:
    """The Jinja environment the templates in `directory` render in, the pages' and the mails' alike: HTML
    autoescaped, an undefined name an error, block tags trimmed; `options` add Jinja's others."""
    return Environment(
        loader=FileSystemLoader(directory),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        **options,
    )


def template_config(templates_dir: Path, *, globals_: dict[str, Any]) -> TemplateConfig[JinjaTemplateEngine]:
    environment = jinja_environment(templates_dir, auto_reload=False)
    environment.filters.update(
        vn_number=vn_number,
        vn_percent=vn_percent,
        vn_date=vn_date,
        vn_datetime=vn_datetime,
        vn_size=vn_size,
        vn_typed=vn_typed,
    )
    environment.globals.update(label=lambda key: LABELS.get(str(key), str(key)), **globals_)
    return TemplateConfig(instance=JinjaTemplateEngine.from_environment(environment))


SPLICE = "<!--parboard:splice-->"
_SPLICE = SPLICE.encode()


class _Spliced:
    """A page with one large part already rendered and encoded (a whole board, cached between changes): the
    template renders `SPLICE` where the part goes, and the part's bytes are joined in afterwards, so the
    half-megabyte is neither escaped, nor joined by Jinja, nor encoded again on every request."""

    def __init__(self, *, part: bytes, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.part = part

    def to_asgi_response(self, *args: Any, **kwargs: Any) -> ASGIResponse:
        response: ASGIResponse = super().to_asgi_response(*args, **kwargs)  # type: ignore[misc]
        head, marker, tail = response.body.partition(_SPLICE)
        if marker:
            response.body = b"".join((head, self.part, tail))
            response.content_length = len(response.body)
            response.headers["content-length"] = str(response.content_length)
        return response


class SplicedTemplate(_Spliced, Template):
    pass


class SplicedBlockTemplate(_Spliced, HTMXBlockTemplate):
    pass


def page(
    request: Request[Any, Any, Any],
    template: str,
    *,
    block: str | None = None,
    splice: bytes | None = None,
    status_code: int = 200,
    **context: Any,
) -> Template:
    """The whole page, or only `block` of it when htmx asks; `Vary: HX-Request` either way. With `splice`,
    those bytes replace the `SPLICE` marker the template renders (see `SplicedTemplate`).

    A refused form answers with its page again, the errors beside their fields and what was typed kept:
    `page(..., errors=..., status_code=422)` (409 for a stale edit), never a redirect that would lose them."""
    headers = {"Vary": "HX-Request"}
    if block is not None and request.headers.get("hx-request") == "true":
        if splice is not None:
            return SplicedBlockTemplate(
                part=splice,
                template_name=template,
                block_name=block,
                context=context,
                headers=headers,
                status_code=status_code,
            )
        return HTMXBlockTemplate(
            template_name=template, block_name=block, context=context, headers=headers, status_code=status_code
        )
    if splice is not None:
        return SplicedTemplate(
            part=splice, template_name=template, context=context, headers=headers, status_code=status_code
        )
    return Template(template_name=template, context=context, headers=headers, status_code=status_code)
