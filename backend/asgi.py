"""The application factory: routes, dependencies, guards, middleware and error pages in one place."""

from __future__ import annotations

from litestar import Litestar
from litestar.config.csrf import CSRFConfig
from litestar.connection import ASGIConnection
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, YamlRenderPlugin
from litestar.plugins.htmx import HTMXPlugin
from litestar.router import Router

from backend.auth.csrf import CSRF_COOKIE
from backend.auth.permissions import PUBLIC, access_guard
from backend.auth.principal import Principal
from backend.auth.sessions import SessionStore
from backend.auth.tokens import bearer, token_principal
from backend.core import ParboardPlugin, identity_provider_origins
from backend.db.engine import create_engine
from backend.db.runtime import DatabaseUrls
from backend.settings import Settings, get_settings
from backend.web.compression import compression_config, compression_middleware
from backend.web.middleware import request_middleware_factory
from backend.web.tracing import tracing_plugin


def create_app(settings: Settings | None = None, database: DatabaseUrls | None = None) -> Litestar:
    """Build the app. Without `database`, the database is resolved from the settings (see db.runtime)."""
    from backend.db import runtime

    settings = settings or get_settings()
    database = database or runtime.resolve(settings)
    openapi_router = Router(path="/schema", route_handlers=[], opt={"access": PUBLIC})
    engine = create_engine(database.app_url, settings.db)
    sessions = SessionStore(engine, settings)
    app = Litestar(
        route_handlers=[],
        plugins=[
            ParboardPlugin(settings, engine, sessions),
            HTMXPlugin(),
            *filter(None, [tracing_plugin(settings.app.tracing_endpoint)]),
        ],
        guards=[access_guard],
        csrf_config=CSRFConfig(
            secret=settings.app.secret_key,
            # bound to the session by the request middleware (backend.auth.csrf), which sets the cookie with
            # these same attributes: keep the two alike
            cookie_name=CSRF_COOKIE,
            cookie_secure=settings.app.env == "production",
            cookie_httponly=True,
            cookie_samesite="lax",
        ),
        openapi_config=OpenAPIConfig(
            title="parboard",
            version="0.1.0",
            description="Chỉ số CCHC: tự đánh giá, khắc phục và thẩm định",
            # Machine-readable only: an HTML viewer would need a CDN script our CSP (rightly) refuses.
            render_plugins=[JsonRenderPlugin(), YamlRenderPlugin()],
            openapi_router=openapi_router,
        ),
        debug=False,
        logging_config=None,  # backend.logging configures one format for every logger of the process
    )
    # Outermost, around Litestar's own exception handling: the 404 and 405 that the router answers
    # before any route middleware runs get the security headers and a request id too.
    # Inside it, compression: the bytes it sends are what the request log and the browser see.

    async def resolve_principal(connection: ASGIConnection) -> Principal | None:  # type: ignore[type-arg]
        """An API token's principal when the request presents one (`Authorization: Bearer pbt_…`), else the
        session's."""
        if bearer(connection.scope) is not None:
            return await token_principal(engine, connection, settings.auth.api_token_rate_per_minute)
        return await sessions.principal_for(connection)

    app.asgi_handler = request_middleware_factory(
        settings, resolve_principal, form_action=identity_provider_origins(settings)
    )(compression_middleware(compression_config())(app.asgi_handler))
    return app
