"""Rules every workload manifest of the stack must satisfy. Pure: manifests in, problem lines out.

Each rule takes the stack's Kubernetes manifests (plain dicts, as ``infra.k8s.manifests`` builds them
or as the
tests rebuild them from recorded inputs) and returns one line per violation, naming the object. The tests run
each rule on the real manifests (no problem) and on a broken copy (the problem is found); the policy module
runs them over every stack.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Final

from infra.k8s.manifests import APP_DRAIN_SECONDS, ENDPOINT_PROPAGATION_SECONDS, SHARED_SECRET_KEYS, TMP_MOUNT

Manifest = Mapping[str, Any]
Rule = Callable[[Sequence[Manifest]], list[str]]

POD_KINDS: Final = ("Deployment", "Job", "StatefulSet", "DaemonSet")
MIN_UID: Final = 10000
SECRET_KEY_MARKERS: Final = ("PASSWORD", "SECRET", "TOKEN", "JWT_KEYS", "REDIS_URL")


def name_of(manifest: Manifest) -> str:
    """``Kind/name`` of an object (``Kind/<generated>`` when Pulumi names it)."""
    return f"{manifest.get('kind')}/{manifest.get('metadata', {}).get('name', '<generated>')}"


def pod_spec(manifest: Manifest) -> Mapping[str, Any] | None:
    """The pod spec of a workload object, or None for other kinds."""
    if manifest.get("kind") not in POD_KINDS:
        return None
    spec: Mapping[str, Any] = manifest.get("spec", {}).get("template", {}).get("spec", {})
    return spec


def containers(manifest: Manifest) -> Iterator[tuple[str, Mapping[str, Any], Mapping[str, Any]]]:
    """(where, container, pod spec) for every container and init container of a workload."""
    spec = pod_spec(manifest)
    if spec is None:
        return
    for key in ("initContainers", "containers"):
        for container in spec.get(key, []) or []:
            yield f"{name_of(manifest)} container {container.get('name')}", container, spec


def _of_kind(manifests: Sequence[Manifest], kind: str) -> list[Manifest]:
    return [item for item in manifests if item.get("kind") == kind]


def _setting(container: Mapping[str, Any], pod: Mapping[str, Any], key: str) -> Any:
    """A security setting as Kubernetes resolves it: the container's, else the pod's."""
    value = (container.get("securityContext") or {}).get(key)
    return (pod.get("securityContext") or {}).get(key) if value is None else value


def requests_set(manifests: Sequence[Manifest]) -> list[str]:
    """CPU and memory requests on every container (the HPA and the scheduler count on them), memory limit =
    request (memory cannot be throttled; a pod above its request is the first evicted)."""
    problems = []
    for where, container, _ in (c for m in manifests for c in containers(m)):
        resources = container.get("resources") or {}
        requests = resources.get("requests") or {}
        limits = resources.get("limits") or {}
        for kind in ("cpu", "memory"):
            if not requests.get(kind):
                problems.append(f"{where}: no {kind} request")
        if requests.get("memory") and limits.get("memory") != requests.get("memory"):
            problems.append(
                f"{where}: memory limit {limits.get('memory')} differs from the request {requests['memory']}"
            )
    return problems


def non_root(manifests: Sequence[Manifest]) -> list[str]:
    """runAsNonRoot with a fixed uid >= 10000, no privilege escalation, every capability dropped, the
    runtime's seccomp profile: the restricted pod security standard."""
    problems = []
    for where, container, pod in (c for m in manifests for c in containers(m)):
        if _setting(container, pod, "runAsNonRoot") is not True:
            problems.append(f"{where}: runAsNonRoot is not true")
        uid = _setting(container, pod, "runAsUser")
        if not isinstance(uid, int) or uid < MIN_UID:
            problems.append(f"{where}: runAsUser {uid} is not a fixed uid >= {MIN_UID}")
        context = container.get("securityContext") or {}
        if context.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{where}: allowPrivilegeEscalation is not false")
        if context.get("privileged"):
            problems.append(f"{where}: privileged")
        if "ALL" not in ((context.get("capabilities") or {}).get("drop") or []):
            problems.append(f"{where}: capabilities do not drop ALL")
        if (context.get("capabilities") or {}).get("add"):
            problems.append(f"{where}: adds capabilities")
        seccomp = _setting(container, pod, "seccompProfile") or {}
        if seccomp.get("type") not in ("RuntimeDefault", "Localhost"):
            problems.append(f"{where}: no RuntimeDefault seccomp profile")
    return problems


