"""The image's TLS setup for the databases: its bundle (Debian's roots plus the pinned RDS global bundle)
parses, holds both, and is what the app's own TLS code loads by default; the same code, given the local
stack's CA instead, connects to the stack's Postgres, which the image's bundle refuses (it trusts RDS, not
that CA)."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from image_support import api_run

from devstack import LocalStack
from devstack.image import BUILD_FLAGS, PODMAN, ULIMITS, Built
from infra.k8s.manifests import IMAGE_DB_CA_BUNDLE
from tests.support.harness import PROJECT_DIR

pytestmark = [pytest.mark.integration, pytest.mark.slow]

RDS_BUNDLE = PROJECT_DIR / "app" / "certs" / "rds-global-bundle.pem"
SYSTEM_ROOTS = "/etc/ssl/certs/ca-certificates.crt"

# Run by the image's python, with the image's own environment: the settings the API builds at start-up, and
# the context app/core/db.py hands to asyncpg.
PROBE = r"""
import asyncio, json, os, ssl, sys
from pathlib import Path
import asyncpg
from app.core.dbtls import verifying_context
from app.core.settings import DatabaseSettings

settings = DatabaseSettings()  # NEXUS_DB_SSL=verify-full: the bundle is loaded here, or start-up fails
image_ctx = verifying_context(settings.ca_bundle)
cas = image_ctx.get_ca_certs()
names = sorted(dict(part[0] for part in ca["subject"]).get("commonName", "") for ca in cas)

async def handshake(ctx):
    try:
        conn = await asyncpg.connect(sys.argv[1], ssl=ctx, timeout=10)
    except ssl.SSLCertVerificationError as exc:
        return "refused: " + exc.verify_message
    try:
        tls = await conn.fetchval("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        return "connected, tls=" + str(tls)
    finally:
        await conn.close()

print(json.dumps({
    "ssl": settings.ssl,
    "bundle": str(settings.ca_bundle),
    "x509_ca": image_ctx.cert_store_stats()["x509_ca"],
    "names": names,
    "with_image_bundle": asyncio.run(handshake(image_ctx)),
    "with_stack_ca": asyncio.run(handshake(verifying_context(Path(sys.argv[2])))),
}))
"""


def _run(image: str, *args: str, mounts: tuple[Path, ...] = ()) -> str:
    volumes = [flag for path in mounts for flag in ("--volume", f"{path}:{path}:ro")]
    command = [
        *PODMAN,
        "run",
        "--rm",
        "--network",
        "host",
        "--no-healthcheck",
        *ULIMITS,
        *api_run().flags,
        *volumes,
        image,
        *args,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def probe(api_image: Built, data_stack: LocalStack) -> dict[str, Any]:
    dsn = data_stack.primary_dsn(data_stack.topology.shards[0].id)
    ca = data_stack.ca_cert
    output = _run(api_image.image, "python", "-c", PROBE, dsn, str(ca), mounts=(ca,))
    result: dict[str, Any] = json.loads(output)
    print({key: value for key, value in result.items() if key != "names"})
    return result


def test_the_image_bundle_is_the_system_roots_followed_by_the_pinned_rds_bundle(api_image: Built) -> None:
    combined = _run(api_image.image, "cat", IMAGE_DB_CA_BUNDLE).encode()
    system = _run(api_image.image, "cat", SYSTEM_ROOTS).encode()
    rds = RDS_BUNDLE.read_bytes()
    assert combined == system + rds
    # Counted by PEM block: Debian's store holds a root with a zero serial number, which cryptography warns
    # about; OpenSSL (the ssl module, below) loads it.
    system_count = system.count(b"-----BEGIN CERTIFICATE-----")
    rds_count = len(x509.load_pem_x509_certificates(rds))
    assert (system_count > 100, rds_count) == (True, 102)
    assert combined.count(b"-----BEGIN CERTIFICATE-----") == system_count + rds_count


def test_the_apps_tls_code_loads_it_by_default(probe: dict[str, Any]) -> None:
    assert (probe["ssl"], probe["bundle"]) == ("verify-full", IMAGE_DB_CA_BUNDLE)
    names = set(probe["names"])
    # RDS roots of each key type, and system roots (Amazon Trust Services, Let's Encrypt).
    for rds_root in (
        "Amazon RDS us-east-1 Root CA RSA2048 G1",
        "Amazon RDS us-east-1 Root CA RSA4096 G1",
        "Amazon RDS us-east-1 Root CA ECC384 G1",
        "Amazon RDS eu-west-1 Root CA RSA2048 G1",
    ):
        assert rds_root in names
    assert {"Amazon Root CA 1", "ISRG Root X1"} <= names
    assert sum(name.startswith("Amazon RDS ") for name in probe["names"]) == 102
    assert probe["x509_ca"] > 102 + 100


def test_it_verifies_the_server_the_same_code_path_as_against_the_stack_ca(probe: dict[str, Any]) -> None:
    # The local stack's Postgres presents a certificate of the stack's own CA: the image's bundle refuses
    # it, and the same code given that CA (as NEXUS_DB_CA_BUNDLE does locally) connects over TLS.
    assert probe["with_image_bundle"] == "refused: unable to get local issuer certificate"
    assert probe["with_stack_ca"] == "connected, tls=True"


def test_the_build_refuses_a_bundle_that_does_not_match_the_pin(api_image: Built) -> None:
    """The db-ca stage built with another pin (as if the file had changed): sha256sum -c stops the build."""
    if api_image.base.startswith("("):
        pytest.skip("the image came from CI's archive: no local base to build a stage from")
    wrong = hashlib.sha256(b"not the bundle").hexdigest()
    done = subprocess.run(
        [
            *PODMAN,
            "build",
            *BUILD_FLAGS,
            "--from",
            api_image.base,
            "--target",
            "db-ca",
            "--build-arg",
            f"RDS_CA_BUNDLE_SHA256={wrong}",
            "--file",
            str(PROJECT_DIR / "app" / "Dockerfile"),
            str(PROJECT_DIR),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode != 0
    assert "rds-global-bundle.pem: FAILED" in done.stdout + done.stderr
