"""The Kubernetes objects of the API, the worker and the migration Job, as plain manifests.

Pure (no Pulumi import): every function returns a Kubernetes-shaped dict (camelCase, as ``kubectl`` would
read it). ``infra.workloads`` hands these dicts to the typed pulumi-kubernetes resources, so the recorded
inputs of those resources ARE these manifests; tests validate them against the Kubernetes schemas and run
checkov on them. Values that the cloud decides (a Secret's generated name, a bucket name, a target group ARN)
may be passed as Pulumi Outputs: the builders only place them, they never look inside.

Why one long module: the builders share the labels, names, security contexts and the termination
timing, and the golden file (tests/golden/workloads_prod.yaml) reviews their output as one set. The cut
when it grows is pods (containers, probes, timing) versus the objects around them (Service, HPA, budgets,
network policies), after the open cluster branch (issue 14: network policy, Job TTL) has landed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from infra.k8s.tenantmap import password_env

Manifest = dict[str, Any]
Ref = Any
"""A plain value or a Pulumi Output of one (placed as is, never inspected)."""

NAMESPACE: Final = "nexus"
APP_NAME: Final = "nexus-api"
DEFAULT_CONTAINER_PORT: Final = 8080
"""The port ``python -m app.serve`` listens on (NEXUS_PORT); the stack sets it from nexus:alb.targetPort."""
SERVICE_PORT: Final = 80
APP_UID: Final = 10001
"""The non-root uid and gid of the image (app/Dockerfile); >= 10000 so it maps to no host account."""
APP_DRAIN_SECONDS: Final = 20
"""How long the API finishes in-flight requests after SIGTERM (app.serve.GRACEFUL_SHUTDOWN_SECONDS)."""
WORKER_DRAIN_SECONDS: Final = 30
"""Grace a worker pod gets after SIGTERM; unfinished jobs are retried elsewhere (idempotent job ids)."""
ENDPOINT_PROPAGATION_SECONDS: Final = 10
"""Time for an endpoint removal to reach the load balancer controller and the ALB; the floor of preStop."""
TERMINATION_MARGIN_SECONDS: Final = 5
"""Slack between the end of the drain and SIGKILL."""
TMP_MOUNT: Final = "/tmp"  # noqa: S108 - an emptyDir in the pod, not the host's /tmp
READINESS_GATE_LABEL: Final = "elbv2.k8s.aws/pod-readiness-gate-inject"
TARGET_GROUP_BINDING_API: Final = "elbv2.k8s.aws/v1beta1"

COMPONENT_API: Final = "api"
COMPONENT_WORKER: Final = "worker"
COMPONENT_MIGRATE: Final = "migrate"


@dataclass(frozen=True, slots=True)
class Timing:
    """How a pod leaves the load balancer before it stops."""

    pre_stop_seconds: int
    """preStop sleep: the pod keeps serving while the ALB stops sending it requests."""
    grace_seconds: int
    """terminationGracePeriodSeconds: preStop + the app's drain + a margin, so SIGKILL never cuts a drain."""


def termination_timing(deregistration_delay_seconds: int, drain_seconds: int = APP_DRAIN_SECONDS) -> Timing:
    """preStop and grace period matched to the ALB target group's deregistration delay.

    When a pod starts terminating, the load balancer controller deregisters its IP; the ALB sends no new
    request to a draining target but lets open ones run for up to the deregistration delay. The pod sleeps in
    preStop for that whole delay (and at least the time the endpoint change needs to reach the ALB), so every
    request the ALB still routes there is served; only then does SIGTERM start the app's own drain.
    """
    if deregistration_delay_seconds < 0 or drain_seconds < 0:
        raise ValueError("deregistration delay and drain time must not be negative")
    pre_stop = max(deregistration_delay_seconds, ENDPOINT_PROPAGATION_SECONDS)
    return Timing(
        pre_stop_seconds=pre_stop, grace_seconds=pre_stop + drain_seconds + TERMINATION_MARGIN_SECONDS
    )