def read_only_root(manifests: Sequence[Manifest]) -> list[str]:
    """A read-only root filesystem; the only writable mount is an emptyDir at /tmp (no hostPath at all)."""
    problems = []
    for manifest in manifests:
        spec = pod_spec(manifest)
        if spec is None:
            continue
        volumes = {volume.get("name"): volume for volume in spec.get("volumes", []) or []}
        for volume in volumes.values():
            if "hostPath" in volume:
                problems.append(f"{name_of(manifest)}: hostPath volume {volume.get('name')}")
        for where, container, _ in containers(manifest):
            if (container.get("securityContext") or {}).get("readOnlyRootFilesystem") is not True:
                problems.append(f"{where}: root filesystem is writable")
            for mount in container.get("volumeMounts", []) or []:
                volume = volumes.get(mount.get("name"), {})
                writable = not mount.get("readOnly") and (
                    "emptyDir" in volume or "persistentVolumeClaim" in volume
                )
                if writable and mount.get("mountPath") != TMP_MOUNT:
                    problems.append(
                        f"{where}: writable mount at {mount.get('mountPath')} (only {TMP_MOUNT} may be)"
                    )
    return problems


def no_token_mount(manifests: Sequence[Manifest]) -> list[str]:
    """No Kubernetes API token in pods that never call the API (Pod Identity adds its own projected token)."""
    problems = [
        f"{name_of(m)}: automountServiceAccountToken is not false"
        for m in manifests
        if (spec := pod_spec(m)) is not None and spec.get("automountServiceAccountToken") is not False
    ]
    problems += [
        f"{name_of(m)}: automountServiceAccountToken is not false"
        for m in _of_kind(manifests, "ServiceAccount")
        if m.get("automountServiceAccountToken") is not False
    ]
    return problems


def _http_path(probe: Mapping[str, Any] | None) -> str | None:
    return ((probe or {}).get("httpGet") or {}).get("path")


def served_probes(manifests: Sequence[Manifest]) -> list[str]:
    """Every container that exposes a port is probed: readiness on /readyz, liveness on /healthz."""
    problems = []
    for where, container, _ in (c for m in manifests for c in containers(m)):
        if not container.get("ports"):
            continue
        if _http_path(container.get("readinessProbe")) != "/readyz":
            problems.append(f"{where}: readiness probe is not GET /readyz")
        if _http_path(container.get("livenessProbe")) != "/healthz":
            problems.append(f"{where}: liveness probe is not GET /healthz")
    return problems


def zero_downtime_rollout(manifests: Sequence[Manifest]) -> list[str]:
    """RollingUpdate with maxUnavailable 0: a rollout never lowers serving capacity."""
    problems = []
    for deployment in _of_kind(manifests, "Deployment"):
        strategy = deployment.get("spec", {}).get("strategy") or {}
        rolling = strategy.get("rollingUpdate") or {}
        if strategy.get("type") != "RollingUpdate" or rolling.get("maxUnavailable") not in (0, "0", "0%"):
            problems.append(f"{name_of(deployment)}: not a RollingUpdate with maxUnavailable 0")
        if not rolling.get("maxSurge") or rolling.get("maxSurge") in (0, "0", "0%"):
            problems.append(f"{name_of(deployment)}: maxSurge 0 with maxUnavailable 0 cannot roll")
    return problems


def zone_spread(manifests: Sequence[Manifest]) -> list[str]:
    """Deployments spread across zones, and the spread selects the Deployment's own pods."""
    problems = []
    for deployment in _of_kind(manifests, "Deployment"):
        spec = pod_spec(deployment) or {}
        pod_labels = deployment.get("spec", {}).get("template", {}).get("metadata", {}).get("labels", {})
        zonal = [
            c
            for c in spec.get("topologySpreadConstraints", []) or []
            if c.get("topologyKey") == "topology.kubernetes.io/zone"
        ]
        if not zonal:
            problems.append(f"{name_of(deployment)}: no topology spread across zones")
        for constraint in zonal:
            wanted = (constraint.get("labelSelector") or {}).get("matchLabels") or {}
            if not wanted or any(pod_labels.get(key) != value for key, value in wanted.items()):
                problems.append(
                    f"{name_of(deployment)}: the zone spread does not select the Deployment's pods"
                )
    return problems


def _hpa_by_target(manifests: Sequence[Manifest]) -> dict[str, Manifest]:
    return {
        item.get("spec", {}).get("scaleTargetRef", {}).get("name"): item
        for item in _of_kind(manifests, "HorizontalPodAutoscaler")
    }


