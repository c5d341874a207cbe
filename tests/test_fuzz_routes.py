"""Every registered route, fed generated bad values (hypothesis): path parameters, query strings, form and
JSON bodies, with and without htmx's headers, signed in as a focal point of a demo tenant and anonymous.
No answer may be a server error (≥ 500): bad input gets a clear answer, never a 500.

Routes are drawn from the full walk of `app.routes`; `max_examples` bounds the whole test (set
PARBOARD_FUZZ_EXAMPLES higher for a longer hunt).
Form bodies carry fields the application reads (every name a handler takes from a form or a template
offers) plus junk names, with the CSRF token of the session so unsafe requests reach their handler.
"""

from __future__ import annotations

import os
import re
import string
from dataclasses import dataclass
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar import Litestar
from litestar.handlers import HTTPRouteHandler
from litestar.routes import HTTPRoute
from litestar.testing import AsyncTestClient

from backend.settings import PROJECT_ROOT
from tests.fixtures.csrf import csrf_token
from tests.support import sign_in

pytestmark = pytest.mark.usefixtures("demo_tenants")

FOCAL_POINT = "lan.nt@stnmt.brvt.example.vn"  # Đầu mối CCHC of BRVT's Sở TN&MT: admin, board, evidence, submission
PROVINCES = ["ba-ria-vung-tau", "ha-tinh"]
TENANTS = ["so-tai-nguyen-moi-truong", "so-noi-vu"]
SIGN_OUT = "/dang-xuat"  # would end the focal point's session mid-run; fuzzed anonymously only
# Each example sends BATCH requests to routes drawn from all of them: EXAMPLES × BATCH requests per identity
# (a full walk of every route per example took minutes on a shared machine; each run draws other routes).
EXAMPLES = int(os.environ.get("PARBOARD_FUZZ_EXAMPLES", "10"))
BATCH = 5
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    # the same examples on every run, so CI is reproducible; PARBOARD_FUZZ_EXAMPLES=N hunts further
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
PARAM = re.compile(r"\{(\w+):(\w+)\}")


@dataclass(frozen=True)
class Route:
    method: str
    path: str


def every_route(app: Litestar) -> list[Route]:
    found = set()
    for route in app.routes:
        assert isinstance(route, HTTPRoute), route.path  # a websocket or ASGI route would need fuzzing of its own
        for handler in route.route_handlers:
            assert isinstance(handler, HTTPRouteHandler)
            for method in handler.http_methods - {"OPTIONS", "HEAD"}:
                found.add(Route(method, route.path))
    return sorted(found, key=lambda r: (r.path, r.method))


def _known_field_names() -> list[str]:
    """Every form field name a handler reads or a template offers."""
    names: set[str] = set()
    for source in (PROJECT_ROOT / "backend").rglob("*.py"):
        names.update(re.findall(r'form(?:\.get|\.getall|\[)\(?"([A-Za-z_][\w-]*)"', source.read_text()))
    for template in (PROJECT_ROOT / "templates").rglob("*.html"):
        names.update(re.findall(r'name="([A-Za-z_][\w-]*)"', template.read_text()))
    names.discard("_csrf_token")
    return sorted(names)


FIELDS = _known_field_names()

EDGE_VALUES = [
    "",
    "0",
    "-1",
    "2147483648",
    "-2147483649",
    "9223372036854775808",
    "1e309",
    "NaN",
    "-0",
    "1,5",
    "3.14",
    "../",
    "../../etc/passwd",
    "..\\..\\windows",
    "\x00",
    "a\x00b",
    "\x1b[31m",
    "\r\nSet-Cookie: x=1",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "%00",
    "%ff",
    "\ud7ff\ufffe",
    "Quyết định số 640/QĐ-UBND",
    "00000000-0000-0000-0000-000000000000",
    "true",
    "null",
    "[]",
    "{}",
]
bad_text = st.one_of(
    st.sampled_from(EDGE_VALUES),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.text(max_size=30),  # any unicode, NUL and control characters included
    st.text(alphabet=string.printable, max_size=30),
    st.integers(min_value=256, max_value=5000).map(lambda n: "x" * n),
    st.uuids().map(str),
)
# the framework's own converters: an int parameter only ever receives a number, a uuid one a uuid
bad_int = st.one_of(
    st.sampled_from([0, -1, 1, 2026, 2147483647, 2147483648, -2147483649, 9999, 10**12, 2**63, 10**30]),
    st.integers(min_value=-(2**70), max_value=2**70),
).map(str)


