"""TLS to the databases: one trust bundle, full verification, the same code path everywhere.

`NEXUS_DB_CA_BUNDLE` names a PEM file of CA certificates: locally the devstack's CA; in the image the system
roots plus the RDS global bundle (which RDS and RDS Proxy certificates chain to, and which the system store
lacks). The API (asyncpg) and the migrations (libpq) both verify the chain and the host name against it.
"""

from __future__ import annotations

import ssl
from pathlib import Path


def verifying_context(ca_bundle: Path) -> ssl.SSLContext:
    """A client context that trusts exactly `ca_bundle` and checks the server's name (verify-full).

    Raises ValueError naming the file when it cannot be read or holds no CA certificate."""
    try:
        context = ssl.create_default_context(cafile=str(ca_bundle))
    except (OSError, ssl.SSLError) as exc:
        raise ValueError(
            f"NEXUS_DB_CA_BUNDLE={ca_bundle}: cannot load it as a PEM CA bundle ({exc})"
        ) from exc
    if context.cert_store_stats()["x509_ca"] == 0:
        raise ValueError(f"NEXUS_DB_CA_BUNDLE={ca_bundle}: holds no CA certificate")
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    # create_default_context already sets these; stated so that nobody relaxes them by accident.
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    return context


def libpq_params(mode: str, ca_bundle: Path | None) -> dict[str, str]:
    """The same choice for libpq (psycopg2, the migrations): sslmode and sslrootcert."""
    if mode == "disable":
        return {"sslmode": "disable"}
    assert ca_bundle is not None  # the settings refuse verify-full without a bundle
    return {"sslmode": "verify-full", "sslrootcert": str(ca_bundle)}