def autoscaled(manifests: Sequence[Manifest]) -> list[str]:
    """Every Deployment has an autoscaling/v2 HPA on CPU with a scale-down stabilisation window, and sets no
    ``replicas`` of its own (Pulumi would reset what the HPA decided on every update)."""
    problems = []
    hpas = _hpa_by_target(manifests)
    for deployment in _of_kind(manifests, "Deployment"):
        name = deployment.get("metadata", {}).get("name")
        if "replicas" in deployment.get("spec", {}):
            problems.append(f"{name_of(deployment)}: sets replicas although an HPA owns the count")
        hpa = hpas.get(name)
        if hpa is None:
            problems.append(f"{name_of(deployment)}: no HorizontalPodAutoscaler")
            continue
        spec = hpa.get("spec", {})
        if hpa.get("apiVersion") != "autoscaling/v2":
            problems.append(f"{name_of(hpa)}: not autoscaling/v2")
        cpu = [
            metric
            for metric in spec.get("metrics", []) or []
            if metric.get("type") == "Resource" and (metric.get("resource") or {}).get("name") == "cpu"
        ]
        if not cpu:
            problems.append(f"{name_of(hpa)}: no CPU utilisation metric")
        window = ((spec.get("behavior") or {}).get("scaleDown") or {}).get("stabilizationWindowSeconds")
        if not isinstance(window, int) or window < 60:
            problems.append(f"{name_of(hpa)}: scale-down stabilisation window {window} is under 60 s")
        if spec.get("minReplicas", 1) > spec.get("maxReplicas", 0):
            problems.append(f"{name_of(hpa)}: minReplicas above maxReplicas")
    return problems


def disruption_budgets(manifests: Sequence[Manifest]) -> list[str]:
    """Every Deployment's pods are covered by a PodDisruptionBudget that lets drains proceed one at a time."""
    problems = []
    budgets = _of_kind(manifests, "PodDisruptionBudget")
    for deployment in _of_kind(manifests, "Deployment"):
        pod_labels = deployment.get("spec", {}).get("template", {}).get("metadata", {}).get("labels", {})
        covering = [
            pdb
            for pdb in budgets
            if (wanted := (pdb.get("spec", {}).get("selector") or {}).get("matchLabels"))
            and all(pod_labels.get(key) == value for key, value in wanted.items())
        ]
        if not covering:
            problems.append(f"{name_of(deployment)}: no PodDisruptionBudget selects its pods")
        for pdb in covering:
            spec = pdb.get("spec", {})
            if spec.get("maxUnavailable") in (0, "0", "0%") or (
                "maxUnavailable" not in spec and "minAvailable" not in spec
            ):
                problems.append(f"{name_of(pdb)}: blocks every voluntary disruption")
    return problems


def _cpu_millicores(value: str) -> int:
    return int(value[:-1]) if value.endswith("m") else int(float(value) * 1000)


