"""The one plugin that wires parboard into Litestar."""

from __future__ import annotations

import gc
from collections.abc import Callable
from urllib.parse import urlsplit

from advanced_alchemy.config import AsyncSessionConfig
from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig, SQLAlchemyPlugin
from advanced_alchemy.extensions.litestar._utils import get_aa_scope_state
from litestar import Litestar
from litestar.config.app import AppConfig
from litestar.plugins import InitPluginProtocol, ReceiveRoutePlugin
from litestar.router import Router
from litestar.routes import BaseRoute
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from litestar.utils.scope.state import ScopeState
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from backend.auth.controllers import AuthController
from backend.auth.oidc import OIDCRegistry
from backend.auth.permissions import PUBLIC, declare_automatic_options_public
from backend.auth.sessions import SessionStore
from backend.auth.tokens import token_rate_limit
from backend.db.migrate import head_revision
from backend.db.rls import TenantSession
from backend.domain.admin.api import ProvinceAdminApiController, TenantMembersApiController
from backend.domain.admin.controllers import ProvinceAdminController, TenantAdminController
from backend.domain.admin.external_api import ExternalScoresApiController
from backend.domain.admin.province_scores import ProvinceScoresController
from backend.domain.admin.tokens import ProvinceTokensController, TenantTokensController
from backend.domain.assessments.api import AssessmentApiController, ResultsApiController
from backend.domain.assessments.controllers import AssessmentController, ProvinceResultsController
from backend.domain.assessments.not_applicable_api import (
    NotApplicableClaimApiController,
    NotApplicableDecisionApiController,
)
from backend.domain.criteria.api import CriteriaApiController
from backend.domain.evidence.api import EvidenceApiController
from backend.domain.evidence.controllers import EvidenceController
from backend.domain.remedies.api import RemedyPlanApiController, RemedyTaskApiController
from backend.domain.remedies.controllers import RemedyBoardController, RemedyCardController
from backend.domain.remedies.my_tasks import MyTasksController
from backend.domain.remedies.plan_api import RemedyPlanFilesApiController
from backend.domain.remedies.plan_controllers import RemedyPlanController
from backend.domain.remedies.reports import ProgressReportController
from backend.domain.remedies.reports_api import ReportApiController
from backend.domain.review.api import (
    ExplanationApiController,
    ReviewApiController,
    ReviewDecisionApiController,
    ReviewStepApiController,
)
from backend.domain.review.controllers import ExplanationController, ReviewController
from backend.domain.submissions.api import SubmissionApiController, SubmissionVerifyApiController
from backend.domain.submissions.controllers import SubmissionController
from backend.domain.system import SystemController
from backend.domain.tenants.api import TenantApiController
from backend.domain.tenants.config import TenantConfigError, load_directory
from backend.domain.tenants.controllers import TenantController
from backend.domain.tenants.deps import tenant_router
from backend.logging import configure_logging, get_logger
from backend.settings import Settings
from backend.web.api import API_EXCEPTION_HANDLERS, API_PREFIX, with_api_errors
from backend.web.compression import Assets, asset_handlers
from backend.web.errors import EXCEPTION_HANDLERS
from backend.web.flash import flash_session_config, flashed_messages
from backend.web.input import check_request_input
from backend.web.metrics import MetricsController, prometheus_config
from backend.web.templating import template_config


class ParboardPlugin(InitPluginProtocol, ReceiveRoutePlugin):
    def __init__(self, settings: Settings, engine: AsyncEngine, sessions: SessionStore) -> None:
        self.settings = settings
        self.engine = engine
        self.sessions = sessions

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        settings = self.settings
        configure_logging(json=settings.app.log_json, level=settings.app.log_level)
        sqlalchemy = SQLAlchemyAsyncConfig(
            engine_instance=self.engine,
            session_config=AsyncSessionConfig(sync_session_class=TenantSession, expire_on_commit=False),
            before_send_handler="autocommit_include_redirects",
            create_all=False,
        )
        app_config.plugins.append(SQLAlchemyPlugin(config=sqlalchemy))
        app_config.route_handlers.extend(
            [
                SystemController,
                tenant_router(
                    TenantController,
                    AssessmentController,
                    ProvinceResultsController,
                    RemedyBoardController,
                    RemedyCardController,
                    ProgressReportController,
                    RemedyPlanController,
                    MyTasksController,
                    TenantAdminController,
                    ProvinceAdminController,
                    ProvinceScoresController,
                    ReviewController,
                    ExplanationController,
                    EvidenceController,
                    SubmissionController,
                    TenantTokensController,
                    ProvinceTokensController,
                ),
                AuthController,
                MetricsController,
                api_router(),
            ]
        )
        assets = Assets(settings.paths.static_dir)
        app_config.route_handlers.extend(asset_handlers(assets, PUBLIC))
        app_config.middleware.append(prometheus_config().middleware)
        app_config.middleware.append(token_rate_limit)
        app_config.exception_handlers.update(with_api_errors(EXCEPTION_HANDLERS))
        app_config.before_request = check_request_input
        app_config.template_config = template_config(
            settings.paths.templates_dir,
            globals_={
                "dev_idp": bool(settings.auth.dev_idp_url),
                "htmx_version": "2.0.11",
                "static_url": assets.url,
            },
        )
        # flash messages: Litestar's, in a cookie session of their own (the layout calls get_flashes())
        app_config.middleware.append(flash_session_config(settings).middleware)
        app_config.middleware.append(commit_before_answering(sqlalchemy.session_scope_key))  # innermost
        app_config.template_config.engine_instance.register_template_callable("get_flashes", flashed_messages)
        oidc = OIDCRegistry()
        app_config.state.update(
            {
                "settings": settings,
                "engine": self.engine,
                "migration_head": head_revision(),
                "sessions": self.sessions,
                "oidc": oidc,
                "demo_people": demo_people(settings) if settings.auth.dev_idp_url else {},
            }
        )
        app_config.on_shutdown.append(oidc.aclose)
        if settings.app.env != "test":  # a test process builds many apps; it keeps the collector's defaults
            app_config.on_startup.extend((warm_templates, freeze_heap))
        return app_config

    def receive_route(self, route: BaseRoute) -> None:
        declare_automatic_options_public(route)


