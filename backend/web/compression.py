"""Bytes on the wire: responses compressed (brotli, gzip for clients without it), static files served under
content-hashed names, pre-compressed, cached for a year.

Compression is Litestar's own (`CompressionMiddleware` with the `brotli` package), chosen per response by its
content type: pages, fragments, JSON, CSS, JavaScript, SVG and CSV are compressed; ZIP packages, evidence
files, spreadsheets and images are sent as they are (compressed already, or streamed from storage where a
second compression would cost CPU for nothing).
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
from collections.abc import Callable
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

import brotli
from litestar import Request, Response, get
from litestar.config.compression import CompressionConfig
from litestar.datastructures import Headers, MutableScopeHeaders
from litestar.enums import CompressionEncoding, ScopeType
from litestar.exceptions import NotFoundException
from litestar.handlers import HTTPRouteHandler
from litestar.middleware.compression import CompressionMiddleware
from litestar.middleware.compression.facade import CompressionFacade
from litestar.middleware.compression.gzip_facade import GzipCompression
from litestar.params import FromPath
from litestar.types import ASGIApp, Message, Receive, Scope, Send

COMPRESSIBLE = (
    "text/",
    "application/json",
    "application/javascript",
    "application/xml",
    "application/problem+json",
    "application/vnd.oai.openapi",
    "image/svg+xml",
)
ASSETS_PREFIX = "/assets"
YEAR = 365 * 24 * 3600


def compression_config() -> CompressionConfig:
    # brotli 4: the 600-card board (~860 KiB of HTML) to ~44 KiB in ~2,5 ms, the size of quality 5 at 60 % of its
    # time (6 is no smaller); gzip 6 for the clients without brotli (9 costs more for ~1 % less). 11 is for the
    # static files, compressed once.
    return CompressionConfig(
        backend="brotli", brotli_quality=4, gzip_compress_level=6, minimum_size=500, brotli_gzip_fallback=True
    )


def _compressible(content_type: str) -> bool:
    return content_type.lower().startswith(COMPRESSIBLE)


def chosen_encoding(accept_encoding: str, config: CompressionConfig) -> str | None:
    """The content-coding an answer takes for a client's `Accept-Encoding`: brotli, else gzip, else none."""
    preferred = str(getattr(config.compression_facade.encoding, "value", config.compression_facade.encoding))
    if preferred in accept_encoding:
        return preferred
    if CompressionEncoding.GZIP.value in accept_encoding:
        return CompressionEncoding.GZIP.value
    return None


def encoded(body: bytes, accept_encoding: str, config: CompressionConfig) -> tuple[bytes, str | None]:
    """`body` as `compression_middleware` would send it to this client, and its content-coding (None: as it is), for
    an answer compressed once and sent many times (the tenant home's, `home_cache`)."""
    encoding = chosen_encoding(accept_encoding, config)
    if encoding is None or len(body) < config.minimum_size:
        return body, None
    buffer = BytesIO()
    facade_class: type[CompressionFacade] = (
        GzipCompression if encoding == CompressionEncoding.GZIP.value else config.compression_facade
    )
    facade = facade_class(buffer=buffer, compression_encoding=encoding, config=config)
    facade.write(body)
    facade.close()
    return buffer.getvalue(), encoding