@dataclass(frozen=True, slots=True)
class Resources:
    """Requests and limits of one container."""

    cpu_millicores: int
    memory_mib: int
    cpu_limit_millicores: int | None = None

    def to_json(self) -> dict[str, Any]:
        """Memory limit = request (memory cannot be throttled, only killed); CPU limit only when set."""
        limits: dict[str, str] = {"memory": f"{self.memory_mib}Mi"}
        if self.cpu_limit_millicores is not None:
            limits["cpu"] = f"{self.cpu_limit_millicores}m"
        return {
            "requests": {"cpu": f"{self.cpu_millicores}m", "memory": f"{self.memory_mib}Mi"},
            "limits": limits,
        }


def labels(component: str) -> dict[str, str]:
    """The recommended app.kubernetes.io labels of one part."""
    return {
        **selector_labels(component),
        "app.kubernetes.io/part-of": "nexus",
        "app.kubernetes.io/managed-by": "pulumi",
    }


def selector_labels(component: str) -> dict[str, str]:
    """The labels a selector matches on; never change them (a Deployment's selector is immutable)."""
    return {"app.kubernetes.io/name": APP_NAME, "app.kubernetes.io/component": component}


def metadata(name: Ref, component: str, **extra: Any) -> dict[str, Any]:
    """Namespaced metadata with the standard labels; ``name=None`` leaves the name to Pulumi's auto-naming."""
    named = {} if name is None else {"name": name}
    return {**named, "namespace": NAMESPACE, "labels": labels(component), **extra}


def namespace_manifest() -> Manifest:
    """The namespace, enforcing the restricted pod security standard and ALB readiness gate injection."""
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": NAMESPACE,
            "labels": {
                "app.kubernetes.io/part-of": "nexus",
                "app.kubernetes.io/managed-by": "pulumi",
                "pod-security.kubernetes.io/enforce": "restricted",
                "pod-security.kubernetes.io/enforce-version": "latest",
                "pod-security.kubernetes.io/audit": "restricted",
                "pod-security.kubernetes.io/warn": "restricted",
                # The load balancer controller adds a readiness gate to every pod of the namespace that a
                # TargetGroupBinding selects: a new pod counts as ready only once the ALB sees it healthy,
                # so a rolling update never removes old pods before the new ones take traffic.
                READINESS_GATE_LABEL: "enabled",
            },
        },
    }


def service_account_manifest(name: str, component: str) -> Manifest:
    """A ServiceAccount without an API token: the pods never call the Kubernetes API.

    EKS Pod Identity does not need the service account token mount either: its webhook adds its own projected
    token (audience pods.eks.amazonaws.com) and the credential endpoint variables to the pod.
    """
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": metadata(name, component),
        "automountServiceAccountToken": False,
    }


