"""The HTML pages of the development identity provider (DEVELOPMENT AND TESTS ONLY, never in production).

Plain semantic HTML with one small stylesheet served by the provider itself: no script, no inline style,
so the pages work under `default-src 'self'`. Every value is escaped here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from html import escape
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from backend.devidp.stores import DevPerson, DevProvince

STYLESHEET_PATH = "/_static/devidp.css"  # a province code cannot start with "_": no clash with an issuer
STYLESHEET = """\
body { font-family: system-ui, sans-serif; max-width: 56rem; margin: 1.5rem auto; padding: 0 1rem;
       color: #1a1a1a; line-height: 1.45; }
h1 { font-size: 1.4rem; }
h2 { font-size: 1.1rem; margin-top: 1.5rem; border-bottom: 1px solid #ccc; }
.canh-bao { background: #fff3b0; border: 2px solid #d4a600; padding: .6rem .9rem; font-weight: 600; }
.loi { background: #fde2e1; border: 2px solid #b3261e; padding: .6rem .9rem; }
ul.nguoi { list-style: none; padding: 0; }
ul.nguoi li { display: flex; flex-wrap: wrap; gap: .3rem 1rem; align-items: center; padding: .45rem .3rem;
              border-bottom: 1px solid #eee; }
ul.nguoi li.goi-y { background: #e6f4ea; outline: 2px solid #2e7d32; }
.ten { font-weight: 600; min-width: 14rem; }
.email { font-family: ui-monospace, monospace; font-size: .9rem; min-width: 18rem; }
.vai-tro { color: #444; flex: 1; }
button { font: inherit; padding: .3rem .8rem; cursor: pointer; }
.tu-choi { margin-top: 2rem; }
dl.yeu-cau { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; font-size: .9rem; }
dl.yeu-cau dt { color: #555; }
dl.yeu-cau dd { margin: 0; font-family: ui-monospace, monospace; word-break: break-all; }
"""

ROLE_LABELS = {
    "platform_admin": "Quản trị hệ thống",
    "province_admin": "Quản trị cấp tỉnh",
    "province_reviewer": "Thẩm định viên (Sở Nội vụ)",
    "tenant_admin": "Quản trị sở",
    "focal_point": "Đầu mối CCHC",
    "unit_head": "Trưởng phòng, đơn vị",
    "staff": "Chuyên viên",
    "leader": "Lãnh đạo sở",
    "viewer": "Người xem",
}
NOTICE = (
    "Chỉ dùng khi phát triển và kiểm thử: đây không phải hệ thống đăng nhập thật. Mọi người dùng dưới đây "
    "là nhân vật hư cấu, không cần mật khẩu. Không bao giờ dùng nhà cung cấp này trong môi trường thật."
)


def role_label(role: str) -> str:
    """`tenant_admin, focal_point` → `Quản trị sở, Đầu mối CCHC` (an unknown role is shown as it is)."""
    return ", ".join(ROLE_LABELS.get(part.strip(), part.strip()) for part in role.split(",") if part.strip())


def _page(title: str, body: str) -> str:
    return (
        "<!doctype html>\n"
        '<html lang="vi">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="robots" content="noindex">\n'
        f"<title>{escape(title)}</title>\n"
        f'<link rel="stylesheet" href="{STYLESHEET_PATH}">\n'
        "</head>\n<body>\n<main>\n"
        f"<h1>{escape(title)}</h1>\n"
        f'<p class="canh-bao" role="note">{escape(NOTICE)}</p>\n'
        f"{body}\n</main>\n</body>\n</html>\n"
    )


def _hidden(params: Mapping[str, str]) -> str:
    return "".join(
        f'<input type="hidden" name="{escape(name)}" value="{escape(value)}">' for name, value in params.items()
    )


def _title(province: DevProvince) -> str:
    return f"Nhà cung cấp định danh phát triển — {province.name}"


def login_page(
    province: DevProvince,
    params: Mapping[str, str],
    *,
    client_id: str,
    redirect_uri: str,
    login_hint: str | None,
) -> str:
    """The people of `province` grouped by tenant, each a button that signs in as them; and "Từ chối"."""
    action = f"/{escape(province.code)}/authorize"
    hidden = _hidden(params)
    hint = (login_hint or "").strip().lower()
    groups: dict[str, tuple[str, list[DevPerson]]] = {}
    for person in province.people:
        groups.setdefault(person.tenant_code, (person.tenant_name, []))[1].append(person)
    sections: list[str] = []
    for tenant_code, (tenant_name, people) in groups.items():
        items: list[str] = []
        for person in people:
            hinted = bool(hint) and person.email.lower() == hint
            li = '<li class="goi-y">' if hinted else "<li>"
            autofocus = " autofocus" if hinted else ""
            items.append(
                f"{li}"
                f'<span class="ten">{escape(person.name)}</span>'
                f'<span class="email">{escape(person.email)}</span>'
                f'<span class="vai-tro">{escape(role_label(person.role))}'
                f"{' — <strong>gợi ý đăng nhập</strong>' if hinted else ''}</span>"
                f'<form method="post" action="{action}">{hidden}'
                f'<input type="hidden" name="agency" value="{escape(person.tenant_code)}">'
                f'<button type="submit" name="sub" value="{escape(person.sub)}"{autofocus}>'
                f"Đăng nhập với tư cách {escape(person.name)}</button></form></li>"
            )
        sections.append(
            f'<section aria-labelledby="so-{escape(tenant_code)}">'
            f'<h2 id="so-{escape(tenant_code)}">{escape(tenant_name)}</h2>'
            f'<ul class="nguoi">{"".join(items)}</ul></section>'
        )
    if not sections:
        sections.append("<p>Tỉnh này chưa có người dùng mẫu (demo_people) nào trong tenants/*/province.yaml.</p>")
    request = (
        '<dl class="yeu-cau">'
        f"<dt>Ứng dụng (client_id)</dt><dd>{escape(client_id)}</dd>"
        f"<dt>Quay lại</dt><dd>{escape(redirect_uri)}</dd>"
        "</dl>"
    )
    deny = (
        f'<form class="tu-choi" method="post" action="{action}">{hidden}'
        '<button type="submit" name="action" value="deny">Từ chối</button></form>'
    )
    body = f"<p>Chọn người dùng mẫu để đăng nhập vào ứng dụng.</p>{request}{''.join(sections)}{deny}"
    return _page(_title(province), body)


def error_page(title: str, message: str) -> str:
    return _page(title, f'<p class="loi" role="alert">{escape(message)}</p>')


def logged_out_page(province: DevProvince) -> str:
    return _page(
        "Bạn đã đăng xuất",
        f"<p>Bạn đã đăng xuất khỏi nhà cung cấp định danh phát triển của {escape(province.name)}. "
        "Có thể đóng trang này.</p>",
    )


def index_page(issuers: Iterable[tuple[DevProvince, str]]) -> str:
    items = "".join(
        f"<li>{escape(province.name)}: issuer <code>{escape(issuer)}</code> — "
        f'<a href="/{escape(province.code)}/.well-known/openid-configuration">openid-configuration</a>, '
        f"{len(province.people)} người dùng mẫu</li>"
        for province, issuer in issuers
    )
    return _page("Nhà cung cấp định danh phát triển", f"<p>Mỗi tỉnh là một issuer riêng:</p><ul>{items}</ul>")