def compression_middleware(config: CompressionConfig) -> Callable[[ASGIApp], ASGIApp]:
    """Wraps the application: a response of a compressible type, not encoded already, goes through Litestar's
    compressing `send`; every other response is sent untouched."""

    def middleware(app: ASGIApp) -> ASGIApp:
        compressor = CompressionMiddleware(app, config)

        async def handle(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != ScopeType.HTTP:
                await app(scope, receive, send)
                return
            encoding = chosen_encoding(Headers.from_scope(scope).get("accept-encoding", ""), config)
            if encoding is None:
                await app(scope, receive, send)
                return
            compressing = compressor.create_compression_send_wrapper(send, encoding, scope)
            chosen = send

            async def choose(message: Message) -> None:
                nonlocal chosen
                if message["type"] == "http.response.start":
                    headers = MutableScopeHeaders(message)
                    if _compressible(headers.get("content-type", "")) and "content-encoding" not in headers:
                        chosen = compressing
                await chosen(message)

            await app(scope, receive, choose)

        return handle

    return middleware


@dataclass(frozen=True)
class Asset:
    path: str
    digest: str
    media_type: str
    raw: bytes
    br: bytes | None
    gz: bytes | None


class Assets:
    """Every file under `static/`, read once at start-up: its content hash, and brotli and gzip forms of the
    text ones. Pages link them as `/assets/<hash>/<path>` (`static_url`): a changed file gets a new URL, so
    browsers keep each one for a year without asking again."""

    def __init__(self, directory: Path) -> None:
        self.files: dict[str, Asset] = {}
        for file in sorted(directory.rglob("*")):
            if not file.is_file():
                continue
            path = file.relative_to(directory).as_posix()
            raw = file.read_bytes()
            media_type = mimetypes.guess_type(path)[0] or "application/octet-stream"
            text = _compressible(media_type) and len(raw) >= 500
            self.files[path] = Asset(
                path=path,
                digest=hashlib.sha256(raw).hexdigest()[:16],
                media_type=media_type,
                raw=raw,
                br=brotli.compress(raw, quality=11, mode=brotli.MODE_TEXT) if text else None,
                gz=gzip.compress(raw, compresslevel=9, mtime=0) if text else None,
            )

    def url(self, path: str) -> str:
        asset = self.files.get(path)
        if asset is None:
            raise KeyError(f"no static file {path!r}")
        return f"{ASSETS_PREFIX}/{asset.digest}/{path}"


def _answer(request: Request, asset: Asset, cache: str) -> Response[bytes]:  # type: ignore[type-arg]
    headers = {"cache-control": cache, "vary": "Accept-Encoding", "etag": f'"{asset.digest}"'}
    if request.headers.get("if-none-match") == headers["etag"]:
        return Response(b"", status_code=304, headers=headers)
    accepted = request.headers.get("accept-encoding", "")
    body = asset.raw
    if asset.br is not None and "br" in accepted:
        body, headers["content-encoding"] = asset.br, "br"
    elif asset.gz is not None and "gzip" in accepted:
        body, headers["content-encoding"] = asset.gz, "gzip"
    return Response(body, media_type=asset.media_type, headers=headers)


def asset_handlers(assets: Assets, public: object) -> list[HTTPRouteHandler]:
    """GET /assets/<hash>/<path>: the file, in the best encoding the browser accepts, cached for good. An old
    hash (a page rendered before a deployment) still gets today's file, but not cached for good.
    GET /static/<path>: the same files under their plain names (bookmarks, tools), revalidated each time.
    Both answer from memory: a path is a key of `assets.files`, never a name given to the file system."""

    @get(f"{ASSETS_PREFIX}/{{digest:str}}/{{path:path}}", opt={"access": public}, include_in_schema=False)
    async def serve_asset(request: Request, digest: FromPath[str], path: FromPath[str]) -> Response[bytes]:  # type: ignore[type-arg]
        asset = assets.files.get(path.lstrip("/"))
        if asset is None:
            raise NotFoundException()
        return _answer(request, asset, f"public, max-age={YEAR}, immutable" if digest == asset.digest else "no-cache")

    @get("/static/{path:path}", opt={"access": public}, include_in_schema=False)
    async def serve_static(request: Request, path: FromPath[str]) -> Response[bytes]:  # type: ignore[type-arg]
        asset = assets.files.get(path.lstrip("/"))
        if asset is None:
            raise NotFoundException()
        return _answer(request, asset, "no-cache")

    return [serve_asset, serve_static]