def settings_env(
    *,
    environment: str,
    stack: str,
    region: str,
    bucket: Ref,
    tenant_map_json: Ref,
    db_pool_max: int,
    alb_idle_timeout_seconds: int = 60,
    vpc_cidr: str = "10.0.0.0/16",
    container_port: int = DEFAULT_CONTAINER_PORT,
) -> dict[str, Any]:
    """The non-secret NEXUS_* settings shared by the API, the worker and the migration Job (a ConfigMap).

    The API's keep-alive is derived from the ALB's idle timeout (one config value, ``nexus:alb.idleTimeout``)
    plus a margin, so the ALB always closes an idle connection first; forwarded headers are believed from
    the VPC only (the ALB's nodes have addresses there; nothing else reaches the pods' port through it).

    Every AWS stack runs the app in production mode: its secrets are generated, never placeholders, and every
    database connection is TLS with full verification (RDS Proxy and rds.force_ssl demand TLS; verify-full
    checks the chain against the image's bundle of the system roots and the RDS global bundle, which RDS
    and RDS Proxy certificates chain to, and the host name).
    """
    del environment  # the same mode everywhere in AWS; kept in the signature so the choice is visible here
    return {
        "NEXUS_ENV": "production",
        "NEXUS_TENANT_MAP": tenant_map_json,
        "NEXUS_DB_SSL": "verify-full",
        "NEXUS_DB_CA_BUNDLE": IMAGE_DB_CA_BUNDLE,
        "NEXUS_DB_POOL_MAX": str(db_pool_max),
        "NEXUS_S3_BUCKET": bucket,
        "NEXUS_S3_REGION": region,
        "NEXUS_JWT_ISSUER": f"nexus-{stack}",
        "NEXUS_JWT_AUDIENCE": "nexus-clients",
        "NEXUS_JWT_TTL_SECONDS": "900",
        "NEXUS_CACHE_ENABLED": "true",
        "NEXUS_CACHE_TTL_SECONDS": "300",
        "NEXUS_MAX_UPLOAD_BYTES": str(10 * 1024 * 1024),
        "NEXUS_HOST": "0.0.0.0",  # noqa: S104 - inside the pod; only the Service and the ALB reach it
        "NEXUS_PORT": str(container_port),
        "NEXUS_LOG_LEVEL": "INFO",
        "NEXUS_KEEP_ALIVE_SECONDS": str(alb_idle_timeout_seconds + KEEP_ALIVE_MARGIN_SECONDS),
        "NEXUS_FORWARDED_ALLOW_IPS": vpc_cidr,
    }


KEEP_ALIVE_MARGIN_SECONDS: Final = 15
"""How much longer than the ALB's idle timeout the API keeps an idle connection (AWS's guidance for targets:
a keep-alive greater than the load balancer's idle timeout)."""

IMAGE_DB_CA_BUNDLE: Final = "/usr/local/share/nexus/db-ca-bundle.pem"
"""Where app/Dockerfile puts the system roots plus the RDS global bundle (pinned by checksum)."""

SHARED_SECRET_KEYS: Final = ("NEXUS_REDIS_URL", "NEXUS_JWT_KEYS", "NEXUS_JWT_ACTIVE_KID")


def secret_keys(shard_ids: Sequence[str]) -> list[str]:
    """The keys of the app Secret, in order: one password per shard, then Redis and the JWT keys."""
    return [*(password_env(shard_id) for shard_id in sorted(shard_ids)), *SHARED_SECRET_KEYS]


def jwt_keys_json(keys: Mapping[str, str]) -> str:
    """NEXUS_JWT_KEYS: the verification key set, kid -> secret, in kid order."""
    return json.dumps(dict(sorted(keys.items())), separators=(",", ":"))


def config_map_manifest(name: Ref, data: Mapping[str, Any]) -> Manifest:
    """The settings ConfigMap (non-secret values only).

    The program leaves its name to Pulumi (``name=None``): a change of data then creates a new ConfigMap under
    a new name, the pod templates that reference it change, and the Deployments roll; the old one is deleted
    after the rollout.
    """
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata(name, COMPONENT_API),
        "data": dict(data),
    }


def secret_manifest(name: Ref, string_data: Any, component: str = COMPONENT_API) -> Manifest:
    """The app Secret (or, with ``component=COMPONENT_MIGRATE``, the migrations' own: the shards' owner
    passwords, which no API or worker pod references). ``string_data`` is a (secret) Output of the whole
    map in the program.

    Auto-named like the ConfigMap, for the same reason: a rotated password or key rolls the pods.
    """
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": metadata(name, component),
        "type": "Opaque",
        "stringData": string_data,
    }


