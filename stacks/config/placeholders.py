"""Example values that the shipped stack files carry and that must never reach AWS.

The checked-in ``Pulumi.<stack>.yaml`` files keep documentation values where only the adopter knows the real
one (their account's role ARNs, their certificate, their office CIDR). The offline preview runs with them and
lists them; a real ``pulumi up`` (not a dry run) refuses to start while any remains (stacks/program.py), so a
forgotten example can never create a resource. What counts as an example value, and where each is defined:

- the account ids of the AWS documentation's examples, ``123456789012``, ``111122223333`` and
  ``444455556666`` (IAM user guide, "IAM identifiers" and the policy examples);
- addresses and CIDRs inside the documentation ranges: ``192.0.2.0/24``, ``198.51.100.0/24``,
  ``203.0.113.0/24`` (RFC 5737, TEST-NET-1/2/3) and ``2001:db8::/32`` (RFC 3849);
- the domains reserved for examples: ``example.com``, ``example.net``, ``example.org`` and names under them
  (RFC 2606 section 3), and the reserved top-level domains ``.example``, ``.test``, ``.invalid`` (section 2);
- the all-zero UUID that stands for an ACM certificate id (or a connection id), and an all-zero ``sha256``
  image digest;
- GitHub's example organisation ``octo-org`` (GitHub docs, "About security hardening with OpenID Connect",
  ``repo:octo-org/octo-repo:...``) as the owner of a repository.

The check walks the raw config (every key of every namespace, at any depth), so a key added later is covered
without registering it here.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

EXAMPLE_ACCOUNT_IDS = ("123456789012", "111122223333", "444455556666")
DOCUMENTATION_NETWORKS = tuple(
    ipaddress.ip_network(cidr)
    for cidr in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")
)
EXAMPLE_DOMAINS = ("example.com", "example.net", "example.org")
RESERVED_TLDS = ("example", "test", "invalid")
ZERO_UUID = "00000000-0000-0000-0000-000000000000"
ZERO_DIGEST = "sha256:" + "0" * 64
GITHUB_EXAMPLE_OWNER = "octo-org"
_HOSTNAME = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]+\.?$", re.IGNORECASE)


def _why(value: str) -> str | None:
    """Why ``value`` is an example value, or None."""
    for account in EXAMPLE_ACCOUNT_IDS:
        if account in value:
            return f"the AWS documentation's example account id {account}"
    if ZERO_UUID in value:
        return "an all-zero id (a sample certificate)"
    if ZERO_DIGEST in value:
        return "an all-zero image digest"
    if value == GITHUB_EXAMPLE_OWNER or value.startswith(f"{GITHUB_EXAMPLE_OWNER}/"):
        return f"GitHub's example organisation {GITHUB_EXAMPLE_OWNER}"
    network = _network(value)
    if network is not None:
        for documentation in DOCUMENTATION_NETWORKS:
            if network.version == documentation.version and network.subnet_of(documentation):  # type: ignore[arg-type]
                return f"inside the documentation range {documentation} (RFC 5737 / RFC 3849)"
        return None
    if _HOSTNAME.match(value):
        host = value.lower().rstrip(".")
        if any(host == domain or host.endswith("." + domain) for domain in EXAMPLE_DOMAINS):
            return "a domain reserved for examples (RFC 2606)"
        if host.rsplit(".", 1)[-1] in RESERVED_TLDS:
            return "under a top-level domain reserved for examples (RFC 2606)"
    return None


def _network(value: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(value, strict=False)
    except ValueError:
        return None


def _leaves(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(item, f"{path}.{index}")
    elif isinstance(value, str):
        yield path, value


def _decode(encoded: str) -> Any:
    try:
        return json.loads(encoded)
    except ValueError:
        return encoded


def find_placeholders(raw: Mapping[str, str]) -> list[str]:
    """One line per example value in raw engine config (``namespace:key`` -> string, JSON for structures):
    ``<key path>: <value> is an example value (<why>); replace it before pulumi up``, sorted by key path."""
    lines = []
    for key in sorted(raw):
        for path, value in _leaves(_decode(raw[key]), key):
            why = _why(value)
            if why is not None:
                lines.append(f"{path}: {value!r} is an example value ({why}); replace it before `pulumi up`")
    return lines
