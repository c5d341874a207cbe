"""`parboard evidence check`: drift between the evidence rows (every tenant's) and the blob storage.

Rows are read with the owner engine, binding each tenant in turn (row-level security is forced on the
owner too). Reported: rows whose blob is missing or has another size, blobs nothing references
(neither an evidence row, soft-deleted ones included, nor a submission package), and stale temporary
files: older than `stale_after`, so no upload or package build is still writing them (a process killed
mid-way, which no clean-up of its own can reach); `remove_stale` deletes them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db.models import Tenant
from backend.db.models.evidence import EvidenceFile, Submission
from backend.domain.evidence.storage import Storage, Temporary

_BIND = text("SELECT set_config('app.tenant_id', :tenant, true)")


@dataclass(frozen=True)
class Drift:
    tenant_code: str
    file_id: uuid.UUID
    filename: str
    sha256: str
    expected_size: int
    actual_size: int | None  # None: the blob is missing


@dataclass
class Report:
    rows: int = 0
    blobs: int = 0
    drifts: list[Drift] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)
    stale: list[Temporary] = field(default_factory=list)
    removed: list[Temporary] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.drifts and not self.orphans and not self.stale


STALE_AFTER = timedelta(hours=6)  # far longer than any upload or package build


async def check_storage(
    engine: AsyncEngine, storage: Storage, *, stale_after: timedelta = STALE_AFTER, remove_stale: bool = False
) -> Report:
    report = Report()
    # Listed before the rows are read: a temporary file older than this was not begun by anything running now.
    oldest_live = datetime.now(UTC) - stale_after
    async for temporary in storage.temporaries():
        if temporary.modified >= oldest_live:
            continue
        if remove_stale:
            await storage.remove_temporary(temporary.name)
            report.removed.append(temporary)
        else:
            report.stale.append(temporary)
    referenced: set[str] = set()
    async with engine.connect() as connection:
        async with connection.begin():
            tenants = (await connection.execute(select(Tenant.id, Tenant.code).order_by(Tenant.code))).all()
        for tenant_id, tenant_code in tenants:
            async with connection.begin():
                await connection.execute(_BIND, {"tenant": str(tenant_id)})
                files = (
                    await connection.execute(
                        select(
                            EvidenceFile.id,
                            EvidenceFile.filename,
                            EvidenceFile.sha256,
                            EvidenceFile.size,
                            EvidenceFile.deleted_at,
                        ).order_by(EvidenceFile.uploaded_at)
                    )
                ).all()
                packages = (
                    await connection.execute(
                        select(Submission.package_sha256, Submission.package_key).where(
                            Submission.package_sha256.is_not(None) | Submission.package_key.is_not(None)
                        )
                    )
                ).all()
            for package_sha256, package_key in packages:
                referenced.update(key for key in (package_sha256, package_key) if key)
            for file_id, filename, sha256, size, deleted_at in files:
                referenced.add(sha256)
                if deleted_at is not None:
                    continue
                report.rows += 1
                actual = await storage.size(sha256)
                if actual != size:
                    report.drifts.append(Drift(tenant_code, file_id, filename, sha256, size, actual))
    async for key in storage.keys():
        report.blobs += 1
        if key not in referenced:
            report.orphans.append(key)
    return report