def container_security_context() -> dict[str, Any]:
    """What the restricted pod security standard asks, and a read-only root filesystem."""
    return {
        "runAsNonRoot": True,
        "runAsUser": APP_UID,
        "runAsGroup": APP_UID,
        "readOnlyRootFilesystem": True,
        "allowPrivilegeEscalation": False,
        "privileged": False,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def pod_security_context() -> dict[str, Any]:
    """Pod-level identity; fsGroup makes the /tmp emptyDir writable by the app's group."""
    return {
        "runAsNonRoot": True,
        "runAsUser": APP_UID,
        "runAsGroup": APP_UID,
        "fsGroup": APP_UID,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def _env_from(config_map_name: Ref, secret_name: Ref) -> list[dict[str, Any]]:
    return [{"configMapRef": {"name": config_map_name}}, {"secretRef": {"name": secret_name}}]


def _tmp_volume() -> tuple[dict[str, Any], dict[str, Any]]:
    # The only writable place: uvicorn's Prometheus multiprocess directory and Python's temp files.
    volume = {"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}}
    mount = {"name": "tmp", "mountPath": TMP_MOUNT}
    return volume, mount


def _container(
    *,
    name: str,
    image: str,
    command: list[str],
    resources: Resources,
    config_map_name: Ref,
    secret_name: Ref,
    env: Mapping[str, str],
    **extra: Any,
) -> dict[str, Any]:
    _, mount = _tmp_volume()
    return {
        "name": name,
        "image": image,
        # Pinned images (a digest from CI) need no pull on every start; a scale-out stays fast and does not
        # depend on the registry being reachable for nodes that already hold the image.
        "imagePullPolicy": "IfNotPresent",
        "command": command,
        "envFrom": _env_from(config_map_name, secret_name),
        "env": [{"name": key, "value": value} for key, value in env.items()],
        "resources": resources.to_json(),
        "securityContext": container_security_context(),
        "volumeMounts": [mount],
        **extra,
    }


def _pod_spec(
    *,
    service_account: str,
    containers: list[dict[str, Any]],
    grace_seconds: int,
    **extra: Any,
) -> dict[str, Any]:
    volume, _ = _tmp_volume()
    return {
        "serviceAccountName": service_account,
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": pod_security_context(),
        "terminationGracePeriodSeconds": grace_seconds,
        "containers": containers,
        "volumes": [volume],
        **extra,
    }


def topology_spread(component: str) -> list[dict[str, Any]]:
    """Spread replicas across zones (hard: a zone outage never takes every pod) and nodes (soft).

    Zones without a node are not counted as domains. The Cluster Autoscaler simulates these constraints when
    it picks the node group to grow, which works because every node group is one managed node group per AZ
    (a multi-AZ group would let the ASG pick the zone, and the pod could stay Pending).
    """
    selector = {"matchLabels": selector_labels(component)}
    return [
        {
            "maxSkew": 1,
            "topologyKey": "topology.kubernetes.io/zone",
            "whenUnsatisfiable": "DoNotSchedule",
            "labelSelector": selector,
            "matchLabelKeys": ["pod-template-hash"],
        },
        {
            "maxSkew": 1,
            "topologyKey": "kubernetes.io/hostname",
            "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": selector,
            "matchLabelKeys": ["pod-template-hash"],
        },
    ]


def api_deployment_manifest(
    *,
    image: str,
    resources: Resources,
    worker_processes: int,
    timing: Timing,
    config_map_name: Ref,
    secret_name: Ref,
    service_account: str,
    container_port: int = DEFAULT_CONTAINER_PORT,
) -> Manifest:
    """The API Deployment. No ``replicas``: the HPA owns the count, and Pulumi must not reset it."""
    port = {"name": "http", "containerPort": container_port, "protocol": "TCP"}
    container = _container(
        name="api",
        image=image,
        command=["python", "-m", "app.serve"],
        resources=resources,
        config_map_name=config_map_name,
        secret_name=secret_name,
        env={"NEXUS_WORKERS": str(worker_processes)},
        ports=[port],
        # Startup may wait for the pools to open; liveness only starts counting once it succeeded.
        startupProbe=_http_probe("/healthz", period=2, failures=30),
        livenessProbe=_http_probe("/healthz", period=10, failures=3),
        # /readyz fails only when no shard's writer answers (the pod can serve nobody); one shard or Redis
        # down leaves the pod in the ALB, so the other shards' tenants are still served.
        readinessProbe=_http_probe("/readyz", period=5, failures=2),
        lifecycle={"preStop": {"sleep": {"seconds": timing.pre_stop_seconds}}},
    )
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata("api", COMPONENT_API),
        "spec": {
            "selector": {"matchLabels": selector_labels(COMPONENT_API)},
            "revisionHistoryLimit": 5,
            "minReadySeconds": 5,
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": "25%"}},
            "template": {
                "metadata": {"labels": labels(COMPONENT_API)},
                "spec": _pod_spec(
                    service_account=service_account,
                    containers=[container],
                    grace_seconds=timing.grace_seconds,
                    topologySpreadConstraints=topology_spread(COMPONENT_API),
                ),
            },
        },
    }


def _http_probe(path: str, *, period: int, failures: int) -> dict[str, Any]:
    return {
        "httpGet": {"path": path, "port": "http", "scheme": "HTTP"},
        "periodSeconds": period,
        "timeoutSeconds": 2,
        "failureThreshold": failures,
        "successThreshold": 1,
    }


def worker_deployment_manifest(
    *,
    image: str,
    resources: Resources,
    concurrency: int,
    config_map_name: Ref,
    secret_name: Ref,
    service_account: str,
) -> Manifest:
    """The queue worker Deployment: the same image and hardening, another command, no Service.

    It has no HTTP endpoint to probe; it waits out a Redis restart, and a crashed worker is restarted.
    """
    container = _container(
        name="worker",
        image=image,
        command=["python", "-m", "app.worker"],
        resources=resources,
        config_map_name=config_map_name,
        secret_name=secret_name,
        env={"NEXUS_WORKER_CONCURRENCY": str(concurrency)},
    )
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata("worker", COMPONENT_WORKER),
        "spec": {
            "selector": {"matchLabels": selector_labels(COMPONENT_WORKER)},
            "revisionHistoryLimit": 5,
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": "25%"}},
            "template": {
                "metadata": {"labels": labels(COMPONENT_WORKER)},
                "spec": _pod_spec(
                    service_account=service_account,
                    containers=[container],
                    grace_seconds=WORKER_DRAIN_SECONDS + TERMINATION_MARGIN_SECONDS,
                    topologySpreadConstraints=topology_spread(COMPONENT_WORKER),
                ),
            },
        },
    }


def migration_job_name(image: str, tenant_map_json: str) -> str:
    """``migrate-<hash>``: a new image or tenant map gives a new Job (Job templates are immutable)."""
    digest = hashlib.sha256(f"{image}\n{tenant_map_json}".encode()).hexdigest()[:10]
    return f"migrate-{digest}"


MIGRATION_BACKOFF_LIMIT: Final = 2
MIGRATION_DEADLINE_SECONDS: Final = 900
MIGRATION_RESOURCES: Final = Resources(cpu_millicores=250, memory_mib=256, cpu_limit_millicores=1000)
"""One short process: a small request, and a limit so a runaway migration cannot starve the node."""


def migration_job_manifest(
    *,
    name: Ref,
    image: str,
    resources: Resources,
    config_map_name: Ref,
    secret_name: Ref,
    service_account: str,
    owner_secret_name: Ref | None = None,
) -> Manifest:
    """The migration Job: ``python -m app.migrate`` on every shard of the tenant map, through the writer,
    as each shard's owner: only this Job gets the owner Secret.

    No ``ttlSecondsAfterFinished``: the Job's lifecycle is Pulumi's alone. With a TTL, Kubernetes deletes the
    finished Job behind Pulumi's back; ``pulumi refresh`` then drops it from the state and the next ``pulumi
    up`` creates it again, running the migrations once more (the same lifecycle problem as
    hashicorp/terraform-provider-kubernetes#2531; Kubernetes docs, "Automatic Cleanup for Finished Jobs").
    The finished Job and its pod's logs stay until a deploy changes the Job's name (new image or tenant
    map): Pulumi then creates the new Job and deletes the old one.
    """
    container = _container(
        name="migrate",
        image=image,
        command=["python", "-m", "app.migrate"],
        resources=resources,
        config_map_name=config_map_name,
        secret_name=secret_name,
        env={},
    )
    if owner_secret_name is not None:
        container["envFrom"].append({"secretRef": {"name": owner_secret_name}})
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": metadata(
            name,
            COMPONENT_MIGRATE,
            # A failed Job is replaced on the next update instead of blocking it (pulumi-kubernetes).
            annotations={"pulumi.com/replaceUnready": "true"},
        ),
        "spec": {
            "backoffLimit": MIGRATION_BACKOFF_LIMIT,
            "activeDeadlineSeconds": MIGRATION_DEADLINE_SECONDS,
            "template": {
                "metadata": {"labels": labels(COMPONENT_MIGRATE)},
                "spec": _pod_spec(
                    service_account=service_account,
                    containers=[container],
                    grace_seconds=30,
                    restartPolicy="Never",
                ),
            },
        },
    }


