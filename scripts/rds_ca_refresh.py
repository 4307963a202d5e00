"""Take Amazon RDS's current global CA bundle into the image: fetch it, check it, update the pin.

    venv/bin/python scripts/rds_ca_refresh.py                     # make rds-ca-refresh
    venv/bin/python scripts/rds_ca_refresh.py --from-file FILE    # a bundle downloaded elsewhere

Downloads https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem (or reads FILE), refuses anything
that is not a PEM bundle of self-signed Amazon RDS root CAs, and rewrites app/certs/rds-global-bundle.pem, the
``ARG RDS_CA_BUNDLE_SHA256`` pin in app/Dockerfile and the sha256 and content lines of app/certs/README.md.
Prints the certificate count and the regions added and removed, for the review of the diff.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import sys
import urllib.request
from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import NameOID

OFFICIAL_URL = "https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem"
ROOT = Path(__file__).resolve().parent.parent
BUNDLE = Path("app/certs/rds-global-bundle.pem")
DOCKERFILE = Path("app/Dockerfile")
README = Path("app/certs/README.md")
PIN = re.compile(r"^(ARG RDS_CA_BUNDLE_SHA256=)([0-9a-f]{64})$", re.MULTILINE)
README_SHA = re.compile(r"^(\| sha256 \| `)([0-9a-f]{64})(` \|)$", re.MULTILINE)
README_CONTENT = re.compile(r"^\| content \| (\d+) self-signed root certificates,", re.MULTILINE)
REGION = re.compile(r"^Amazon RDS (?:Beta |Preview )?(\S+) Root CA")


class BundleError(ValueError):
    """The downloaded file is not what the image may trust."""


def check_bundle(data: bytes) -> list[x509.Certificate]:
    """The certificates of ``data``; BundleError unless each is a self-signed Amazon RDS root CA."""
    try:
        certificates = x509.load_pem_x509_certificates(data)
    except ValueError as exc:
        raise BundleError(f"not a PEM bundle of certificates ({exc})") from exc
    for cert in certificates:
        subject = cert.subject.rfc4514_string()
        units = [a.value for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)]
        if cert.issuer != cert.subject or units != ["Amazon RDS"]:
            raise BundleError(f"not a self-signed Amazon RDS root: {subject}")
        try:
            constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
        except x509.ExtensionNotFound:
            raise BundleError(f"no basicConstraints, so not a CA: {subject}") from None
        if not constraints.ca:
            raise BundleError(f"not a CA certificate: {subject}")
    return certificates


def regions(certificates: list[x509.Certificate]) -> set[str]:
    names = set()
    for cert in certificates:
        for attribute in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME):
            match = REGION.match(str(attribute.value))
            if match:
                names.add(match.group(1))
    return names


def _replace(pattern: re.Pattern[str], text: str, replacement: str, where: Path) -> str:
    updated, count = pattern.subn(replacement, text)
    if count != 1:
        raise BundleError(f"{where}: expected one match of {pattern.pattern!r}, found {count}")
    return updated


def update(root: Path, data: bytes) -> str:
    """Write ``data`` as the bundle under ``root`` and pin it; returns a one-paragraph summary."""
    new = check_bundle(data)
    old_path = root / BUNDLE
    old = check_bundle(old_path.read_bytes()) if old_path.exists() else []
    digest = hashlib.sha256(data).hexdigest()
    dockerfile = _replace(PIN, (root / DOCKERFILE).read_text(), rf"\g<1>{digest}", DOCKERFILE)
    readme = _replace(README_SHA, (root / README).read_text(), rf"\g<1>{digest}\g<3>", README)
    readme = _replace(
        README_CONTENT, readme, f"| content | {len(new)} self-signed root certificates,", README
    )
    old_path.write_bytes(data)
    (root / DOCKERFILE).write_text(dockerfile)
    (root / README).write_text(readme)
    added = sorted(regions(new) - regions(old))
    removed = sorted(regions(old) - regions(new))
    return (
        f"{BUNDLE}: {len(new)} certificates (was {len(old)}), sha256 {digest}\n"
        f"regions added: {', '.join(added) or 'none'}; removed: {', '.join(removed) or 'none'}\n"
        f"updated {DOCKERFILE} (ARG RDS_CA_BUNDLE_SHA256) and {README}; also update README's 'taken from' "
        "row (the official URL, today's date) before committing"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/rds_ca_refresh.py", description=__doc__.split("\n")[0])
    parser.add_argument("--from-file", type=Path, help="a bundle already downloaded (default: fetch the URL)")
    parser.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        if args.from_file is not None:
            data = args.from_file.read_bytes()
        else:
            with urllib.request.urlopen(OFFICIAL_URL, timeout=30) as response:
                data = response.read()
        print(update(args.root, data))
    except (OSError, BundleError) as exc:
        print(f"rds-ca-refresh: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
