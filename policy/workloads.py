"""Kubernetes workload rules: the one place that checks the stack's Kubernetes objects.

The rules read each object as the program declared it (its recorded inputs in the tests; its state, or the
planned state, in the policy pack) and find related objects through the graph: the HPA and the budget of a
Deployment by namespace, name and labels, the target group behind a TargetGroupBinding through the binding's
property dependencies. Nothing here imports the manifests' builders (infra/k8s): the rules state what the
platform requires, so that a wrong builder is caught rather than copied.

Sources of the facts the rules use are cited next to them: the pulumi-kubernetes and pulumi-aws docstrings
(venv/lib/python3*/site-packages/pulumi_kubernetes/..., pulumi_aws/lb/target_group.py), the Kubernetes pod
security standards, and pulumi/pulumi-kubernetes for how the provider names itself in ``managedFields``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from policy.core import (
    PROVIDER_PREFIX,
    Graph,
    PolicyResource,
    PolicyRule,
    Violation,
    as_int,
    items_of,
    whole_number,
)
from policy.k8s_objects import (
    DEPLOYMENT,
    K8S_CONFIG_MAP,
    K8S_HPA,
    K8S_JOB,
    K8S_NAMESPACE,
    K8S_PDB,
    K8S_POD_TYPES,
    K8S_PREFIX,
    K8S_SERVICE_ACCOUNT,
    containers,
    cpu_millicores,
    deregistration_delays,
    http_path,
    metadata_of,
    object_name,
    pod_containers,
    pod_labels,
    pod_spec,
    program_sets_replicas,
    same_namespace,
    secrets_of,
    selects,
    setting,
    spec_of,
    workloads,
)

# The two engines that drifted named secret settings differently; this is their union (the stricter list).
# A key is a secret setting when it contains one of these, or when a Secret of the stack delivers that key.
SECRET_SETTING_MARKERS: tuple[str, ...] = (
    "PASSWORD",
    "SECRET",
    "TOKEN",
    "JWT_KEYS",
    "REDIS_URL",
    "PRIVATE_KEY",
)
MIN_SECRET_SUBSTRING = 8
"""A Secret value at least this long is looked for inside ConfigMap values; a shorter one (a key id, a port)
would match unrelated text by chance, so it counts only when a ConfigMap value equals it."""

MIN_UID = 10000
"""Restricted pods run as a fixed uid that maps to no host account (>= 10000, as the image's USER)."""
WRITABLE_MOUNT = "/tmp"  # noqa: S108 - the one emptyDir a pod may write to, not the host's /tmp
SECCOMP_TYPES: tuple[str, ...] = ("RuntimeDefault", "Localhost")
"""The seccomp types the restricted pod security standard accepts (Kubernetes "Pod Security Standards")."""
ENDPOINT_PROPAGATION_SECONDS = 10
"""Time an endpoint removal needs to reach the load balancer controller and the ALB: the floor of preStop."""
APP_DRAIN_SECONDS = 20
"""How long the API drains in-flight requests after SIGTERM (app/serve.py GRACEFUL_SHUTDOWN_SECONDS; a test
ties the two)."""
DEFAULT_GRACE_SECONDS = 30
# pulumi_kubernetes core/v1 PodSpec: terminationGracePeriodSeconds "Defaults to 30 seconds."
DEFAULT_SCALE_DOWN_WINDOW = 300
# pulumi_kubernetes autoscaling/v2 HPAScalingRules: stabilizationWindowSeconds "For scale down: 300".
MIN_SCALE_DOWN_WINDOW = 60
ZERO: tuple[object, ...] = (0, "0", "0%")


# --- containers: requests, hardening -----------------------------------------------------------------------


def _requests_set(graph: Graph) -> Iterator[Violation]:
    for resource, where, box, _ in pod_containers(graph):
        resources = box.get("resources") or {}
        requests = resources.get("requests") or {}
        limits = resources.get("limits") or {}
        for kind in ("cpu", "memory"):
            if not requests.get(kind):
                yield Violation("k8s-requests-set", resource.urn, f"{where}: no {kind} request")
        # Memory cannot be throttled: a pod above its request is the first evicted under pressure.
        if requests.get("memory") and limits.get("memory") != requests.get("memory"):
            yield Violation(
                "k8s-requests-set",
                resource.urn,
                f"{where}: memory limit {limits.get('memory')} differs from the request {requests['memory']}",
            )


def _hardening_problems(box: Mapping[str, Any], pod: Mapping[str, Any]) -> Iterator[str]:
    # The restricted pod security standard (kubernetes.io/docs/concepts/security/pod-security-standards):
    # runAsNonRoot, no privilege escalation, every capability dropped, a RuntimeDefault/Localhost seccomp
    # profile; plus a fixed non-root uid and a read-only root filesystem.
    context = box.get("securityContext") or {}
    if setting(box, pod, "runAsNonRoot") is not True:
        yield "may run as root (runAsNonRoot is not true)"
    uid = whole_number(setting(box, pod, "runAsUser"))
    if uid is None or uid < MIN_UID:
        yield f"runAsUser {uid} is not a fixed uid >= {MIN_UID}"
    if context.get("allowPrivilegeEscalation") is not False:
        yield "allowPrivilegeEscalation is not false"
    if context.get("privileged"):
        yield "privileged"
    capabilities = context.get("capabilities") or {}
    if "ALL" not in items_of(capabilities.get("drop")):
        yield "capabilities do not drop ALL"
    if capabilities.get("add"):
        yield "adds capabilities"
    if (setting(box, pod, "seccompProfile") or {}).get("type") not in SECCOMP_TYPES:
        yield "no RuntimeDefault seccomp profile"
    if context.get("readOnlyRootFilesystem") is not True:
        yield "writable root filesystem"


def _containers_hardened(graph: Graph) -> Iterator[Violation]:
    for resource in workloads(graph):
        pod = pod_spec(resource) or {}
        volumes = {v.get("name"): v for v in items_of(pod.get("volumes")) if isinstance(v, Mapping)}
        for volume in volumes.values():
            if "hostPath" in volume:
                yield Violation(
                    "k8s-containers-hardened", resource.urn, f"hostPath volume {volume.get('name')}"
                )
        for where, box, _ in containers(resource):
            for problem in _hardening_problems(box, pod):
                yield Violation("k8s-containers-hardened", resource.urn, f"{where}: {problem}")
            for mount in items_of(box.get("volumeMounts")):
                volume = volumes.get(mount.get("name"), {})
                writable = not mount.get("readOnly") and (
                    "emptyDir" in volume or "persistentVolumeClaim" in volume
                )
                if writable and mount.get("mountPath") != WRITABLE_MOUNT:
                    yield Violation(
                        "k8s-containers-hardened",
                        resource.urn,
                        f"{where}: writable mount at {mount.get('mountPath')} (only {WRITABLE_MOUNT} may be)",
                    )


def _no_token_mount(graph: Graph) -> Iterator[Violation]:
    # No Kubernetes API token in pods that never call the API (Pod Identity projects its own token).
    for resource in graph.resources:
        if resource.type in K8S_POD_TYPES:
            mounted = (pod_spec(resource) or {}).get("automountServiceAccountToken")
        elif resource.type == K8S_SERVICE_ACCOUNT:
            mounted = resource.inputs.get("automountServiceAccountToken")
        else:
            continue
        if mounted is not False:
            yield Violation("k8s-no-token-mount", resource.urn, "automountServiceAccountToken is not false")


def _served_probes(graph: Graph) -> Iterator[Violation]:
    for resource, where, box, _ in pod_containers(graph):
        if not box.get("ports"):
            continue
        if http_path(box.get("readinessProbe")) != "/readyz":
            yield Violation("k8s-served-probes", resource.urn, f"{where}: readiness probe is not GET /readyz")
        if http_path(box.get("livenessProbe")) != "/healthz":
            yield Violation("k8s-served-probes", resource.urn, f"{where}: liveness probe is not GET /healthz")


def _workers_match_cpu(graph: Graph) -> Iterator[Violation]:
    for resource, where, box, _ in pod_containers(graph):
        env = {
            item.get("name"): item.get("value")
            for item in items_of(box.get("env"))
            if isinstance(item, Mapping)
        }
        if "NEXUS_WORKERS" not in env:
            continue
        cpu = ((box.get("resources") or {}).get("requests") or {}).get("cpu")
        expected = max(1, cpu_millicores(str(cpu)) // 1000) if cpu else None
        if expected is None or env["NEXUS_WORKERS"] != str(expected):
            yield Violation(
                "k8s-workers-match-cpu",
                resource.urn,
                f"{where}: NEXUS_WORKERS={env['NEXUS_WORKERS']} but the CPU request {cpu} gives {expected}",
            )


# --- Deployments: rollout, spread, scaling, budgets, stopping ----------------------------------------------


def _zero_downtime_rollout(graph: Graph) -> Iterator[Violation]:
    for deployment in graph.by_type(DEPLOYMENT):
        strategy = spec_of(deployment).get("strategy") or {}
        rolling = strategy.get("rollingUpdate") or {}
        if strategy.get("type") != "RollingUpdate" or rolling.get("maxUnavailable") not in ZERO:
            yield Violation(
                "k8s-zero-downtime-rollout", deployment.urn, "not a RollingUpdate with maxUnavailable 0"
            )
        if not rolling.get("maxSurge") or rolling.get("maxSurge") in ZERO:
            yield Violation(
                "k8s-zero-downtime-rollout", deployment.urn, "maxSurge 0 with maxUnavailable 0 cannot roll"
            )


def _zone_spread(graph: Graph) -> Iterator[Violation]:
    for deployment in graph.by_type(DEPLOYMENT):
        zonal = [
            constraint
            for constraint in items_of((pod_spec(deployment) or {}).get("topologySpreadConstraints"))
            if constraint.get("topologyKey") == "topology.kubernetes.io/zone"
        ]
        if not zonal:
            yield Violation("k8s-zone-spread", deployment.urn, "no topology spread across zones")
        for constraint in zonal:
            wanted = (constraint.get("labelSelector") or {}).get("matchLabels") or {}
            if not selects(wanted, pod_labels(deployment)):
                yield Violation(
                    "k8s-zone-spread", deployment.urn, "the zone spread does not select the Deployment's pods"
                )


def _autoscaled(graph: Graph) -> Iterator[Violation]:
    for deployment in graph.by_type(DEPLOYMENT):
        if program_sets_replicas(deployment):
            yield Violation(
                "k8s-autoscaled",
                deployment.urn,
                "sets replicas although an HPA owns the count (each update would reset what the HPA decided)",
            )
        hpas = [
            hpa
            for hpa in same_namespace(graph, K8S_HPA, deployment)
            if (spec_of(hpa).get("scaleTargetRef") or {}).get("kind") == "Deployment"
            and (spec_of(hpa).get("scaleTargetRef") or {}).get("name") == object_name(deployment)
        ]
        if not hpas:
            yield Violation("k8s-autoscaled", deployment.urn, "no HorizontalPodAutoscaler scales it")
        for hpa in hpas:
            yield from _hpa_problems(hpa)


def _hpa_problems(hpa: PolicyResource) -> Iterator[Violation]:
    spec = spec_of(hpa)
    cpu = [
        metric
        for metric in items_of(spec.get("metrics"))
        if metric.get("type") == "Resource" and (metric.get("resource") or {}).get("name") == "cpu"
    ]
    if not cpu:
        yield Violation("k8s-autoscaled", hpa.urn, "no CPU utilisation metric")
    scale_down = (spec.get("behavior") or {}).get("scaleDown") or {}
    window = whole_number(scale_down.get("stabilizationWindowSeconds", DEFAULT_SCALE_DOWN_WINDOW))
    if window is None or window < MIN_SCALE_DOWN_WINDOW:
        yield Violation(
            "k8s-autoscaled",
            hpa.urn,
            f"scale-down stabilisation window {window} is under {MIN_SCALE_DOWN_WINDOW} s: load dips would "
            "remove pods that the next burst needs",
        )
    if as_int(spec.get("minReplicas", 1)) > as_int(spec.get("maxReplicas")):
        yield Violation("k8s-autoscaled", hpa.urn, "minReplicas above maxReplicas")


def _disruption_budgets(graph: Graph) -> Iterator[Violation]:
    for deployment in graph.by_type(DEPLOYMENT):
        covering = [
            pdb
            for pdb in same_namespace(graph, K8S_PDB, deployment)
            if selects((spec_of(pdb).get("selector") or {}).get("matchLabels") or {}, pod_labels(deployment))
        ]
        if not covering:
            yield Violation(
                "k8s-disruption-budgets", deployment.urn, "no PodDisruptionBudget selects its pods"
            )
        for pdb in covering:
            spec = spec_of(pdb)
            if spec.get("maxUnavailable") in ZERO or (
                "maxUnavailable" not in spec and "minAvailable" not in spec
            ):
                yield Violation(
                    "k8s-disruption-budgets",
                    pdb.urn,
                    "blocks every voluntary disruption (node drains would hang)",
                )


def _pre_stop_covers_deregistration(graph: Graph) -> Iterator[Violation]:
    # When a pod terminates, the ALB stops sending it new requests only after the endpoint change reaches it,
    # and lets open ones run for the target group's deregistration delay: the pod must keep serving for that
    # long (preStop sleep), then still have its drain before SIGKILL (the grace period).
    for deployment in graph.by_type(DEPLOYMENT):
        floor = max([ENDPOINT_PROPAGATION_SECONDS, *deregistration_delays(graph, deployment)])
        for where, box, pod in containers(deployment):
            if not box.get("ports"):
                continue
            pre_stop = (box.get("lifecycle") or {}).get("preStop") or {}
            sleep = whole_number((pre_stop.get("sleep") or {}).get("seconds"))
            if sleep is None or sleep < floor:
                yield Violation(
                    "k8s-pre-stop-covers-deregistration",
                    deployment.urn,
                    f"{where}: preStop sleep {sleep} is under the {floor} s the ALB needs to stop sending",
                )
                continue
            grace = as_int(pod.get("terminationGracePeriodSeconds", DEFAULT_GRACE_SECONDS))
            if grace <= sleep + APP_DRAIN_SECONDS:
                yield Violation(
                    "k8s-pre-stop-covers-deregistration",
                    deployment.urn,
                    f"{where}: terminationGracePeriodSeconds {grace} leaves no room for preStop {sleep} s "
                    f"plus the app's {APP_DRAIN_SECONDS} s drain",
                )


# --- namespaces, secrets, providers -----------------------------------------------------------------------


def _restricted_namespace(graph: Graph) -> Iterator[Violation]:
    for namespace in graph.by_type(K8S_NAMESPACE):
        labels = metadata_of(namespace).get("labels") or {}
        if labels.get("pod-security.kubernetes.io/enforce") != "restricted":
            yield Violation(
                "k8s-restricted-namespace",
                namespace.urn,
                "does not enforce the restricted pod security standard",
            )


def _leaks(value: str, secret_values: set[str]) -> bool:
    return any(
        secret == value or (len(secret) >= MIN_SECRET_SUBSTRING and secret in value)
        for secret in secret_values
    )


def _no_secret_in_config_map(graph: Graph) -> Iterator[Violation]:
    secret_keys, secret_values = secrets_of(graph)
    for config_map in graph.by_type(K8S_CONFIG_MAP):
        for key, value in (config_map.inputs.get("data") or {}).items():
            upper = str(key).upper()
            if upper in secret_keys or any(marker in upper for marker in SECRET_SETTING_MARKERS):
                yield Violation(
                    "k8s-no-secret-in-config-map",
                    config_map.urn,
                    f"key {key} names a secret setting; deliver it through a Secret",
                )
            if _leaks(str(value), secret_values):
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
        "Every container of a Kubernetes workload meets the restricted pod security standard (non-root with "
        f"a fixed uid >= {MIN_UID}, no privilege escalation, every capability dropped, a seccomp profile) "
        f"and has a read-only root filesystem; no hostPath, and only {WRITABLE_MOUNT} is writable.",
        _containers_hardened,
    ),
    PolicyRule(
        "k8s-requests-set",
        "Every container requests CPU and memory, and its memory limit equals its memory request.",
        _requests_set,
    ),
    PolicyRule(
        "k8s-no-token-mount",
        "No pod and no service account mounts a Kubernetes API token (automountServiceAccountToken false).",
        _no_token_mount,
    ),
    PolicyRule(
        "k8s-served-probes",
        "Every container exposing a port has a readiness probe on /readyz and a liveness probe on /healthz.",
        _served_probes,
    ),
    PolicyRule(
        "k8s-zero-downtime-rollout",
        "Every Deployment rolls out with maxUnavailable 0 and a surge, so a rollout never lowers capacity.",
        _zero_downtime_rollout,
    ),
    PolicyRule(
        "k8s-zone-spread",
        "Every Deployment spreads its own pods across availability zones.",
        _zone_spread,
    ),
    PolicyRule(
        "k8s-autoscaled",
        "Every Deployment is scaled by an autoscaling/v2 HPA on CPU with a scale-down stabilisation window "
        f"of at least {MIN_SCALE_DOWN_WINDOW} s, and does not set replicas itself.",
        _autoscaled,
    ),
    PolicyRule(
        "k8s-disruption-budgets",
        "Every Deployment's pods are covered by a PodDisruptionBudget that lets drains evict them.",
        _disruption_budgets,
    ),
    PolicyRule(
        "k8s-pre-stop-covers-deregistration",
        "Containers that serve sleep in preStop at least the deregistration delay of the target groups in "
        f"front of them (and {ENDPOINT_PROPAGATION_SECONDS} s); the grace period leaves the app its drain.",
        _pre_stop_covers_deregistration,
    ),
    PolicyRule(
        "k8s-workers-match-cpu",
        "NEXUS_WORKERS, where set, is one worker process per whole CPU requested (at least one).",
        _workers_match_cpu,
    ),
    PolicyRule(
        "k8s-restricted-namespace",
        "Every Namespace enforces the restricted pod security standard.",
        _restricted_namespace,
    ),
    PolicyRule(
        "k8s-no-secret-in-config-map",
        "No ConfigMap holds a secret setting (by name, or a key a Secret delivers) or the value of a Secret; "
        "secrets travel in Secrets only.",
        _no_secret_in_config_map,
    ),
    PolicyRule(
        "explicit-k8s-provider",
        "Every Kubernetes object uses an explicit provider built from the stack's cluster.",
        _explicit_k8s_provider,
    ),
]


