"""Small pieces shared by several components of ``infra``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
import pulumi_kubernetes as k8s


def chart_release(
    name: str,
    parent: pulumi.Resource,
    *,
    chart: str,
    version: str,
    repo: str,
    namespace: str,
    values: pulumi.Input[Mapping[str, Any]],
    provider: pulumi.ProviderResource,
    depends_on: Sequence[pulumi.Resource],
    skip_crds: bool = False,
) -> k8s.helm.v3.Release:
    """A pinned helm chart, installed under the chart's own name as a child of ``parent``.

    Atomic with cleanup on failure: a failed install or upgrade is rolled back rather than left half-applied.
    ``skip_crds`` leaves the chart's CRDs to a resource of their own (Helm never upgrades them).
    """
    return k8s.helm.v3.Release(
        f"{name}-release",
        name=chart,
        chart=chart,
        version=version,
        repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=repo),
        namespace=namespace,
        values=values,
        atomic=True,
        cleanup_on_fail=True,
        skip_crds=skip_crds or None,
        opts=pulumi.ResourceOptions(parent=parent, provider=provider, depends_on=list(depends_on)),
    )