def path_value(name: str, kind: str) -> st.SearchStrategy[str]:
    if kind == "int":
        return st.one_of(bad_int, bad_text.map(lambda v: quote(v, safe="")))
    if kind == "path":
        return bad_text.map(lambda v: quote(v, safe="/"))
    strategy = bad_text
    if name == "province_code":
        strategy = st.one_of(st.sampled_from(PROVINCES), bad_text)
    elif name == "tenant_code":
        strategy = st.one_of(st.sampled_from(TENANTS), bad_text)
    return strategy.map(lambda v: quote(v, safe=""))


form_body = st.dictionaries(st.one_of(st.sampled_from(FIELDS), st.text(max_size=12)), bad_text, max_size=6)
query = st.dictionaries(
    st.one_of(st.sampled_from([*FIELDS, "year", "page", "q"]), st.text(max_size=8)), bad_text, max_size=3
)
json_body = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False), bad_text),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(FIELDS), inner, max_size=4)),
    max_leaves=8,
)


async def _send(
    client: AsyncTestClient[Litestar], route: Route, csrf: str | None, data: st.DataObject
) -> tuple[str, int]:
    path = PARAM.sub(lambda m: data.draw(path_value(m.group(1), m.group(2))), route.path)
    headers = {"HX-Request": "true", "HX-Target": "main"} if data.draw(st.booleans()) else {}
    if csrf is not None:
        headers["X-CSRFToken"] = csrf
    params = data.draw(query)
    if params:  # encoded here: httpx refuses a raw control character in a query it is given as a dict
        path = f"{path}?{urlencode(params)}"
    if route.method in ("GET", "DELETE"):
        response = await client.request(route.method, path, headers=headers)
    else:
        shape = data.draw(st.sampled_from(["form", "json", "multipart"]))
        if shape == "json":
            response = await client.request(route.method, path, headers=headers, json=data.draw(json_body))
        else:
            form = {"_csrf_token": csrf or "", **data.draw(form_body)}
            files = None
            if shape == "multipart":
                name = data.draw(st.sampled_from(["files", "tep", *FIELDS]))
                filename = data.draw(st.sampled_from(["a.pdf", "../../x.pdf", "", "\x00.pdf", "x" * 300 + ".docx"]))
                files = {name: (filename, data.draw(st.binary(max_size=64)), "application/pdf")}
            response = await client.request(route.method, path, headers=headers, data=form, files=files)
    return f"{route.method} {path} {params!r}", response.status_code


def _idp_unreachable(route: Route, status: int) -> bool:
    """The demo provinces' identity providers are placeholders nobody serves in tests: starting a sign-in
    there answers 503 (the provider is unreachable), an operator's condition rather than bad input."""
    return status == 503 and route.path == "/auth/{province_code:str}/login"


async def _csrf_of(client: AsyncTestClient[Litestar]) -> str:
    return await csrf_token(client)


def test_the_walk_covers_pages_forms_and_the_api(app: Litestar) -> None:
    routes = every_route(app)
    methods = {r.method for r in routes}
    assert {"GET", "POST"} <= methods
    assert len([r for r in routes if r.path.startswith("/t/")]) > 50
    assert {"tep", "files", "email", "role"} <= set(FIELDS)


@FUZZ
@given(data=st.data())
async def test_no_route_answers_a_server_error_to_a_focal_point(
    app: Litestar, client: AsyncTestClient[Litestar], data: st.DataObject
) -> None:
    if not client.cookies.get("parboard_session"):
        await sign_in(client, FOCAL_POINT)
    csrf = await _csrf_of(client)
    errors = []
    routes = [route for route in every_route(app) if route.path != SIGN_OUT]
    for route in data.draw(st.lists(st.sampled_from(routes), min_size=BATCH, max_size=BATCH)):
        request, status = await _send(client, route, csrf, data)
        if status >= 500 and not _idp_unreachable(route, status):
            errors.append(f"{status} {request}")
    assert errors == []


@FUZZ
@given(data=st.data())
async def test_no_route_answers_a_server_error_to_an_anonymous_visitor(
    app: Litestar, client: AsyncTestClient[Litestar], data: st.DataObject
) -> None:
    csrf = await _csrf_of(client)
    errors = []
    for route in data.draw(st.lists(st.sampled_from(every_route(app)), min_size=BATCH, max_size=BATCH)):
        request, status = await _send(client, route, csrf, data)
        if status >= 500 and not _idp_unreachable(route, status):
            errors.append(f"{status} {request}")
    assert errors == []