def workers_match_cpu(manifests: Sequence[Manifest]) -> list[str]:
    """NEXUS_WORKERS, where set, is one worker process per whole CPU requested (at least one)."""
    problems = []
    for where, container, _ in (c for m in manifests for c in containers(m)):
        env = {item.get("name"): item.get("value") for item in container.get("env", []) or []}
        if "NEXUS_WORKERS" not in env:
            continue
        cpu = ((container.get("resources") or {}).get("requests") or {}).get("cpu")
        expected = max(1, _cpu_millicores(str(cpu)) // 1000) if cpu else None
        if expected is None or env["NEXUS_WORKERS"] != str(expected):
            problems.append(
                f"{where}: NEXUS_WORKERS={env['NEXUS_WORKERS']} but the CPU request {cpu} gives {expected}"
            )
    return problems


def restricted_namespace(manifests: Sequence[Manifest]) -> list[str]:
    """Namespaces enforce the restricted pod security standard."""
    return [
        f"{name_of(ns)}: does not enforce pod-security restricted"
        for ns in _of_kind(manifests, "Namespace")
        if (ns.get("metadata", {}).get("labels") or {}).get("pod-security.kubernetes.io/enforce")
        != "restricted"
    ]


def no_secret_in_config_map(manifests: Sequence[Manifest]) -> list[str]:
    """ConfigMaps hold no secret setting (by key) and no value of any Secret of the stack."""
    secret_values = {
        str(value)
        for secret in _of_kind(manifests, "Secret")
        for field in ("stringData", "data")
        for value in (secret.get(field) or {}).values()
        if value
    }
    problems = []
    for config_map in _of_kind(manifests, "ConfigMap"):
        for key, value in (config_map.get("data") or {}).items():
            upper = str(key).upper()
            if upper in SHARED_SECRET_KEYS or any(marker in upper for marker in SECRET_KEY_MARKERS):
                problems.append(f"{name_of(config_map)}: key {key} belongs in a Secret")
            if any(secret and secret in str(value) for secret in secret_values):
                problems.append(f"{name_of(config_map)}: key {key} contains a Secret's value")
    return problems


def pre_stop_covers(deregistration_delay_seconds: int, drain_seconds: int = APP_DRAIN_SECONDS) -> Rule:
    """Containers behind the ALB sleep in preStop at least the deregistration delay (and the propagation
    time), and the grace period leaves the app its drain after the sleep."""
    floor = max(deregistration_delay_seconds, ENDPOINT_PROPAGATION_SECONDS)

    def rule(manifests: Sequence[Manifest]) -> list[str]:
        problems = []
        for where, container, pod in (
            c for m in manifests if m.get("kind") == "Deployment" for c in containers(m)
        ):
            if not container.get("ports"):
                continue
            sleep = (((container.get("lifecycle") or {}).get("preStop") or {}).get("sleep") or {}).get(
                "seconds"
            )
            if not isinstance(sleep, int) or sleep < floor:
                problems.append(
                    f"{where}: preStop sleep {sleep} is under the {floor} s the ALB needs to stop sending"
                )
                continue
            grace = pod.get("terminationGracePeriodSeconds", 30)
            if grace <= sleep + drain_seconds:
                problems.append(
                    f"{where}: terminationGracePeriodSeconds {grace} leaves no room for preStop {sleep} s "
                    f"plus the app's {drain_seconds} s drain"
                )
        return problems

    return rule


RULES: Final[dict[str, Rule]] = {
    "requests_set": requests_set,
    "non_root": non_root,
    "read_only_root": read_only_root,
    "no_token_mount": no_token_mount,
    "served_probes": served_probes,
    "zero_downtime_rollout": zero_downtime_rollout,
    "zone_spread": zone_spread,
    "autoscaled": autoscaled,
    "disruption_budgets": disruption_budgets,
    "workers_match_cpu": workers_match_cpu,
    "restricted_namespace": restricted_namespace,
    "no_secret_in_config_map": no_secret_in_config_map,
}
"""The rules that need nothing but the manifests; ``pre_stop_covers`` also needs the ALB's delay."""


def all_problems(manifests: Sequence[Manifest], deregistration_delay_seconds: int) -> list[str]:
    """Every rule over a stack's manifests."""
    problems = [line for rule in RULES.values() for line in rule(manifests)]
    return problems + pre_stop_covers(deregistration_delay_seconds)(manifests)


def recorded_manifests(run: Any) -> list[dict[str, Any]]:
    """The Kubernetes manifests of a recorded run (``offline.StackRun``): each typed object's inputs,
    with the name the provider generated for auto-named ones. Helm releases and providers are left out."""
    manifests = []
    for resource in run.resources:
        inputs = resource.inputs
        if not resource.type.startswith("kubernetes:") or "kind" not in inputs or "apiVersion" not in inputs:
            continue
        manifest = dict(inputs)
        metadata = dict(manifest.get("metadata") or {})
        metadata.setdefault("name", (resource.outputs.get("metadata") or {}).get("name"))
        manifest["metadata"] = metadata
        manifests.append(manifest)
    return manifests


def preview_lines(config: Any, run: Any) -> list[str]:
    """The preview's workloads section: what each Deployment asks for and how it scales and stops, the
    migration Job of this deploy, and the verdict of every workload rule."""
    manifests = recorded_manifests(run)
    if not _of_kind(manifests, "Deployment"):
        return []
    hpas = _hpa_by_target(manifests)
    lines = []
    for deployment in _of_kind(manifests, "Deployment"):
        name = deployment["metadata"]["name"]
        pod = pod_spec(deployment) or {}
        box = (pod.get("containers") or [{}])[0]
        resources = box.get("resources") or {}
        env = {item.get("name"): item.get("value") for item in box.get("env") or []}
        hpa = (hpas.get(name) or {}).get("spec", {})
        target = (((hpa.get("metrics") or [{}])[0].get("resource") or {}).get("target") or {}).get(
            "averageUtilization"
        )
        sleep = (((box.get("lifecycle") or {}).get("preStop") or {}).get("sleep") or {}).get("seconds")
        stop = f"preStop {sleep} s, " if sleep is not None else ""
        lines.append(
            f"{name:<8} requests {resources.get('requests')} limits {resources.get('limits')}"
            + (f" workers {env['NEXUS_WORKERS']}" if "NEXUS_WORKERS" in env else "")
        )
        lines.append(
            f"{'':<8} HPA {hpa.get('minReplicas')}-{hpa.get('maxReplicas')} pods at {target}% CPU; "
            f"{stop}grace {pod.get('terminationGracePeriodSeconds')} s"
        )
    for job in _of_kind(manifests, "Job"):
        lines.append(f"migration Job {job['metadata']['name']} (runs before the Deployments roll)")
    problems = all_problems(manifests, config.alb.deregistration_delay_seconds)
    lines.append(
        f"workload rules: {len(RULES) + 1} checked, "
        + (f"{len(problems)} broken" if problems else "all hold")
    )
    lines.extend(f"  ! {problem}" for problem in problems)
    return lines
