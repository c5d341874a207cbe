"""Bytes on the wire: pages compressed with brotli (gzip for clients without it), binary answers untouched,
static files under content-hashed URLs, pre-compressed and cached for a year."""

from __future__ import annotations

import gzip
import re

import brotli
from litestar import Litestar, get
from litestar.testing import AsyncTestClient

from backend.settings import PROJECT_ROOT
from backend.web.compression import Assets, compression_config, compression_middleware


async def test_a_page_is_sent_with_brotli_to_a_browser_that_takes_it(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get("/", headers={"accept-encoding": "gzip, deflate, br, zstd"})
    assert response.status_code == 200
    assert response.headers["content-encoding"] == "br"
    assert "accept-encoding" in response.headers["vary"].lower()
    assert "<html" in response.text  # the client decoded it


async def test_a_client_without_brotli_gets_gzip_and_one_without_either_gets_plain_html(
    client: AsyncTestClient[Litestar],
) -> None:
    response = await client.get("/", headers={"accept-encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    assert "<html" in response.text
    plain = await client.get("/", headers={"accept-encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert "<html" in plain.text


async def test_binary_answers_are_sent_as_they_are_and_text_answers_compressed() -> None:
    body = b"PK\x03\x04" + b"\x00" * 5000

    @get("/package.zip", media_type="application/zip", sync_to_thread=False)
    def package() -> bytes:
        return body

    @get("/data.json", sync_to_thread=False)
    def data() -> dict[str, str]:
        return {"x": "y" * 2000}

    app = Litestar([package, data])
    app.asgi_handler = compression_middleware(compression_config())(app.asgi_handler)
    async with AsyncTestClient(app=app) as client:
        zipped = await client.get("/package.zip", headers={"accept-encoding": "br, gzip"})
        assert "content-encoding" not in zipped.headers
        assert zipped.content == body
        assert zipped.headers["content-length"] == str(len(body))
        json = await client.get("/data.json", headers={"accept-encoding": "br, gzip"})
        assert json.headers["content-encoding"] == "br"
        assert json.json() == {"x": "y" * 2000}


async def test_pages_link_static_files_by_content_hash_served_precompressed_and_immutable(
    client: AsyncTestClient[Litestar],
) -> None:
    page = await client.get("/")
    links = re.findall(r'(?:src|href)="(/assets/[0-9a-f]{16}/[^"]+)"', page.text)
    assert any(link.endswith("/js/app.js") for link in links)
    assert any(link.endswith("/css/app.css") for link in links)
    assert "/static/" not in page.text
    app_js = next(link for link in links if link.endswith("/js/app.js"))
    source = (PROJECT_ROOT / "static" / "js" / "app.js").read_bytes()

    response = await client.get(app_js, headers={"accept-encoding": "br"})
    assert response.status_code == 200
    assert response.headers["content-encoding"] == "br"
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert response.headers["content-type"] in ("text/javascript; charset=utf-8", "application/javascript")
    assert response.content == source
    assert int(response.headers["content-length"]) == len(brotli.compress(source, quality=11, mode=brotli.MODE_TEXT))

    gzipped = await client.get(app_js, headers={"accept-encoding": "gzip"})
    assert gzipped.headers["content-encoding"] == "gzip"
    assert gzipped.content == source
    again = await client.get(app_js, headers={"if-none-match": response.headers["etag"]})
    assert again.status_code == 304

    stale = await client.get(app_js.replace(app_js.split("/")[2], "0" * 16))
    assert stale.status_code == 200
    assert stale.headers["cache-control"] == "no-cache"
    assert (await client.get(app_js.replace("app.js", "nothing.js"))).status_code == 404
    assert (await client.get("/assets/0000000000000000/../../pyproject.toml")).status_code == 404


def test_every_static_file_has_a_hash_and_text_files_a_compressed_form() -> None:
    assets = Assets(PROJECT_ROOT / "static")
    htmx = assets.files["vendor/htmx/2.0.11/htmx.min.js"]
    assert htmx.br is not None
    assert htmx.gz is not None
    assert brotli.decompress(htmx.br) == htmx.raw == gzip.decompress(htmx.gz)
    assert len(htmx.br) < len(htmx.raw) / 3
    assert assets.url("js/board.js").startswith("/assets/")


async def test_a_file_name_too_long_for_any_file_system_is_a_404_not_a_500(client: AsyncTestClient[Litestar]) -> None:
    """Files are answered from memory: a path is never a name given to the file system (the fuzz test found
    /static/<300 characters> answering 500 from the static files router)."""
    long = "a" * 300 + ".js"
    for path in (
        f"/static/{long}",
        f"/static/js/{long}",
        f"/assets/{'0' * 16}/{long}",
        "/static/js/../../pyproject.toml",
    ):
        assert (await client.get(path)).status_code == 404, path
    assert (await client.get("/static/js/app.js")).headers["cache-control"] == "no-cache"