def service_manifest() -> Manifest:
    """ClusterIP Service of the API; the TargetGroupBinding resolves its endpoints to pod IPs."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata("api", COMPONENT_API),
        "spec": {
            "type": "ClusterIP",
            "selector": selector_labels(COMPONENT_API),
            "ports": [{"name": "http", "port": SERVICE_PORT, "targetPort": "http", "protocol": "TCP"}],
        },
    }


def target_group_binding_manifest(target_group_arn: Ref) -> Manifest:
    """Registers the API pods' IPs in the Pulumi-owned ALB target group (AWS Load Balancer Controller).

    No ``networking`` section: the rule that lets the ALB reach the pods is a Pulumi-owned security group
    rule, so the controller never edits security groups Pulumi manages.
    """
    return {
        "apiVersion": TARGET_GROUP_BINDING_API,
        "kind": "TargetGroupBinding",
        "metadata": metadata("api", COMPONENT_API),
        "spec": {
            "serviceRef": {"name": "api", "port": SERVICE_PORT},
            "targetGroupARN": target_group_arn,
            "targetType": "ip",
        },
    }


def hpa_manifest(
    *, target: str, component: str, min_replicas: int, max_replicas: int, cpu_percent: int
) -> Manifest:
    """autoscaling/v2 HPA on CPU utilisation (a percentage of the request, which is why requests are set).

    Scale up fast (double, or +4 pods, every 15 s); scale down only after 5 minutes of lower load and by at
    most a fifth (at least one pod) a minute, so a short lull does not drop capacity the next burst needs.
    """
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": metadata(target, component),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target},
            "minReplicas": min_replicas,
            "maxReplicas": max_replicas,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": cpu_percent},
                    },
                }
            ],
            "behavior": {
                "scaleUp": {
                    "stabilizationWindowSeconds": 0,
                    "selectPolicy": "Max",
                    "policies": [
                        {"type": "Percent", "value": 100, "periodSeconds": 15},
                        {"type": "Pods", "value": 4, "periodSeconds": 15},
                    ],
                },
                "scaleDown": {
                    "stabilizationWindowSeconds": 300,
                    "selectPolicy": "Max",
                    "policies": [
                        {"type": "Percent", "value": 20, "periodSeconds": 60},
                        {"type": "Pods", "value": 1, "periodSeconds": 60},
                    ],
                },
            },
        },
    }


def pdb_manifest(*, name: str, component: str) -> Manifest:
    """At most one pod down at a time by voluntary disruption (node drains, Cluster Autoscaler scale-in).

    maxUnavailable rather than minAvailable: with one replica (dev) a drain still proceeds.
    """
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": metadata(name, component),
        "spec": {
            "maxUnavailable": 1,
            "selector": {"matchLabels": selector_labels(component)},
            "unhealthyPodEvictionPolicy": "AlwaysAllow",
        },
    }


DNS_PORT: Final = 53
POSTGRES_PORT: Final = 5432
REDIS_PORT: Final = 6379
HTTPS_PORT: Final = 443
POD_IDENTITY_AGENT_IP: Final = "169.254.170.23"
"""Where pods fetch Pod Identity credentials (AWS_CONTAINER_CREDENTIALS_FULL_URI=http://169.254.170.23/v1/
credentials, port 80; EKS user guide, pod-id-how-it-works.html): the agent runs in the node's network, so a
default-deny egress cuts pods off their AWS credentials unless it is allowed."""
POD_IDENTITY_AGENT_PORT: Final = 80
KUBE_DNS_LABELS: Final = {"k8s-app": "kube-dns"}
"""The coredns add-on's pod labels (its Service is kube-dns in kube-system)."""
ANYWHERE_V4: Final = "0.0.0.0/0"


