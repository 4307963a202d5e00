"""The local stack's certificate authority and the server certificates it signs, as RDS has its own CA.

Every Postgres server (primaries and replicas) and PgBouncer present a certificate of their own, signed by a
CA that exists only in the work directory, naming the addresses clients use: ``127.0.0.1`` (an IP SAN) and
``localhost``. The app and the migrations verify them with ``verify-full`` against that CA's certificate,
``NEXUS_DB_CA_BUNDLE``, the same setting that points at the RDS bundle in the image. The CA's key is kept so
that a rerun on the same work directory signs new server certificates the old bundle still verifies.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from devstack.procs import ServiceUser

SERVER_HOSTS = ("127.0.0.1", "localhost")
"""What a server certificate names: the addresses of the local tenant map and of the fixtures' DSNs."""
CA_DAYS = 3650
SERVER_DAYS = 397
"""As long as a publicly trusted server certificate may be; every start signs new ones anyway."""


@dataclass(frozen=True)
class ServerCert:
    cert: Path
    key: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "nexus devstack"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    path.chmod(0o600)


def make_ca(directory: Path, common_name: str = "nexus devstack CA") -> tuple[Path, Path]:
    """A self-signed CA (ca.crt, ca.key) in `directory`, made once and reused."""
    directory.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = directory / "ca.crt", directory / "ca.key"
    if cert_path.exists() and key_path.exists():
        return cert_path, key_path
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(_name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_key(key_path, key)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    cert_path.chmod(0o644)
    return cert_path, key_path


def _subject_alt_names(hosts: tuple[str, ...]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return names


def issue_server_cert(
    directory: Path,
    name: str,
    *,
    ca_cert: Path,
    ca_key: Path,
    hosts: tuple[str, ...] = SERVER_HOSTS,
    owner: ServiceUser | None = None,
) -> ServerCert:
    """A server certificate and key (`<name>.crt`, `<name>.key`) for `hosts`, signed by the CA.

    The key is 0600 and, when `owner` is another user, owned by it: Postgres refuses a key file that others
    can read, or that belongs to someone else than the server's user (or root)."""
    issuer = x509.load_pem_x509_certificate(ca_cert.read_bytes())
    signing_key = serialization.load_pem_private_key(ca_key.read_bytes(), password=None)
    if not isinstance(signing_key, ec.EllipticCurvePrivateKey):
        raise TypeError(f"{ca_key} is not the EC key this module makes")
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(name))
        .issuer_name(issuer.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=SERVER_DAYS))
        .add_extension(x509.SubjectAlternativeName(_subject_alt_names(hosts)), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signing_key.public_key()), critical=False
        )
        .sign(signing_key, hashes.SHA256())
    )
    safe = name.replace(":", "-")
    paths = ServerCert(cert=directory / f"{safe}.crt", key=directory / f"{safe}.key")
    _write_key(paths.key, key)
    paths.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths.cert.chmod(0o644)
    if owner is not None and not owner.is_current:
        for path in (paths.key, paths.cert):
            os.chown(path, owner.uid, owner.gid)
    return paths
