"""CSRF tokens bound to the session.

Litestar's middleware checks a signed double-submit cookie: the form's token must carry the same random
part as the `csrftoken` cookie. Nothing ties that pair to a person, so a pair taken from one browser was
accepted together with another person's session cookie. For a request with a session, the random part
is therefore not random: it is an HMAC of the session's token under the app's secret, and the request
middleware (backend.web.middleware) puts that value in place of whatever `csrftoken` cookie the browser
sent before anything reads the cookies. Litestar's middleware then checks the form's token against the
session's own: the pages of a session carry its token, a token from another session never matches, and
forms and htmx work unchanged. Without a session (the sign-in pages) the plain double-submit stays.
"""

from __future__ import annotations

import hashlib
import hmac

from litestar.datastructures import Cookie
from litestar.middleware.csrf import generate_csrf_hash, generate_csrf_token
from litestar.types import Scope

from backend.auth.sessions import COOKIE as SESSION_COOKIE

CSRF_COOKIE = "csrftoken"  # the CSRFConfig's cookie_name (backend.asgi)
CSRF_HEADER = b"x-csrftoken"  # the CSRFConfig's header_name


def session_csrf_token(secret: str, session_token: str) -> str:
    """The CSRF token of one session, in the form Litestar's middleware signs and checks."""
    bound = hmac.new(secret.encode(), b"parboard-csrf\x00" + session_token.encode(), hashlib.sha256).hexdigest()
    return bound + generate_csrf_hash(token=bound, secret=secret)


def _cookies(scope: Scope) -> list[tuple[str, str]]:
    pairs = []
    for name, value in scope["headers"]:
        if name == b"cookie":
            for part in value.decode("latin-1").split(";"):
                key, sep, raw = part.strip().partition("=")
                if sep:
                    pairs.append((key, raw))
    return pairs


def csrf_cookie(scope: Scope) -> str:
    """The `csrftoken` cookie of the request (empty: none): in a request with a session, after
    `bind_csrf_to_session`, the session's token, which Litestar's middleware gives a safe request's page."""
    return next((value for key, value in _cookies(scope) if key == CSRF_COOKIE), "")


def bind_csrf_to_session(scope: Scope, secret: str) -> str | None:
    """In a request with a session cookie, replace the `csrftoken` cookie by the session's token. Returns that
    token when the browser sent another one (or none), for the response to set: the browser then holds the
    cookie its pages' token goes with."""
    cookies = _cookies(scope)
    session = next((value for key, value in cookies if key == SESSION_COOKIE), None)
    if not session:
        return None
    token = session_csrf_token(secret, session)
    sent = [value for key, value in cookies if key == CSRF_COOKIE]
    kept = [f"{key}={value}" for key, value in cookies if key != CSRF_COOKIE]
    headers = [(name, value) for name, value in scope["headers"] if name != b"cookie"]
    headers.append((b"cookie", "; ".join([*kept, f"{CSRF_COOKIE}={token}"]).encode("latin-1")))
    scope["headers"] = headers
    return None if sent == [token] else token


def csrf_set_cookie(token: str, *, secure: bool) -> tuple[bytes, bytes]:
    """The Set-Cookie header of the session's token, with the attributes of the app's CSRFConfig."""
    cookie = Cookie(key=CSRF_COOKIE, value=token, path="/", secure=secure, httponly=True, samesite="lax")
    return b"set-cookie", cookie.to_header(header="").encode("latin-1")


def bearer_only(scope: Scope, secret: str) -> None:
    """A request that an API token authenticates carries no cookie on: a browser never adds an `Authorization`
    header to a request another site makes it send, so such a request needs no CSRF token, and with its cookies
    dropped it cannot act with a session too. Litestar's CSRF middleware knows no such exemption; it is given a
    fresh matching pair instead."""
    token = generate_csrf_token(secret=secret)
    headers = [(name, value) for name, value in scope["headers"] if name not in (b"cookie", CSRF_HEADER)]
    headers += [(b"cookie", f"{CSRF_COOKIE}={token}".encode("latin-1")), (CSRF_HEADER, token.encode("latin-1"))]
    scope["headers"] = headers
