"""API tokens for integrations: created by a tenant admin (for their tenant) or a province admin (for the
province, kept in its Sở Nội vụ), scoped, expiring, shown once, stored as SHA-256, revocable.

A request presents `Authorization: Bearer pbt_…`. The request middleware resolves it with one statement,
`api_token_use` (migration 0025), which also stamps `last_used_at` and writes the audit row that names the token
(every request that may write; the first read of each day). The raw token then plays the session cookie's part
for the database: `app.session` carries it and `session_person` accepts a live token for its tenant (or, for a
province token, the province's tenants). The permission guard lets a token reach only the routes that declare
one of its scopes (`backend.auth.permissions.TokenScope`).
"""

from __future__ import annotations

import hashlib
import math
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from litestar.connection import ASGIConnection
from litestar.exceptions import TooManyRequestsException
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from backend import clock
from backend.auth.permissions import PROVINCE_TOKEN_SCOPES, TENANT_TOKEN_SCOPES, TokenScope
from backend.auth.principal import SCOPE_KEY, Principal, TokenRate
from backend.db.engine import driver_connection
from backend.db.models import ApiToken, AuditEntry, TokenKind

PREFIX = "pbt_"
MAX_LENGTH = 128
MAX_DAYS = 366  # a year at most, so that a forgotten token dies by itself
NAME_MAX = 120
VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")

SCOPE_LABELS: dict[TokenScope, str] = {
    TokenScope.RESULTS_READ: "Đọc kết quả tự đánh giá của đơn vị",
    TokenScope.EVIDENCE_READ: "Xem danh sách và tải tài liệu kiểm chứng",
    TokenScope.EVIDENCE_UPLOAD: "Tải lên tài liệu kiểm chứng (từ hệ thống quản lý văn bản)",
    TokenScope.TASKS_READ: "Đọc nhiệm vụ khắc phục",
    TokenScope.PROVINCE_RESULTS_READ: "Đọc kết quả các đơn vị của tỉnh",
    TokenScope.EXTERNAL_SCORES_WRITE: "Gửi điểm khảo sát và chỉ số bên ngoài (DTI, SIPAS)",
}

_USE = "SELECT * FROM api_token_use(token => $1, method => $2, path => $3, per_minute => $4)"


def new_token() -> str:
    """A high-entropy token (256 random bits) with a prefix that secret scanners and people recognise."""
    return PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def bearer(scope: Scope) -> str | None:
    """The API token of `Authorization: Bearer pbt_…`, else None. Read from the raw headers: a connection object
    would cache the headers and cookies in the scope before the request middleware rewrites them."""
    header = next((value for name, value in scope["headers"] if name == b"authorization"), b"")
    scheme, _, value = header.decode("latin-1").partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and value.startswith(PREFIX) and len(value) <= MAX_LENGTH:
        return value
    return None


async def token_principal(
    engine: AsyncEngine,
    connection: ASGIConnection,  # type: ignore[type-arg]
    per_minute: int | None = None,
) -> Principal | None:
    """The principal of a live API token (its use recorded and counted in its minute against `per_minute`), or
    None: unknown, revoked or expired."""
    token = bearer(connection.scope)
    if token is None:
        return None
    method, path = connection.scope.get("method", "GET"), connection.scope["path"]
    async with driver_connection(engine) as driver:
        row = await driver.fetchrow(_USE, token, method, path, per_minute)
    if row is None:
        return None
    return Principal(
        user_id=row["created_by"],  # the person who answers for the token; the audit names the token
        display_name=f"Mã API «{row['name']}»",
        email=row["email"],
        province_id=row["province_id"],
        token_id=row["id"],
        token_tenant_id=row["tenant_id"],
        token_scopes=frozenset(TokenScope(s) for s in row["scopes"] if s in TokenScope._value2member_map_),
        credential=token,
        rate=TokenRate(count=row["minute_count"], limit=per_minute, resets_at=row["minute_ends"]),
    )


def scopes_for(kind: TokenKind) -> tuple[TokenScope, ...]:
    return PROVINCE_TOKEN_SCOPES if kind is TokenKind.PROVINCE else TENANT_TOKEN_SCOPES


@dataclass(frozen=True)
class TokenForm:
    """A checked creation form, or the Vietnamese error of each field."""

    name: str
    scopes: tuple[TokenScope, ...]
    expires_on: date | None
    errors: dict[str, str]


def parse_form(form: Any, kind: TokenKind, today: date) -> TokenForm:
    """Name (1–120 characters), at least one of the kind's scopes, an expiry date after today and within a year
    (dd/mm/yyyy or yyyy-mm-dd, as a date input sends it)."""
    errors: dict[str, str] = {}
    name = " ".join(str(form.get("ten") or "").split())
    if not name:
        errors["ten"] = "Nhập tên gợi nhớ của mã (ví dụ: Cổng kết quả của tỉnh)."
    elif len(name) > NAME_MAX:
        errors["ten"] = f"Tên dài tối đa {NAME_MAX} ký tự."
    allowed = {s.value: s for s in scopes_for(kind)}
    wanted = [str(v) for v in form.getall("quyen", [])] if hasattr(form, "getall") else list(form.get("quyen", []))
    scopes = tuple(dict.fromkeys(allowed[v] for v in wanted if v in allowed))
    if not scopes or len(scopes) != len(set(wanted)):
        errors["quyen"] = "Chọn ít nhất một quyền trong danh sách."
    expires_on = _date(str(form.get("het-han") or "").strip())
    latest = latest_expiry(today)
    if expires_on is None:
        errors["het-han"] = "Nhập ngày hết hạn theo dạng ngày/tháng/năm, ví dụ 31/12/2027."
    elif expires_on <= today:
        errors["het-han"] = "Ngày hết hạn phải sau hôm nay."
    elif expires_on > latest:
        errors["het-han"] = f"Mã dùng được tối đa một năm: chọn ngày đến {latest:%d/%m/%Y}."
    return TokenForm(name, scopes, expires_on, errors)


