"""Messages after a redirect ("Đã lưu.", "Đã duyệt kế hoạch.", a refusal's reason): flash messages, written by
the server into a short-lived cookie that Litestar's client-side session encrypts and authenticates (AES-GCM
under a key derived from the app's secret), read and cleared by the next page the layout renders.

Never from the URL: a link such as `?loi=<any text>` could otherwise make the app display anyone's words as an
official banner."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Mapping
from typing import Any, Literal

from litestar.connection import ASGIConnection
from litestar.middleware.session.client_side import CookieBackendConfig
from litestar.plugins.flash import flash
from litestar.response import Redirect

from backend.settings import Settings

COOKIE = "parboard_flash"
MAX_AGE = 10 * 60  # seconds: a message not shown by then (the tab was closed) is of no use any more
Category = Literal["success", "info", "error"]


def flash_session_config(settings: Settings) -> CookieBackendConfig:
    """The cookie session that carries flash messages (and nothing else: people's sessions live in PostgreSQL)."""
    key = hashlib.sha256(f"parboard flash messages\0{settings.app.secret_key}".encode()).digest()
    return CookieBackendConfig(
        secret=key,
        key=COOKIE,
        max_age=MAX_AGE,
        secure=settings.auth.cookie_secure,
        httponly=True,
        samesite="lax",
        exclude=["^/static/", "^/assets/", "^/metrics", "^/healthz", "^/readyz", "^/api/"],
    )


def notice(connection: ASGIConnection[Any, Any, Any, Any], message: str, category: Category = "success") -> None:
    """Show `message` on the next page this person sees (after the redirect that follows)."""
    flash(connection, message, category)


def problem(connection: ASGIConnection[Any, Any, Any, Any], message: str) -> None:
    """Show a refusal's reason on the next page, as an alert."""
    flash(connection, message, "error")


def redirect_after(
    connection: ASGIConnection[Any, Any, Any, Any], target: str, refusal: str | None, done: str
) -> Redirect:
    """Back to `target` after a form's change: with the refusal's reason when it was refused, else with `done`."""
    if refusal:
        problem(connection, refusal)
    else:
        notice(connection, done)
    return Redirect(target)


async def redirect_after_change(
    connection: ASGIConnection[Any, Any, Any, Any],
    target: str,
    change: Awaitable[object],
    done: str,
    refused: type[Exception],
) -> Redirect:
    """`redirect_after` for a change that refuses by raising `refused`, whose message is the reason."""
    try:
        await change
    except refused as exc:
        return redirect_after(connection, target, str(exc), done)
    return redirect_after(connection, target, None, done)


def flashed_messages(context: Mapping[str, Any]) -> list[dict[str, str]]:
    """The messages waiting for this page, removed as they are shown (the layout's `get_flashes()`). None on a
    page the session middleware did not see (an error page the router answers before any middleware)."""
    request = context.get("request")
    session = request.scope.get("session") if request is not None else None
    if not isinstance(session, dict):
        return []
    messages: list[dict[str, str]] = session.pop("_messages", [])
    return messages
