""" "Không áp dụng" decided by the Sở Nội vụ: one criterion (or area, or survey part) of one tenant's year does not
apply to it, with a reason. The decision is written in the tenant's own rows (row-level security: the Sở Nội vụ's
session enters that tenant of its own province through `acting_in`) and in the tenant's audit log.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.permissions import Permission
from backend.db.models import AuditEntry, NotApplicableDecision, Tenant, TenantKind
from backend.db.rls import acting_in, reading_province
from backend.domain.assessments import services
from backend.domain.tenants.deps import TenantContext, ensure_writable

MAX_REASON = 2000
COUNTED = {"criterion", "survey"}
# The Sở Nội vụ decides beside the external scores it enters (the right both its roles hold that reach a decision);
# the decisions are listed on the province's results.
RIGHT = Permission.EXTERNAL_SCORES_ENTER
READ = Permission.PROVINCE_RESULTS


class DecisionError(ValueError):
    """A decision refused; `field` is the form field the message belongs next to."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


STATUS_LABELS = {"claimed": "Đơn vị đề nghị, chờ quyết định", "decided": "Không áp dụng", "refused": "Không chấp nhận"}


@dataclass(frozen=True)
class Decision:
    tenant: Tenant
    criterion_code: str
    title: str
    reason: str
    status: str = "decided"
    answer: str = ""

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)


async def province_tenants(db: AsyncSession, ctx: TenantContext) -> list[Tenant]:
    """The province's assessed tenants (every active one but the Sở Nội vụ), by name."""
    return list(
        await db.scalars(
            select(Tenant)
            .where(Tenant.province_id == ctx.province.id, Tenant.is_active, Tenant.kind != TenantKind.HOME_AFFAIRS)
            .order_by(Tenant.name)
        )
    )


async def decisions(db: AsyncSession, ctx: TenantContext, year: int) -> list[Decision]:
    """Every decision of the year across the province's tenants (read in one statement), with its criterion's title
    from the tenant's own criteria set."""
    tenants = {t.id: t for t in await province_tenants(db, ctx)}
    async with reading_province(db, ctx.tenant, ctx.principal, READ):
        rows = list(
            await db.scalars(
                select(NotApplicableDecision)
                .where(NotApplicableDecision.tenant_id.in_(list(tenants)), NotApplicableDecision.year == year)
                .order_by(NotApplicableDecision.criterion_code)
            )
        )
    found: list[Decision] = []
    for tenant in tenants.values():
        own = [r for r in rows if r.tenant_id == tenant.id]
        if not own:
            continue
        async with acting_in(db, ctx.tenant, tenant, ctx.principal, READ):
            loaded = await services.load(db, ctx.province, year)
        titles = {r.code: r.node.title for r in loaded.sheet.rows()} if loaded is not None else {}
        found.extend(
            Decision(tenant, r.criterion_code, titles.get(r.criterion_code, ""), r.reason, r.status, r.answer)
            for r in own
        )
    return found


async def decide(
    db: AsyncSession, ctx: TenantContext, year: int, tenant_code: str, criterion_code: str, reason: str
) -> None:
    """Record that `criterion_code` does not apply to the tenant in `year`; checked whole before anything is written."""
    tenant = next((t for t in await province_tenants(db, ctx) if t.code == tenant_code), None)
    if tenant is None:
        raise DecisionError("tenant", "Chọn một đơn vị của tỉnh.")
    await ensure_writable(db, tenant)
    code, reason = _checked_input(criterion_code, reason, "Cần ghi lý do không áp dụng.")
    async with acting_in(db, ctx.tenant, tenant, ctx.principal, RIGHT):
        await _check_counted(db, ctx, year, code, f"Đơn vị chưa có bộ chỉ số năm {year}.")
        existing = await _existing(db, year, code)
        before = {"reason": existing.reason, "status": existing.status} if existing is not None else None
        if existing is None:
            db.add(
                NotApplicableDecision(
                    id=uuid.uuid4(),
                    tenant_id=tenant.id,
                    year=year,
                    criterion_code=code,
                    reason=reason,
                    decided_by=ctx.principal.user_id,
                )
            )
        else:
            existing.reason, existing.status = reason, "decided"
            existing.decided_by = ctx.principal.user_id
        db.add(
            AuditEntry.by(
                tenant.id,
                ctx.principal.user_id,
                "not_applicable.decide",
                "not_applicable",
                f"{year}:{code}",
                before=before,
                after={"reason": reason, "by": ctx.tenant.code},
            )
        )
        await db.flush()


async def revoke(db: AsyncSession, ctx: TenantContext, year: int, tenant_code: str, criterion_code: str) -> bool:
    """Withdraw a decision (the criterion applies again); False if there was none."""
    tenant = next((t for t in await province_tenants(db, ctx) if t.code == tenant_code), None)
    if tenant is None:
        return False
    await ensure_writable(db, tenant)
    async with acting_in(db, ctx.tenant, tenant, ctx.principal, RIGHT):
        removed = await db.scalar(
            delete(NotApplicableDecision)
            .where(NotApplicableDecision.year == year, NotApplicableDecision.criterion_code == criterion_code)
            .returning(NotApplicableDecision.reason)
        )
        if removed is None:
            return False
        db.add(
            AuditEntry.by(
                tenant.id,
                ctx.principal.user_id,
                "not_applicable.revoke",
                "not_applicable",
                f"{year}:{criterion_code}",
                before={"reason": removed},
                after={"by": ctx.tenant.code},
            )
        )
        await db.flush()
        return True


