"""Reading Kubernetes objects out of the policy graph: kinds, names, namespaces, pod specs, containers and
label selection, as the API server resolves them. The workload rules (policy/workloads.py) build on these."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator, Mapping
from typing import Any

from policy.core import Graph, PolicyResource, as_int, items_of

K8S_PREFIX = "kubernetes:"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
CRON_JOB = "kubernetes:batch/v1:CronJob"
K8S_JOB = "kubernetes:batch/v1:Job"
K8S_POD_TYPES: frozenset[str] = frozenset(
    {
        DEPLOYMENT,
        "kubernetes:apps/v1:StatefulSet",
        "kubernetes:apps/v1:DaemonSet",
        K8S_JOB,
        CRON_JOB,
    }
)
K8S_CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
K8S_SECRET = "kubernetes:core/v1:Secret"  # noqa: S105 - a type token, not a password
K8S_NAMESPACE = "kubernetes:core/v1:Namespace"
K8S_SERVICE = "kubernetes:core/v1:Service"
K8S_SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount"
K8S_HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
K8S_PDB = "kubernetes:policy/v1:PodDisruptionBudget"
K8S_TARGET_GROUP_BINDING = "kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding"
DEFAULT_DEREGISTRATION_DELAY = 300
# pulumi_aws lb/target_group.py: deregistration_delay "The default value is 300 seconds."
PROVIDER_FIELD_MANAGER = "pulumi-kubernetes"
# pulumi/pulumi-kubernetes#2271: the provider's field manager is "pulumi-kubernetes" (client-side apply) or
# "pulumi-kubernetes-<suffix>" (server-side apply).
TARGET_GROUP_TYPES: frozenset[str] = frozenset(
    {"aws:lb/targetGroup:TargetGroup", "aws:alb/targetGroup:TargetGroup"}
)


# --- reading objects ------------------------------------------------------------------------------------


def metadata_of(resource: PolicyResource) -> Mapping[str, Any]:
    return resource.inputs.get("metadata") or {}


def object_name(resource: PolicyResource) -> str | None:
    """``metadata.name`` (None for an auto-named object before the provider names it)."""
    name = metadata_of(resource).get("name")
    return name if isinstance(name, str) else None


def namespace_of(resource: PolicyResource) -> str:
    return str(metadata_of(resource).get("namespace") or "default")


def spec_of(resource: PolicyResource) -> Mapping[str, Any]:
    return resource.inputs.get("spec") or {}


def _template(resource: PolicyResource) -> Mapping[str, Any]:
    spec = spec_of(resource)
    if resource.type == CRON_JOB:
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    return spec.get("template") or {}


def pod_spec(resource: PolicyResource) -> Mapping[str, Any] | None:
    """The pod spec of a workload object (a CronJob's through its job template); None for other kinds."""
    if resource.type not in K8S_POD_TYPES:
        return None
    return _template(resource).get("spec") or {}


def pod_labels(resource: PolicyResource) -> Mapping[str, Any]:
    return (_template(resource).get("metadata") or {}).get("labels") or {}


def containers(resource: PolicyResource) -> Iterator[tuple[str, Mapping[str, Any], Mapping[str, Any]]]:
    """(where, container, pod spec) for every init container and container of a workload object."""
    pod = pod_spec(resource)
    if pod is None:
        return
    for key in ("initContainers", "containers"):
        for box in items_of(pod.get(key)):
            if isinstance(box, Mapping):
                yield f"container {box.get('name')}", box, pod


def setting(container: Mapping[str, Any], pod: Mapping[str, Any], key: str) -> Any:
    """A security setting as Kubernetes resolves it: the container's, else the pod's."""
    value = (container.get("securityContext") or {}).get(key)
    return (pod.get("securityContext") or {}).get(key) if value is None else value


def selects(selector: Mapping[str, Any], labels: Mapping[str, Any]) -> bool:
    return bool(selector) and all(labels.get(key) == value for key, value in selector.items())


def workloads(graph: Graph) -> Iterator[PolicyResource]:
    return (resource for resource in graph.resources if resource.type in K8S_POD_TYPES)


def pod_containers(
    graph: Graph,
) -> Iterator[tuple[PolicyResource, str, Mapping[str, Any], Mapping[str, Any]]]:
    for resource in workloads(graph):
        for where, box, pod in containers(resource):
            yield resource, where, box, pod


def http_path(probe: Any) -> Any:
    """The path of an HTTP GET probe (None for other probes)."""
    return ((probe or {}).get("httpGet") or {}).get("path")


def cpu_millicores(value: str) -> int:
    """A Kubernetes CPU quantity (``500m``, ``2``, ``1.5``) in millicores."""
    return int(value[:-1]) if value.endswith("m") else int(float(value) * 1000)


def same_namespace(graph: Graph, type_: str, resource: PolicyResource) -> list[PolicyResource]:
    return [item for item in graph.by_type(type_) if namespace_of(item) == namespace_of(resource)]


def _decoded(value: str) -> str | None:
    try:
        return base64.b64decode(value, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None


def secrets_of(graph: Graph) -> tuple[set[str], set[str]]:
    """The keys and the values of every Secret of the stack (``data`` decoded from base64).

    Both fields are read: pulumi_kubernetes core/v1/Secret.py, string_data: "All keys and values are merged
    into the data field on write [...] The stringData field is never output when reading from the API", so
    a live Secret (what the policy pack sees) carries its values in ``data`` only, base64-encoded.
    """
    keys: set[str] = set()
    values: set[str] = set()
    for secret in graph.by_type(K8S_SECRET):
        for field_name, decode in (("stringData", False), ("data", True)):
            data = secret.inputs.get(field_name) or {}
            keys.update(str(key).upper() for key in data)
            for value in data.values():
                plain = _decoded(value) if decode and isinstance(value, str) else value
                if isinstance(plain, str) and plain:
                    values.add(plain)
    return keys, values


def program_sets_replicas(deployment: PolicyResource) -> bool:
    """Whether the program itself sets ``spec.replicas``.

    In a live object (what a policy pack sees after an update) the API server has defaulted ``replicas`` and
    the HPA keeps changing it; ``metadata.managedFields`` then says who set it. Without managedFields the
    object is the program's own declaration.
    """
    if "replicas" not in spec_of(deployment):
        return False
    managed = [
        entry
        for entry in items_of(metadata_of(deployment).get("managedFields"))
        if isinstance(entry, Mapping)
    ]
    if not managed:
        return True
    return any(
        str(entry.get("manager", "")).startswith(PROVIDER_FIELD_MANAGER)
        and "f:replicas" in ((entry.get("fieldsV1") or {}).get("f:spec") or {})
        for entry in managed
    )


def deregistration_delays(graph: Graph, deployment: PolicyResource) -> list[int]:
    """Deregistration delays of the target groups that send traffic to the Deployment's pods: the bindings
    whose Service selects them, and the target groups those bindings depend on."""
    services = {
        object_name(service)
        for service in same_namespace(graph, K8S_SERVICE, deployment)
        if selects(spec_of(service).get("selector") or {}, pod_labels(deployment))
    }
    delays = []
    for binding in same_namespace(graph, K8S_TARGET_GROUP_BINDING, deployment):
        if (spec_of(binding).get("serviceRef") or {}).get("name") not in services:
            continue
        for group in graph.referenced(binding, "spec"):
            if group.type in TARGET_GROUP_TYPES:
                delays.append(as_int(group.inputs.get("deregistrationDelay", DEFAULT_DEREGISTRATION_DELAY)))
    return delays
