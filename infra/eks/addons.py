"""The EKS managed add-ons the cluster installs, and the order they need relative to the nodes."""

from __future__ import annotations

from typing import Final, Literal

AddonName = Literal["vpc-cni", "kube-proxy", "coredns", "eks-pod-identity-agent", "metrics-server"]
ADDONS: Final[tuple[AddonName, ...]] = (
    "vpc-cni",
    "kube-proxy",
    "eks-pod-identity-agent",
    "coredns",
    "metrics-server",
)