async def own_claims(db: AsyncSession, year: int) -> list[NotApplicableDecision]:
    """The bound tenant's claims and decisions of the year."""
    return list(
        await db.scalars(
            select(NotApplicableDecision)
            .where(NotApplicableDecision.year == year)
            .order_by(NotApplicableDecision.criterion_code)
        )
    )


async def claim(db: AsyncSession, ctx: TenantContext, year: int, criterion_code: str, reason: str) -> None:
    """The department (bound) asks that `criterion_code` not apply to it this year; the province decides."""
    code, reason = _checked_input(criterion_code, reason, "Cần ghi lý do đề nghị không áp dụng.")
    await _check_counted(db, ctx, year, code, f"Tỉnh chưa ban hành bộ chỉ số năm {year}.")
    existing = await _existing(db, year, code)
    if existing is not None and existing.status == "decided":
        raise DecisionError("criterion", f"Sở Nội vụ đã quyết định {code} không áp dụng cho đơn vị.")
    if existing is None:
        existing = NotApplicableDecision(
            id=uuid.uuid4(), tenant_id=ctx.tenant.id, year=year, criterion_code=code, reason=reason
        )
        db.add(existing)
    existing.reason, existing.status, existing.answer = reason, "claimed", ""
    existing.claimed_by, existing.decided_by = ctx.principal.user_id, None
    db.add(
        AuditEntry.by(
            ctx.tenant.id,
            ctx.principal.user_id,
            "not_applicable.claim",
            "not_applicable",
            f"{year}:{code}",
            after={"reason": reason},
        )
    )
    await db.flush()


async def answer(
    db: AsyncSession, ctx: TenantContext, year: int, tenant_code: str, criterion_code: str, accept: bool, note: str
) -> bool:
    """The province accepts (the criterion does not apply) or refuses a department's claim; False: no such claim."""
    tenant = next((t for t in await province_tenants(db, ctx) if t.code == tenant_code), None)
    if tenant is None:
        return False
    await ensure_writable(db, tenant)
    note = note.strip()[:MAX_REASON]
    async with acting_in(db, ctx.tenant, tenant, ctx.principal, RIGHT):
        claimed = await db.scalar(
            select(NotApplicableDecision).where(
                NotApplicableDecision.year == year,
                NotApplicableDecision.criterion_code == criterion_code,
                NotApplicableDecision.status == "claimed",
            )
        )
        if claimed is None:
            return False
        claimed.status = "decided" if accept else "refused"
        claimed.answer, claimed.decided_by = note, ctx.principal.user_id
        db.add(
            AuditEntry.by(
                tenant.id,
                ctx.principal.user_id,
                "not_applicable.accept" if accept else "not_applicable.refuse",
                "not_applicable",
                f"{year}:{criterion_code}",
                before={"status": "claimed"},
                after={"status": claimed.status, "answer": note, "by": ctx.tenant.code},
            )
        )
        await db.flush()
        return True


def _checked_input(criterion_code: str, reason: str, missing_reason: str) -> tuple[str, str]:
    """The criterion's code and the reason, trimmed; refused when either is missing or the reason too long."""
    code, reason = criterion_code.strip(), reason.strip()
    if not code:
        raise DecisionError("criterion", "Cần nhập mã tiêu chí, lĩnh vực hoặc phần (ví dụ 3, 7.3).")
    if not reason:
        raise DecisionError("reason", missing_reason)
    if len(reason) > MAX_REASON:
        raise DecisionError("reason", f"Lý do tối đa {MAX_REASON:,} ký tự.".replace(",", "."))
    return code, reason


async def _check_counted(db: AsyncSession, ctx: TenantContext, year: int, code: str, no_set: str) -> None:
    """`code` is a row of the bound tenant's set for `year` that counts toward its maximum (not bonus/penalty)."""
    loaded = await services.load(db, ctx.province, year)
    if loaded is None:
        raise DecisionError("criterion", no_set)
    row = next((r for r in loaded.sheet.rows() if r.code == code and not r.remainder), None)
    if row is None:
        raise DecisionError("criterion", f"Tiêu chí {code!r} không có trong bộ chỉ số năm {year} của đơn vị.")
    if loaded.sheet.area_of(code).node.kind not in COUNTED:
        raise DecisionError("criterion", f"{code} là điểm cộng hoặc điểm trừ: không tính vào điểm tối đa.")


async def _existing(db: AsyncSession, year: int, code: str) -> NotApplicableDecision | None:
    return await db.scalar(
        select(NotApplicableDecision).where(
            NotApplicableDecision.year == year, NotApplicableDecision.criterion_code == code
        )
    )