def api_router() -> Router:
    """The JSON API, `/api/v1`: its errors in the API's shape (backend.web.api), the pages' untouched."""
    return Router(
        path=API_PREFIX,
        route_handlers=[
            TenantApiController,
            ResultsApiController,
            AssessmentApiController,
            RemedyTaskApiController,
            RemedyPlanApiController,
            RemedyPlanFilesApiController,
            TenantMembersApiController,
            ProvinceAdminApiController,
            SubmissionApiController,
            SubmissionVerifyApiController,
            ReviewApiController,
            ReviewDecisionApiController,
            ReviewStepApiController,
            ExplanationApiController,
            CriteriaApiController,
            ReportApiController,
            ExternalScoresApiController,
            EvidenceApiController,
            NotApplicableClaimApiController,
            NotApplicableDecisionApiController,
        ],
        exception_handlers=API_EXCEPTION_HANDLERS,
    )


def commit_before_answering(session_scope_key: str) -> Callable[[ASGIApp], ASGIApp]:
    """Route middleware: commit the request's transaction before its answer starts, when the answer says it worked
    (2xx, 3xx, as `autocommit_include_redirects`). Advanced Alchemy's own commit, as the answer is sent, swallows a
    failure: the client was told "saved" of what was not. Here a failure (a constraint, data PostgreSQL refuses, a
    concurrent change) is raised before anything is sent, to the exception handlers, which answer a 400 or 409 in
    the request's language (backend.web.errors, backend.web.api) and roll back; the later commit has nothing to do."""

    def middleware(app: ASGIApp) -> ASGIApp:
        async def committing(scope: Scope, receive: Receive, send: Send) -> None:
            async def send_after_commit(message: Message) -> None:
                if message["type"] == "http.response.start" and message["status"] < 400:
                    session = get_aa_scope_state(scope, session_scope_key)
                    if isinstance(session, AsyncSession) and session.in_transaction():
                        try:
                            await session.commit()
                        except Exception:
                            # The route's exception layer saw this start pass and marks the answer begun; nothing
                            # has reached the client, so the app's exception layer may still answer in its place.
                            ScopeState.from_scope(scope).response_started = False
                            raise
                await send(message)

            await app(scope, receive, send_after_commit)

        return committing

    return middleware


def warm_templates(app: Litestar) -> None:
    """Compile every page template before the first request, not during it: a template's first render compiles
    it (the tenant home's ~1 s on a quiet machine; the 55 of them ~7 s under a load average of 15), and the
    first person after a start, or the first browser test of a run, waited for it mid-sign-in."""
    environment = app.template_engine.engine  # type: ignore[union-attr]
    for name in environment.list_templates():
        environment.get_template(name)


def freeze_heap() -> None:
    """Put what start-up built (the app, SQLAlchemy's mappers, the templates: ~250,000 objects) out of the
    cyclic garbage collector's way. A full collection otherwise walks all of it and holds the event loop for
    ~150 ms every so often, which every request waiting at that moment pays (the board benchmark's tail at a
    working pace). Reference counting still frees what is dropped; only cycles among start-up objects wait."""
    gc.collect()
    gc.freeze()


def demo_people(settings: Settings) -> dict[str, list[dict[str, str]]]:
    """The demo people of each province, for the sign-in page of development mode only."""
    people: dict[str, list[dict[str, str]]] = {}
    for loaded in load_directory(settings.paths.tenants_dir):
        for tenant in loaded.config.tenants:
            units = {unit.code: unit.name for unit in tenant.units}
            for person in tenant.demo_people:
                people.setdefault(loaded.config.province.code, []).append(
                    {
                        "name": person.name,
                        "email": person.email,
                        "role": person.role,
                        "tenant_name": tenant.name,
                        "unit_name": units.get(person.unit or "", ""),
                    }
                )
    return people


def identity_provider_origins(settings: Settings) -> list[str]:
    """The origins of the provinces' identity providers (the development one included), where the
    sign-out form's redirect ends (their end_session endpoint): the only other origins `form-action`
    allows. Read from the tenant configuration that `parboard tenants sync` applies."""
    issuers = [settings.auth.dev_idp_url] if settings.auth.dev_idp_url else []
    try:
        issuers += [
            p.config.province.identity_provider.issuer
            for p in load_directory(settings.paths.tenants_dir)
            if p.config.province.identity_provider is not None
        ]
    except TenantConfigError as exc:
        # Sign-in reads the provinces from the database; only the redirect after sign-out needs these.
        get_logger("parboard").warning(
            "tenant configuration unreadable: browsers will block the redirect to end_session after sign-out",
            error=str(exc),
        )
    origins = set()
    for issuer in issuers:
        parts = urlsplit(issuer)
        if parts.scheme in ("http", "https") and parts.netloc:
            origins.add(f"{parts.scheme}://{parts.netloc}")
    return sorted(origins)
