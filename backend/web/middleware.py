"""ASGI middleware: correlation id, request log, security headers, and who is asking."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable

import structlog
from litestar.connection import ASGIConnection
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from backend.auth.csrf import bearer_only, bind_csrf_to_session, csrf_set_cookie
from backend.auth.principal import SCOPE_KEY, Principal
from backend.auth.tokens import bearer
from backend.logging import get_logger
from backend.settings import Settings

log = get_logger("parboard.request")
REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def content_security_policy(form_action: Iterable[str] = ()) -> str:
    """The policy of every response. `form_action`: the other origins a form's redirect may lead to
    (the provinces' identity providers: signing out ends at their end_session endpoint, and browsers
    apply form-action to every redirect that follows a form submission)."""
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self'",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            " ".join(["form-action 'self'", *form_action]),
            "frame-ancestors 'none'",
        ]
    )


CONTENT_SECURITY_POLICY = content_security_policy()


def security_headers(*, secure: bool, form_action: Iterable[str] = ()) -> list[tuple[bytes, bytes]]:
    headers = [
        (b"content-security-policy", content_security_policy(form_action).encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"same-origin"),
        (b"x-frame-options", b"DENY"),
        (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
        (b"cross-origin-opener-policy", b"same-origin"),
    ]
    if secure:
        headers.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))
    return headers


STATIC_PREFIXES = ("/static/", "/assets/")  # files: no session lookup, no request log

PrincipalResolver = Callable[[ASGIConnection], Awaitable[Principal | None]]  # type: ignore[type-arg]


def request_middleware_factory(
    settings: Settings, resolve_principal: PrincipalResolver, *, form_action: Iterable[str] = ()
) -> Callable[[ASGIApp], ASGIApp]:
    """Wraps the whole application (see `backend.asgi.create_app`), not one route: responses that
    Litestar's router answers itself (404 for an unknown path, 405 for a wrong method) must carry the
    same security headers and request id as any other, and their error page the same reference."""
    extra_headers = security_headers(secure=settings.app.env == "production", form_action=form_action)

    def middleware(app: ASGIApp) -> ASGIApp:
        async def handle(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != ScopeType.HTTP:
                await app(scope, receive, send)
                return
            incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
            request_id = incoming if REQUEST_ID.match(incoming) else uuid.uuid4().hex
            scope["parboard_request_id"] = request_id  # type: ignore[typeddict-unknown-key]
            rebound = None
            if bearer(scope) is not None:  # an API token: judged by the token alone
                bearer_only(scope, settings.app.secret_key)
            else:
                rebound = bind_csrf_to_session(scope, settings.app.secret_key)  # before anything reads the cookies
            principal = None
            if not scope["path"].startswith(STATIC_PREFIXES):
                try:
                    principal = await resolve_principal(ASGIConnection(scope))
                except Exception:  # the database is down: anonymous, and /readyz says why
                    log.exception("principal lookup failed", request_id=request_id)
            scope[SCOPE_KEY] = principal  # type: ignore[literal-required]
            started = time.perf_counter()
            status = 500

            async def send_wrapper(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                    headers = list(message.get("headers", []))
                    headers.append((b"x-request-id", request_id.encode()))
                    if rebound is not None:
                        headers.append(csrf_set_cookie(rebound, secure=settings.app.env == "production"))
                    # a response with a policy of its own (an evidence preview) keeps only that one: browsers
                    # enforce every policy they get, and the pages' `object-src 'none'` would blank a PDF
                    own_policy = any(name.lower() == b"content-security-policy" for name, _ in headers)
                    headers.extend(
                        (name, value)
                        for name, value in extra_headers
                        if not (own_policy and name == b"content-security-policy")
                    )
                    message["headers"] = headers
                await send(message)

            with structlog.contextvars.bound_contextvars(request_id=request_id):
                try:
                    await app(scope, receive, send_wrapper)
                finally:
                    if not scope["path"].startswith(STATIC_PREFIXES):
                        log.info(
                            "request",
                            method=scope.get("method", ""),
                            path=scope["path"],
                            status=status,
                            ms=round((time.perf_counter() - started) * 1000, 1),
                        )

        return handle

    return middleware
