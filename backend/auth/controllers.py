"""Sign-in through each province's identity provider, sign-out, and the page for people with no role."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from litestar import Controller, MediaType, Request, get, post
from litestar.datastructures import Cookie, State
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Response, Template
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.oidc import OIDCError, OIDCRegistry
from backend.auth.permissions import PUBLIC, SIGNED_IN
from backend.auth.principal import current_principal
from backend.auth.services import SignInRefused, provider_settings, safe_next_path, sign_in
from backend.auth.sessions import COOKIE, SessionStore, now
from backend.db.models import LoginFlow, Province, Tenant
from backend.logging import get_logger
from backend.settings import Settings
from backend.web.templating import page

log = get_logger("parboard.auth")
FLOW_COOKIE = "parboard_login"
FLOW_LIFETIME = timedelta(minutes=10)
PROVIDER_DOWN = {"provider_unavailable": 502, "provider_timeout": 504, "bad_discovery": 502, "bad_response": 502}


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _failure(request: Request[Any, Any, Any], status: int, title: str, message: str) -> Template:
    return Template(
        template_name="errors/error.html",
        context={
            "status": status,
            "title": title,
            "message": message,
            "request_id": str(request.scope.get("parboard_request_id", "")),
            "sign_in_again": True,
        },
        status_code=status,
        media_type=MediaType.HTML,
    )


async def _province(db: AsyncSession, code: str) -> Province | None:
    return await db.scalar(select(Province).where(Province.code == code))


class AuthController(Controller):
    include_in_schema = False

    @get("/dang-nhap", name="auth:sign-in", opt={"access": PUBLIC})
    async def sign_in_page(
        self, request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession], state: State
    ) -> Template:
        provinces = list(await db_session.scalars(select(Province).order_by(Province.name)))
        next_path = safe_next_path(request.query_params.get("next"))
        return page(
            request,
            "auth/sign_in.html",
            provinces=provinces,
            next_path=next_path,
            demo_people=state.get("demo_people", {}),
        )

    @get("/auth/{province_code:str}/login", name="auth:login", opt={"access": PUBLIC})
    async def login(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        state: State,
        province_code: FromPath[str],
    ) -> Response[Any]:
        settings: Settings = state.settings
        province = await _province(db_session, province_code)
        if province is None:
            return _failure(request, 404, "Không tìm thấy tỉnh", "Tỉnh bạn chọn không có trên hệ thống.")
        provider = provider_settings(province, settings)
        if provider is None:
            log.error("identity provider not configured", province=province.code)
            return _failure(
                request,
                503,
                "Chưa cấu hình đăng nhập",
                f"{province.name} chưa cấu hình hệ thống đăng nhập. Liên hệ quản trị viên hệ thống.",
            )
        registry: OIDCRegistry = state.oidc
        try:
            authorization = await registry.client_for(provider).authorization_request(
                login_hint=(request.query_params.get("login_hint") or None)
            )
        except OIDCError as exc:
            log.warning("sign-in could not start", province=province.code, reason=exc.code)
            return _failure(request, PROVIDER_DOWN.get(exc.code, 502), "Không thể đăng nhập", exc.message)
        browser = secrets.token_urlsafe(32)
        await db_session.execute(delete(LoginFlow).where(LoginFlow.expires_at < now()))
        db_session.add(
            LoginFlow(
                state_hash=_sha256(authorization.state),
                browser_hash=_sha256(browser),
                province_id=province.id,
                nonce=authorization.nonce,
                code_verifier=authorization.code_verifier,
                next_path=safe_next_path(request.query_params.get("next")),
                expires_at=now() + FLOW_LIFETIME,
            )
        )
        # Committed here, not by the after-response autocommit (which only logs a failed commit): a
        # browser must never be sent to the provider for a flow that was not stored.
        await db_session.commit()
        return Redirect(
            authorization.url,
            cookies=[
                Cookie(
                    key=FLOW_COOKIE,
                    value=browser,
                    path="/auth",
                    max_age=int(FLOW_LIFETIME.total_seconds()),
                    httponly=True,
                    secure=settings.auth.cookie_secure,
                    samesite="lax",
                )
            ],
        )

    @get("/auth/{province_code:str}/callback", name="auth:callback", opt={"access": PUBLIC})
    async def callback(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        state: State,
        province_code: FromPath[str],
    ) -> Response[Any]:
        settings: Settings = state.settings
        sessions: SessionStore = state.sessions
        params = request.query_params
        returned_state = params.get("state") or ""
        browser = request.cookies.get(FLOW_COOKIE) or ""
        flow = await db_session.get(LoginFlow, _sha256(returned_state)) if returned_state else None
        province = await _province(db_session, province_code)
        if flow is not None:
            # Single use, whatever happens next: a replayed callback finds nothing.
            await db_session.delete(flow)
            await db_session.commit()
        if (
            flow is None
            or province is None
            or flow.province_id != province.id
            or flow.expires_at < now()
            or not secrets.compare_digest(flow.browser_hash, _sha256(browser))
        ):
            refused = _failure(
                request,
                400,
                "Phiên đăng nhập không hợp lệ",
                "Phiên đăng nhập không hợp lệ hoặc đã hết hạn. Vui lòng đăng nhập lại.",
            )
            # An unknown state leaves alone the flow this browser may still have under way.
            return refused if flow is None else _flow_over(refused)
        if params.get("error"):
            title = "Bạn đã từ chối đăng nhập" if params.get("error") == "access_denied" else "Không thể đăng nhập"
            message = "Hệ thống đăng nhập của tỉnh không xác nhận được danh tính của bạn."
            return _flow_over(_failure(request, 400, title, message))
        provider = provider_settings(province, settings)
        code = params.get("code") or ""
        if provider is None or not code:
            return _flow_over(_failure(request, 400, "Không thể đăng nhập", "Thiếu mã xác thực từ hệ thống đăng nhập."))
        try:
            result = await state.oidc.client_for(provider).complete(
                code=code,
                state_expected=returned_state,
                state_received=returned_state,
                nonce=flow.nonce,
                code_verifier=flow.code_verifier,
            )
            person = await sign_in(db_session, province, result.claims)
        except OIDCError as exc:
            log.warning("sign-in refused", province=province.code, reason=exc.code)
            return _flow_over(_failure(request, PROVIDER_DOWN.get(exc.code, 400), "Không thể đăng nhập", exc.message))
        except SignInRefused as exc:
            log.warning("sign-in refused", province=province.code, reason=exc.reason)
            return _flow_over(_failure(request, 403, "Không thể đăng nhập", exc.message))
        previous = request.cookies.get(COOKIE)
        if previous:
            await sessions.revoke_token(db_session, previous, by="rotation")
        new = await sessions.create(
            db_session,
            user_id=person.user.id,
            province_id=province.id,
            user_agent=request.headers.get("user-agent", ""),
            ip_address=request.client.host if request.client else "",
        )
        destination = flow.next_path
        if destination == "/":
            destination = (
                await _home_of(db_session, person.tenant_ids, province) if person.tenant_ids else "/khong-co-quyen"
            )
        # The person, their new memberships and the session are committed before the cookie leaves: the
        # after-response autocommit would only log a failed commit and hand out a cookie for nothing.
        await db_session.commit()
        log.info("signed in", user=str(person.user.id), province=province.code, tenants=len(person.tenant_ids))
        return _flow_over(
            Redirect(
                destination,
                cookies=[
                    Cookie(
                        key=COOKIE,
                        value=new.token,
                        path="/",
                        httponly=True,
                        secure=settings.auth.cookie_secure,
                        samesite="lax",
                        max_age=settings.auth.session_absolute_hours * 3600,
                    )
                ],
            )
        )

    @post("/dang-xuat", name="auth:sign-out", opt={"access": PUBLIC}, status_code=303)
    async def sign_out(
        self, request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession], state: State
    ) -> Redirect:
        settings: Settings = state.settings
        destination = "/"
        token = request.cookies.get(COOKIE)
        if token:
            session = await state.sessions.revoke_token(db_session, token, by="sign-out")
            province = await db_session.get(Province, session.province_id) if session is not None else None
            # Revoked for good before the answer says so (the after-response autocommit would only log a
            # failed commit), and before the provider is asked anything: no transaction held over the network.
            await db_session.commit()
            if session is not None:
                provider = provider_settings(province, settings) if province else None
                if provider is not None:
                    try:
                        end = await state.oidc.client_for(provider).end_session_url(
                            id_token_hint=None, post_logout_redirect_uri=f"{settings.auth.public_url}/"
                        )
                    except OIDCError:
                        end = None  # signed out here all the same
                    destination = end or "/"
        cleared = Cookie(
            key=COOKIE,
            value="",
            path="/",
            max_age=0,
            expires=0,
            httponly=True,
            secure=settings.auth.cookie_secure,
            samesite="lax",
        )
        return Redirect(destination, status_code=303, cookies=[cleared])

    @get("/khong-co-quyen", name="auth:no-membership", opt={"access": SIGNED_IN})
    async def no_membership(
        self, request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]
    ) -> Template:
        principal = current_principal(request)
        province = (
            await db_session.get(Province, principal.province_id) if principal and principal.province_id else None
        )
        home_affairs = None
        if province is not None:
            home_affairs = await db_session.scalar(
                select(Tenant).where(Tenant.province_id == province.id, Tenant.kind == "home_affairs")
            )
        return page(
            request, "auth/no_membership.html", principal=principal, province=province, home_affairs=home_affairs
        )


def _flow_over(response: Response[Any]) -> Response[Any]:
    """Once the callback has used up the flow, whatever its answer, the flow cookie is of no further use."""
    response.set_cookie(key=FLOW_COOKIE, value="", path="/auth", max_age=0, expires=0, httponly=True, samesite="lax")
    return response


async def _home_of(db: AsyncSession, tenant_ids: list[Any], province: Province) -> str:
    if len(tenant_ids) != 1:
        return "/"
    tenant = await db.get(Tenant, tenant_ids[0])
    return f"/t/{province.code}/{tenant.code}/" if tenant else "/"