def _egress_rule(to: list[dict[str, Any]], ports: Sequence[tuple[int, str]]) -> dict[str, Any]:
    return {"to": to, "ports": [{"port": port, "protocol": protocol} for port, protocol in ports]}


def network_policy_manifests(
    container_port: int = DEFAULT_CONTAINER_PORT,
    *,
    vpc_cidr: str,
    postgres_port: int = POSTGRES_PORT,
    redis_port: int = REDIS_PORT,
) -> list[Manifest]:
    """Isolation inside the cluster, ingress and egress, for every pod of the namespace.

    Ingress: nothing but the API port on the API pods (the ALB reaches them from its own subnets). Egress:
    default deny, then exactly what the pods need: DNS to coredns, Postgres and Redis inside the VPC (RDS
    Proxy, the replicas, ElastiCache; the databases' own security groups still narrow it), HTTPS anywhere
    (S3, Secrets Manager, STS and the other AWS APIs, whose addresses are not fixed), and the node-local Pod
    Identity agent. The VPC CNI's network policy agent enforces these: the cluster turns it on (vpc-cni
    ``enableNetworkPolicy``); without it they would be inert.
    """
    deny_ingress = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": metadata("default-deny-ingress", COMPONENT_API),
        "spec": {"podSelector": {}, "policyTypes": ["Ingress"]},
    }
    api_ingress = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": metadata("api-ingress", COMPONENT_API),
        "spec": {
            "podSelector": {"matchLabels": selector_labels(COMPONENT_API)},
            "policyTypes": ["Ingress"],
            "ingress": [{"ports": [{"port": container_port, "protocol": "TCP"}]}],
        },
    }
    deny_egress = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": metadata("default-deny-egress", COMPONENT_API),
        "spec": {"podSelector": {}, "policyTypes": ["Egress"]},
    }
    coredns = {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
        "podSelector": {"matchLabels": dict(KUBE_DNS_LABELS)},
    }
    allow_egress = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": metadata("allow-egress", COMPONENT_API),
        "spec": {
            "podSelector": {},
            "policyTypes": ["Egress"],
            "egress": [
                _egress_rule([coredns], [(DNS_PORT, "UDP"), (DNS_PORT, "TCP")]),
                _egress_rule(
                    [{"ipBlock": {"cidr": vpc_cidr}}], [(postgres_port, "TCP"), (redis_port, "TCP")]
                ),
                _egress_rule([{"ipBlock": {"cidr": ANYWHERE_V4}}], [(HTTPS_PORT, "TCP")]),
                _egress_rule(
                    [{"ipBlock": {"cidr": f"{POD_IDENTITY_AGENT_IP}/32"}}], [(POD_IDENTITY_AGENT_PORT, "TCP")]
                ),
            ],
        },
    }
    return [deny_ingress, api_ingress, deny_egress, allow_egress]
