"""Helm charts whose CRDs Pulumi manages itself, and where each chart version's CRDs are published.

Helm installs a chart's ``crds/`` directory on the first install only: "There is no support at this time
for upgrading or deleting CRDs using Helm" (helm.sh, Chart best practices, "Custom Resource Definitions";
HIP-0011). A chart bump would therefore run a new controller against the old CRDs. The CRDs are instead a
resource of their own, read from the controller's repository at the tag of the chart's ``appVersion``, and the
helm release is installed with ``skip_crds``. Pure (no Pulumi import): the config and the policy read it too.
"""

from __future__ import annotations

from typing import Final

LB_CONTROLLER_CHART: Final = "aws-load-balancer-controller"

LB_CONTROLLER_APP_VERSIONS: Final = {
    # Chart version -> the controller version it ships (appVersion). Source: the chart's Chart.yaml,
    # helm/aws-load-balancer-controller/Chart.yaml in kubernetes-sigs/aws-load-balancer-controller at tag
    # v2.14.0 ("version: 1.14.0",
    # "appVersion: v2.14.0"). Add a row (from the new tag's Chart.yaml) before bumping the chart.
    "1.14.0": "v2.14.0",
}
"""aws-load-balancer-controller chart version -> controller version (the git tag its CRDs are read at)."""

LB_CONTROLLER_CRDS_PATH: Final = "helm/aws-load-balancer-controller/crds/crds.yaml"
"""The chart's CRDs in the controller's repository: IngressClassParams and TargetGroupBinding (elbv2.k8s.aws),
as at tag v2.14.0."""


def lb_controller_crds_url(chart_version: str) -> str:
    """Where the CRDs of one chart version are published: the controller's repository at its release tag.

    KeyError (naming the known versions) for a chart version without a row.
    """
    try:
        tag = LB_CONTROLLER_APP_VERSIONS[chart_version]
    except KeyError:
        known = ", ".join(sorted(LB_CONTROLLER_APP_VERSIONS))
        raise KeyError(
            f"no CRD source known for {LB_CONTROLLER_CHART} chart {chart_version} (known: {known})"
        ) from None
    return (
        "https://raw.githubusercontent.com/kubernetes-sigs/aws-load-balancer-controller/"
        f"{tag}/{LB_CONTROLLER_CRDS_PATH}"
    )
