"""Kubernetes workload rules: hardened containers, no secret in a ConfigMap, an explicit cluster provider."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from policy.core import PROVIDER_PREFIX, Graph, PolicyResource, PolicyRule, Violation

K8S_PREFIX = "kubernetes:"
K8S_POD_TYPES: frozenset[str] = frozenset(
    {
        "kubernetes:apps/v1:Deployment",
        "kubernetes:apps/v1:StatefulSet",
        "kubernetes:apps/v1:DaemonSet",
        "kubernetes:batch/v1:Job",
        "kubernetes:batch/v1:CronJob",
    }
)


K8S_CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
K8S_SECRET = "kubernetes:core/v1:Secret"  # noqa: S105 - a type token, not a password
SECRET_SETTING_MARKERS: tuple[str, ...] = (
    "PASSWORD",
    "SECRET",
    "TOKEN",
    "JWT_KEYS",
    "REDIS_URL",
    "PRIVATE_KEY",
)


def _pod_spec_of(resource: PolicyResource) -> Mapping[str, Any]:
    spec: Mapping[str, Any] = resource.inputs.get("spec") or {}
    if resource.type == "kubernetes:batch/v1:CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    return (spec.get("template") or {}).get("spec") or {}


def _containers_hardened(graph: Graph) -> Iterator[Violation]:
    for resource in graph.by_type(*K8S_POD_TYPES):
        pod = _pod_spec_of(resource)
        pod_context = pod.get("securityContext") or {}
        for box in [*(pod.get("initContainers") or []), *(pod.get("containers") or [])]:
            where = f"container {box.get('name')}"
            context = box.get("securityContext") or {}
            requests = (box.get("resources") or {}).get("requests") or {}
            missing = [kind for kind in ("cpu", "memory") if not requests.get(kind)]
            if missing:
                yield Violation(
                    "k8s-containers-hardened",
                    resource.urn,
                    f"{where} has no {' or '.join(missing)} request: the scheduler, the HPA and the capacity "
                    "checks all count on requests",
                )
            if context.get("readOnlyRootFilesystem") is not True:
                yield Violation(
                    "k8s-containers-hardened", resource.urn, f"{where} has a writable root filesystem"
                )
            non_root = context.get("runAsNonRoot", pod_context.get("runAsNonRoot"))
            uid = context.get("runAsUser", pod_context.get("runAsUser"))
            if non_root is not True or uid == 0:
                yield Violation("k8s-containers-hardened", resource.urn, f"{where} may run as root")


def _secret_values(graph: Graph) -> set[str]:
    values: set[str] = set()
    for secret in graph.by_type(K8S_SECRET):
        for field_name in ("stringData", "data"):
            data = secret.inputs.get(field_name) or {}
            values.update(str(value) for value in data.values() if isinstance(value, str) and len(value) >= 8)
    return values


def _no_secret_in_config_map(graph: Graph) -> Iterator[Violation]:
    secrets = _secret_values(graph)
    for config_map in graph.by_type(K8S_CONFIG_MAP):
        for key, value in (config_map.inputs.get("data") or {}).items():
            if any(marker in str(key).upper() for marker in SECRET_SETTING_MARKERS):
                yield Violation(
                    "k8s-no-secret-in-config-map",
                    config_map.urn,
                    f"key {key} names a secret setting; deliver it through a Secret",
                )
            if any(secret in str(value) for secret in secrets):
                yield Violation(
                    "k8s-no-secret-in-config-map",
                    config_map.urn,
                    f"key {key} contains a value of a Secret of the stack",
                )


def _explicit_k8s_provider(graph: Graph) -> Iterator[Violation]:
    for resource in graph.resources:
        if not resource.custom or resource.is_provider or not resource.type.startswith(K8S_PREFIX):
            continue
        provider = graph.get(resource.provider)
        if provider is None or provider.type != f"{PROVIDER_PREFIX}kubernetes":
            yield Violation(
                "explicit-k8s-provider",
                resource.urn,
                "uses the default Kubernetes provider (whatever cluster the ambient kubeconfig points at); "
                "pass the stack's cluster provider",
            )


WORKLOAD_RULES: list[PolicyRule] = [
    PolicyRule(
        "k8s-containers-hardened",
        "Every container of a Kubernetes workload requests CPU and memory, has a read-only root "
        "filesystem and runs as non-root.",
        _containers_hardened,
    ),
    PolicyRule(
        "k8s-no-secret-in-config-map",
        "No ConfigMap holds a secret setting or the value of a Secret; secrets travel in Secrets only.",
        _no_secret_in_config_map,
    ),
    PolicyRule(
        "explicit-k8s-provider",
        "Every Kubernetes object uses an explicit provider built from the stack's cluster.",
        _explicit_k8s_provider,
    ),
]
