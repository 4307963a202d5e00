"""The EKS managed add-ons the cluster installs, and the reviewed add-on versions per Kubernetes minor.

Why a table: an ``aws.eks.Addon`` without ``addon_version`` gets EKS's default for the cluster's version once,
when it is created, and keeps it. Bumping ``nexus:cluster.version`` would then upgrade only the control plane
and leave vpc-cni, kube-proxy and coredns behind (kube-proxy must follow the control plane's minor). With the
versions pinned per minor, a version bump moves every add-on in the same ``pulumi up``; a config pin in
``nexus:cluster.addonVersions`` still wins.

Sources, per row (re-check them with ``aws eks describe-addon-versions --kubernetes-version <minor>
--addon-name <name>`` before adding a row; the dated figures are what was found, not what AWS offers today):

- 1.32: the Amazon EKS User Guide's version tables, "Amazon VPC CNI versions" (managing-vpc-cni.html),
  "kube-proxy versions" (managing-kube-proxy.html) and "CoreDNS versions" (managing-coredns.html), as
  published in awsdocs/amazon-eks-user-guide (latest/ug/networking/*.adoc, 2025).
- 1.33 and 1.34: the guide's tables stop at 1.32 in every copy found here. These rows are the versions
  ``describe-addon-versions`` returned in ap-northeast-2 on 2026-09-04 as recorded in a public Terraform
  repository (vpc-cni v1.22.4-eksbuild.3 for 1.31-1.36; coredns v1.12.4-eksbuild.29 for 1.33 and 1.34;
  kube-proxy v1.33.10-eksbuild.21 and v1.34.6-eksbuild.21). Not yet checked against AWS's own page: confirm
  them at the first real deploy (docs/cluster.md, "Versions").

eks-pod-identity-agent and metrics-server have no per-minor table in the guide (the agent's versions are not
tied to a minor; metrics-server is a community add-on). They are not in the table: unless pinned in config,
the cluster component asks EKS for the default version for the cluster's minor (``eks.getAddonVersion`` with
``most_recent=False``), so they, too, move when the version does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, Literal

AddonName = Literal["vpc-cni", "kube-proxy", "coredns", "eks-pod-identity-agent", "metrics-server"]
ADDONS: Final[tuple[AddonName, ...]] = (
    "vpc-cni",
    "kube-proxy",
    "eks-pod-identity-agent",
    "coredns",
    "metrics-server",
)

TABLED_ADDONS: Final[tuple[AddonName, ...]] = ("vpc-cni", "kube-proxy", "coredns")
"""Add-ons whose version is pinned per Kubernetes minor by ``ADDON_VERSIONS``."""

ADDON_VERSIONS: Final[Mapping[str, Mapping[AddonName, str]]] = {
    "1.32": {
        "vpc-cni": "v1.19.2-eksbuild.5",
        "kube-proxy": "v1.32.3-eksbuild.7",
        "coredns": "v1.11.4-eksbuild.2",
    },
    "1.33": {
        "vpc-cni": "v1.22.4-eksbuild.3",
        "kube-proxy": "v1.33.10-eksbuild.21",
        "coredns": "v1.12.4-eksbuild.29",
    },
    "1.34": {
        "vpc-cni": "v1.22.4-eksbuild.3",
        "kube-proxy": "v1.34.6-eksbuild.21",
        "coredns": "v1.12.4-eksbuild.29",
    },
}
"""Kubernetes minor -> add-on -> reviewed version (sources in the module docstring)."""

ADDON_CONFIGURATION: Final[Mapping[AddonName, Mapping[str, str]]] = {
    # The VPC CNI's network policy agent: without it NetworkPolicy objects are accepted and do nothing. The
    # managed add-on's setting is the string "true" (EKS user guide, "Restrict Pod network traffic with
    # Kubernetes network policies", cni-network-policy-configure.html: configuration value
    # {"enableNetworkPolicy": "true"}).
    "vpc-cni": {"enableNetworkPolicy": "true"},
}
"""configuration_values per add-on (JSON, matched by EKS against describe-addon-configuration's schema)."""

NETWORK_POLICY_MIN_VPC_CNI: Final = (1, 14)
"""The VPC CNI enforces Kubernetes network policies from v1.14 (EKS user guide, cni-network-policy.html)."""


def missing_versions(kubernetes_version: str, overrides: Mapping[str, str]) -> list[AddonName]:
    """Tabled add-ons that have neither a reviewed version for this minor nor a config pin."""
    row = ADDON_VERSIONS.get(kubernetes_version, {})
    return [addon for addon in TABLED_ADDONS if addon not in row and addon not in overrides]


def pinned_versions(kubernetes_version: str, overrides: Mapping[str, str]) -> dict[AddonName, str]:
    """The versions to pin: the reviewed row of this minor, overridden by config pins.

    Add-ons absent from the result (pod identity agent, metrics-server unless pinned) take EKS's default for
    the minor. Raises KeyError when a tabled add-on has no version (config validation reports it first).
    """
    missing = missing_versions(kubernetes_version, overrides)
    if missing:
        raise KeyError(f"no reviewed version of {', '.join(missing)} for Kubernetes {kubernetes_version}")
    row = dict(ADDON_VERSIONS.get(kubernetes_version, {}))
    for addon in ADDONS:
        if addon in overrides:
            row[addon] = overrides[addon]
    return row


def vpc_cni_minor(version: str) -> tuple[int, int]:
    """``v1.19.2-eksbuild.5`` -> (1, 19)."""
    major, minor = version.lstrip("v").split(".")[:2]
    return int(major), int(minor)
