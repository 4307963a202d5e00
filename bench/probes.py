"""Server-side views taken during and after a load: Postgres connections of the app role on the primaries
(pooling), and table-scan counters on primaries and replicas (replica offload)."""

from __future__ import annotations

import threading
import time

import psycopg2

APP_ROLE = "nexus_app"
_SERVER_CONNS = "SELECT count(*) FROM pg_stat_activity WHERE usename = %s AND backend_type = 'client backend'"
# Scans of the documents table: every read query of the app touches it once (an index or a sequential scan);
# an INSERT does not scan it. Hot standbys count the scans of their own queries.
_DOC_SCANS = (
    "SELECT coalesce(seq_scan, 0) + coalesce(idx_scan, 0)"
    " FROM pg_stat_user_tables WHERE relname = 'documents'"
)


def _query_int(dsn: str, sql: str, *args: object) -> int:
    with psycopg2.connect(dsn, connect_timeout=5) as conn, conn.cursor() as cur:
        cur.execute(sql, args or None)
        row = cur.fetchone()
    conn.close()
    return int(row[0]) if row else 0


class ConnectionSampler:
    """Samples the app role's server connections on each primary every `interval` s; keeps the maxima."""

    def __init__(self, dsns: dict[str, str], interval: float = 0.1) -> None:
        self._dsns = dsns
        self._interval = interval
        self.maxima: dict[str, int] = dict.fromkeys(dsns, 0)
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> ConnectionSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        # One superuser connection per primary, held for the whole load (it is not the app role's).
        conns = {name: psycopg2.connect(dsn, connect_timeout=5) for name, dsn in self._dsns.items()}
        try:
            for conn in conns.values():
                conn.autocommit = True
            while not self._stop.is_set():
                for name, conn in conns.items():
                    with conn.cursor() as cur:
                        cur.execute(_SERVER_CONNS, (APP_ROLE,))
                        row = cur.fetchone()
                    self.maxima[name] = max(self.maxima[name], int(row[0]) if row else 0)
                self.samples += 1
                time.sleep(self._interval)
        finally:
            for conn in conns.values():
                conn.close()


def scan_counters(primaries: dict[str, str], replicas: dict[str, str]) -> tuple[int, int]:
    """(scans on every primary, scans on every replica) of the documents table so far."""
    primary = sum(_query_int(dsn, _DOC_SCANS) for dsn in primaries.values())
    replica = sum(_query_int(dsn, _DOC_SCANS) for dsn in replicas.values())
    return primary, replica
