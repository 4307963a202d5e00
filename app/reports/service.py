from __future__ import annotations

from app.auth.deps import Principal
from app.core.db import tenant_tx
from app.reports.schemas import Summary


async def summary(p: Principal) -> Summary:
    """Counts for the tenant, computed on a replica (they may lag the writer by the replication delay)."""
    async with tenant_tx(p.shard, p.tenant, role="reader") as conn:
        row = await conn.fetchrow(
            "SELECT (SELECT count(*) FROM documents WHERE tenant_id = $1) AS documents,"
            " (SELECT count(*) FROM attachments WHERE tenant_id = $1) AS attachments,"
            " (SELECT coalesce(sum(size_bytes), 0) FROM attachments WHERE tenant_id = $1) AS bytes",
            p.tenant,
        )
    return Summary(
        tenant=p.tenant,
        documents=row["documents"],
        attachments=row["attachments"],
        attachment_bytes=int(row["bytes"]),
    )