# --- cluster branch rules (issue 14): each names its source ------------------------------------------------


def _jobs_without_ttl(graph: Graph) -> Iterator[Violation]:
    # A Job Pulumi manages must not be deleted by Kubernetes' TTL-after-finished controller: the state still
    # lists it, `pulumi refresh` drops it, and the next `pulumi up` creates it again (the Job runs twice).
    # Kubernetes docs, "Automatic Cleanup for Finished Jobs"; the same lifecycle clash in Terraform's
    # Kubernetes provider: hashicorp/terraform-provider-kubernetes#2531.
    for job in graph.by_type(K8S_JOB):
        spec = job.inputs.get("spec")
        if isinstance(spec, Mapping) and spec.get("ttlSecondsAfterFinished") is not None:
            yield Violation(
                "k8s-job-no-ttl",
                job.urn,
                "sets ttlSecondsAfterFinished: Kubernetes would delete the Job behind Pulumi's back and a "
                "refresh plus up would run it again; let Pulumi delete it when it is replaced",
            )


WORKLOAD_RULES += [
    PolicyRule(
        "k8s-job-no-ttl",
        "A Job that Pulumi manages has no ttlSecondsAfterFinished (a TTL deletes it behind Pulumi's back, "
        "and refresh then up re-runs it).",
        _jobs_without_ttl,
    ),
]
