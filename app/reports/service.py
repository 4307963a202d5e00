from __future__ import annotations

from app.auth.deps import Principal
from app.core.db import replica_read
from app.reports.schemas import Summary

_SUMMARY = (
    "SELECT (SELECT count(*) FROM documents WHERE tenant_id = $1) AS documents,"
    " (SELECT count(*) FROM attachments WHERE tenant_id = $1) AS attachments,"
    " (SELECT coalesce(sum(size_bytes), 0) FROM attachments WHERE tenant_id = $1) AS bytes"
)


async def summary(p: Principal) -> Summary:
    """Counts for the tenant, computed on a replica (they may lag the writer by the replication delay)."""
    row = await replica_read(p.shard, p.tenant, lambda conn: conn.fetchrow(_SUMMARY, p.tenant))
    return Summary(
        tenant=p.tenant,
        documents=row["documents"],
        attachments=row["attachments"],
        attachment_bytes=int(row["bytes"]),
    )