def latest_expiry(today: date) -> date:
    """The last expiry date a token created today may have: a year on."""
    return today + timedelta(days=MAX_DAYS - 1)


def _date(text: str) -> date | None:
    for layout in ("%d/%m/%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, layout).replace(tzinfo=VIETNAM).date()
        except ValueError:
            continue
    return None


def expiry_moment(day: date) -> datetime:
    """A token dated to expire on a day works through that day (Vietnam time)."""
    return datetime.combine(day, time.max, tzinfo=VIETNAM).astimezone(UTC)


async def create(
    db: AsyncSession, *, tenant_id: uuid.UUID, kind: TokenKind, form: TokenForm, created_by: uuid.UUID
) -> tuple[ApiToken, str]:
    """Store a new token (its hash) and audit it; returns the row and the token, to be shown once."""
    if form.expires_on is None or form.errors:
        raise ValueError("an unchecked token form")
    token = new_token()
    row = ApiToken(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        kind=kind.value,
        name=form.name,
        prefix=token[:10],
        token_hash=hash_token(token),
        scopes=[s.value for s in form.scopes],
        created_by=created_by,
        expires_at=expiry_moment(form.expires_on),
    )
    db.add(row)
    db.add(
        AuditEntry.by(
            tenant_id,
            created_by,
            "api_token.create",
            "api-token",
            str(row.id),
            after={"name": row.name, "kind": row.kind, "scopes": row.scopes, "expires_on": form.expires_on.isoformat()},
        )
    )
    await db.flush()
    return row, token


async def listed(db: AsyncSession, tenant_id: uuid.UUID, kind: TokenKind) -> list[ApiToken]:
    """The tenant's tokens of one kind, live first, newest first."""
    rows = await db.scalars(
        select(ApiToken)
        .where(ApiToken.tenant_id == tenant_id, ApiToken.kind == kind.value)
        .order_by(ApiToken.revoked_at.is_not(None), ApiToken.created_at.desc())
    )
    return list(rows)


async def revoke(
    db: AsyncSession, *, tenant_id: uuid.UUID, kind: TokenKind, token_id: uuid.UUID, by: uuid.UUID
) -> ApiToken | None:
    """Revoke a live token of the tenant (None: no such live token); the next request with it gets 401."""
    row = (
        await db.execute(
            update(ApiToken)
            .where(
                ApiToken.id == token_id,
                ApiToken.tenant_id == tenant_id,
                ApiToken.kind == kind.value,
                ApiToken.revoked_at.is_(None),
            )
            .values(revoked_at=datetime.now(UTC), revoked_by=f"user:{by}")
            .returning(ApiToken)
        )
    ).scalar_one_or_none()
    if row is not None:
        db.add(AuditEntry.by(tenant_id, by, "api_token.revoke", "api-token", str(row.id), after={"name": row.name}))
        await db.flush()
    return row


def rate_headers(rate: TokenRate, now: datetime) -> dict[str, str]:
    """The `RateLimit-*` headers of a token's answer (IETF draft, as Litestar's limiter sent them)."""
    limit = rate.limit or 0
    reset = max(1, math.ceil((rate.resets_at - now).total_seconds()))
    return {
        "RateLimit-Policy": f"{limit}; w=60",
        "RateLimit-Limit": str(limit),
        "RateLimit-Remaining": str(max(limit - rate.count, 0)),
        "RateLimit-Reset": str(reset),
    }


def token_rate_limit(app: ASGIApp) -> ASGIApp:
    """Route middleware: a token request beyond its minute's limit is refused (429 with `Retry-After`, in the API's
    error shape), the others carry their `RateLimit-*` headers. The count is the database's (`token_principal`), so
    the limit holds across processes and servers; sessions and anonymous requests are not counted."""

    async def limited(scope: Scope, receive: Receive, send: Send) -> None:
        principal = scope.get(SCOPE_KEY)
        rate = principal.rate if isinstance(principal, Principal) else None
        if rate is None or rate.limit is None:
            await app(scope, receive, send)
            return
        headers = rate_headers(rate, clock.utc_now())
        if rate.exceeded:
            seconds = headers["RateLimit-Reset"]
            raise TooManyRequestsException(
                detail=f"Mã API đã gửi quá {rate.limit} yêu cầu trong một phút. Hãy thử lại sau {seconds} giây.",
                headers={**headers, "Retry-After": seconds},
            )
        encoded = [(name.lower().encode(), value.encode()) for name, value in headers.items()]

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *encoded]
            await send(message)

        await app(scope, receive, with_headers)

    return limited
