"""The one plugin that wires parboard into Litestar."""

from __future__ import annotations

from advanced_alchemy.config import AsyncSessionConfig
from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig, SQLAlchemyPlugin
from litestar.config.app import AppConfig
from litestar.plugins import InitPluginProtocol, ReceiveRoutePlugin
from litestar.routes import BaseRoute

from backend.auth.permissions import declare_automatic_options_public
from backend.db.engine import create_engine
from backend.db.migrate import head_revision
from backend.db.rls import TenantSession
from backend.db.runtime import DatabaseUrls
from backend.domain.system import SystemController
from backend.domain.tenants.controllers import TenantController
from backend.logging import configure_logging
from backend.settings import Settings
from backend.web.errors import EXCEPTION_HANDLERS
from backend.web.templating import template_config


class ParboardPlugin(InitPluginProtocol, ReceiveRoutePlugin):
    def __init__(self, settings: Settings, database: DatabaseUrls) -> None:
        self.settings = settings
        self.database = database

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        settings = self.settings
        configure_logging(json=settings.app.log_json, level=settings.app.log_level)
        engine = create_engine(self.database.app_url, settings.db)
        sqlalchemy = SQLAlchemyAsyncConfig(
            engine_instance=engine,
            session_config=AsyncSessionConfig(sync_session_class=TenantSession, expire_on_commit=False),
            before_send_handler="autocommit_include_redirects",
            create_all=False,
        )
        app_config.plugins.append(SQLAlchemyPlugin(config=sqlalchemy))
        app_config.route_handlers.extend([SystemController, TenantController])
        app_config.exception_handlers.update(EXCEPTION_HANDLERS)
        app_config.template_config = template_config(
            settings.paths.templates_dir,
            globals_={"dev_mode": settings.app.dev_login, "htmx_version": "2.0.11"},
        )
        app_config.state.update({"settings": settings, "migration_head": head_revision()})
        return app_config

    def receive_route(self, route: BaseRoute) -> None:
        declare_automatic_options_public(route)
