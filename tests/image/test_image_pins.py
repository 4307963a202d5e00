"""What app/Dockerfile pins and what the rest of the project expects of it, without building: the RDS CA
bundle and its checksum (the file, the Dockerfile's pin, app/certs/README.md), the refresh script that updates
all three, and the one port every layer agrees on (Dockerfile, manifests, stack config, the app's default)."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509

from app.core.settings import ServerSettings
from infra.k8s import manifests
from stacks.config.alb import AlbConfig
from tests.support.harness import PROJECT_DIR

pytestmark = pytest.mark.unit

DOCKERFILE = PROJECT_DIR / "app" / "Dockerfile"
BUNDLE = PROJECT_DIR / "app" / "certs" / "rds-global-bundle.pem"
README = PROJECT_DIR / "app" / "certs" / "README.md"
REFRESH = PROJECT_DIR / "scripts" / "rds_ca_refresh.py"


def _pin(dockerfile: str) -> str:
    pins = re.findall(r"^ARG RDS_CA_BUNDLE_SHA256=([0-9a-f]{64})$", dockerfile, re.MULTILINE)
    assert len(pins) == 1, pins
    return str(pins[0])


def _readme_sha(readme: str) -> str:
    found = re.findall(r"^\| sha256 \| `([0-9a-f]{64})` \|$", readme, re.MULTILINE)
    assert len(found) == 1, found
    return str(found[0])


def test_the_checked_in_bundle_is_the_one_the_dockerfile_and_the_readme_pin() -> None:
    digest = hashlib.sha256(BUNDLE.read_bytes()).hexdigest()
    assert _pin(DOCKERFILE.read_text()) == digest
    assert _readme_sha(README.read_text()) == digest


def test_the_bundle_holds_the_rds_roots_the_readme_describes() -> None:
    certificates = x509.load_pem_x509_certificates(BUNDLE.read_bytes())
    count = int(re.findall(r"^\| content \| (\d+) self-signed", README.read_text(), re.MULTILINE)[0])
    assert len(certificates) == count == 102
    subjects = {cert.subject.rfc4514_string() for cert in certificates}
    assert any("CN=Amazon RDS us-east-1 Root CA RSA2048 G1" in subject for subject in subjects)
    assert all(cert.issuer == cert.subject for cert in certificates)


def test_the_build_verifies_the_pin_and_the_image_points_the_app_at_the_bundle() -> None:
    text = DOCKERFILE.read_text()
    assert "COPY app/certs/rds-global-bundle.pem ./rds-global-bundle.pem" in text
    assert "sha256sum -c --strict rds-global-bundle.pem.sha256" in text
    bundle = manifests.IMAGE_DB_CA_BUNDLE
    assert f"cat /etc/ssl/certs/ca-certificates.crt rds-global-bundle.pem > {bundle}" in text
    assert f"COPY --from=db-ca {bundle} {bundle}" in text
    env = _env(text)
    assert env["NEXUS_DB_CA_BUNDLE"] == bundle
    assert env["NEXUS_DB_SSL"] == "verify-full"


def _env(dockerfile: str) -> dict[str, str]:
    """The runtime stage's ENV settings (one ENV instruction, continued lines)."""
    runtime = dockerfile.split("AS runtime", 1)[1]
    block = runtime.split("ENV ", 1)[1].split("\nRUN", 1)[0]
    pairs = re.findall(r"([A-Z_]+)=(\S+)", block)
    return {key: value.rstrip("\\").strip() for key, value in pairs}


def test_one_port_from_the_dockerfile_to_the_manifests_and_the_app() -> None:
    """The image's NEXUS_PORT, EXPOSE and health check, the pods' containerPort default, the stack's
    alb.targetPort default and the app's own default are one number."""
    text = DOCKERFILE.read_text()
    port = manifests.DEFAULT_CONTAINER_PORT
    assert _env(text)["NEXUS_PORT"] == str(port)
    assert re.findall(r"^EXPOSE (\d+)$", text, re.MULTILINE) == [str(port)]
    assert f"os.environ.get('NEXUS_PORT', '{port}')" in text
    assert AlbConfig.model_fields["target_port"].default == port
    assert ServerSettings.model_fields["port"].default == port


def _copy_pinned_files(root: Path) -> None:
    (root / "app" / "certs").mkdir(parents=True)
    shutil.copy(DOCKERFILE, root / "app" / "Dockerfile")
    shutil.copy(BUNDLE, root / "app" / "certs" / BUNDLE.name)
    shutil.copy(README, root / "app" / "certs" / README.name)


def _refresh(root: Path, source: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REFRESH), "--root", str(root), "--from-file", str(source)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_refresh_updates_file_pin_and_readme_together(tmp_path: Path) -> None:
    _copy_pinned_files(tmp_path)
    # A "new" bundle: today's without its last three roots.
    pems = re.findall(
        rb"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", BUNDLE.read_bytes(), re.DOTALL
    )
    fewer = b"\n".join(pems[:-3]) + b"\n"
    source = tmp_path / "downloaded.pem"
    source.write_bytes(fewer)
    done = _refresh(tmp_path, source)
    assert done.returncode == 0, done.stderr
    digest = hashlib.sha256(fewer).hexdigest()
    assert (tmp_path / "app" / "certs" / BUNDLE.name).read_bytes() == fewer
    assert _pin((tmp_path / "app" / "Dockerfile").read_text()) == digest
    readme = (tmp_path / "app" / "certs" / README.name).read_text()
    assert _readme_sha(readme) == digest
    assert "| content | 99 self-signed root certificates," in readme
    assert "99 certificates (was 102)" in done.stdout


def test_the_refresh_refuses_what_is_not_a_bundle_of_rds_roots(tmp_path: Path) -> None:
    _copy_pinned_files(tmp_path)
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    html = tmp_path / "error.html"
    html.write_text("<html><body>Access denied</body></html>")
    done = _refresh(tmp_path, html)
    assert done.returncode == 1
    assert "not a PEM bundle of certificates" in done.stderr
    # A system root is a CA but not Amazon RDS's.
    system = tmp_path / "system.pem"
    system.write_bytes(Path("/etc/ssl/certs/ca-certificates.crt").read_bytes())
    done = _refresh(tmp_path, system)
    assert done.returncode == 1
    assert "not a self-signed Amazon RDS root" in done.stderr
    assert {p: p.read_bytes() for p in before} == before
