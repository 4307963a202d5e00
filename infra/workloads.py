"""The API and the queue worker on the cluster: identity, settings, secrets, migrations, Deployments, scaling.

Every Kubernetes object is a typed pulumi-kubernetes resource whose inputs are the plain manifests of
``infra.k8s.manifests`` (so what the tests validate is exactly what the provider applies).
Order on the cluster:

    Namespace -> ServiceAccounts, ConfigMap, Secret -> migration Job (awaited until complete)
              -> Deployments (awaited until rolled out) -> Service, TargetGroupBinding, HPAs, PDBs

AWS side: one IAM role per workload, trusted only by EKS Pod Identity for that cluster, namespace and service
account, carrying the policy documents of ``infra.iam_policies``; a Pod Identity association ties each role to
its service account.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pulumi_random as random

from infra.cluster import pod_identity_trust_policy
from infra.k8s import manifests as m
from infra.k8s.tenantmap import owner_password_env, password_env

JOB_TIMEOUT = f"{m.MIGRATION_DEADLINE_SECONDS // 60 + 2}m"
"""How long `pulumi up` waits for the migration Job: past its activeDeadlineSeconds."""
JWT_KEY_LENGTH = 64
"""Characters of each generated JWT signing key (alphanumeric: ~380 bits, far above HS256's 256)."""


@dataclass(frozen=True, kw_only=True)
class ScaledPodsSpec:
    """Requests and HPA bounds of one Deployment."""

    min_replicas: int
    """HPA minimum."""
    max_replicas: int
    """HPA maximum."""
    cpu: int
    """CPU request per pod, millicores."""
    cpu_limit: int | None
    """CPU limit per pod, millicores (None: no limit)."""
    memory_mib: int
    """Memory request and limit per pod, MiB."""
    target_cpu_utilization: int
    """HPA CPU target, percent of the request."""


@dataclass(frozen=True, kw_only=True)
class ApiSpec(ScaledPodsSpec):
    """The API Deployment."""

    image: str
    """Container image of the API and the worker."""
    worker_processes: int
    """Worker processes per pod (one per whole CPU requested)."""
    db_pool_size: int
    """Connections per worker process, per shard, per role."""
    jwt_key_ids: Sequence[str]
    """JWT signing key ids; each gets a generated key."""
    active_key_id: str
    """The key id that signs new tokens."""


@dataclass(frozen=True, kw_only=True)
class WorkerSpec(ScaledPodsSpec):
    """The queue worker Deployment."""

    concurrency: int
    """Jobs one worker pod runs at once."""


@dataclass(frozen=True, kw_only=True)
class WorkloadsArgs:
    """Inputs of the API and worker workloads."""

    stack: str
    """Stack name (the JWT issuer is ``nexus-<stack>``)."""
    environment: str
    """dev | staging | prod."""
    region: str
    """AWS region of the bucket."""
    api: ApiSpec
    """nexus:api: image, requests, HPA bounds, pool size, JWT key ids."""
    worker: WorkerSpec
    """nexus:worker: requests, HPA bounds, concurrency."""
    container_port: int
    """Port the API container listens on; the ALB target group and its security group rule use it."""
    deregistration_delay_seconds: int
    """The ALB target group's deregistration delay; the API's preStop sleep covers it."""
    alb_idle_timeout_seconds: int
    """The ALB's idle timeout; the API keeps idle connections a little longer."""
    kubernetes_provider: pulumi.ProviderResource
    """The cluster's Kubernetes provider (every Kubernetes child uses it explicitly)."""
    cluster_name: pulumi.Input[str]
    """EKS cluster name, for the Pod Identity associations and the roles' trust conditions."""
    tenant_map: pulumi.Input[Mapping[str, Any]]
    """The tenant map (infra.k8s.tenantmap format) the app reads."""
    db_passwords: Mapping[str, pulumi.Input[str]]
    """Shard id -> the app user's database password (secret Outputs)."""
    redis_url: pulumi.Input[str]
    """rediss:// URL with the AUTH token (a secret Output)."""
    bucket_name: pulumi.Input[str]
    """The uploads bucket."""
    api_policy_json: pulumi.Input[str]
    """IAM policy of the API pods (infra.iam_policies.api_policy_document as JSON)."""
    worker_policy_json: pulumi.Input[str]
    """IAM policy of the worker pods (infra.iam_policies.worker_policy_document as JSON)."""
    target_group_arn: pulumi.Input[str]
    """The ALB target group the API pods' IPs are registered in."""
    vpc_cidr: str
    """The VPC's CIDR: the pods' egress to Postgres and Redis is allowed inside it only, and the ALB's
    forwarded headers are believed from it only."""
    postgres_port: int
    """Port of RDS Proxy and the replicas (egress network policy)."""
    redis_port: int
    """Port of the Redis group (egress network policy)."""
    db_owner_passwords: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Shard id -> the owner's (master user's) password: only the migration Job's Secret holds them."""
    depends_on: Sequence[pulumi.Resource] = field(default_factory=tuple)
    """What must exist before any pod is scheduled: node groups, the load balancer controller (its CRD and
    webhook), the Pod Identity agent."""


def tenant_map_json(tenant_map: Mapping[str, Any]) -> str:
    """The tenant map as the app reads it: stable key order, compact."""
    return json.dumps(tenant_map, sort_keys=True, separators=(",", ":"))


class Workloads(pulumi.ComponentResource):
    """The API and worker Deployments with everything they need on the cluster."""

    namespace: pulumi.Output[str]
    """The namespace of every object."""
    api_role_arn: pulumi.Output[str]
    """IAM role of the API pods."""
    worker_role_arn: pulumi.Output[str]
    """IAM role of the worker pods."""
    migration_job_name: pulumi.Output[str]
    """Name of this deploy's migration Job."""

    def __init__(self, name: str, args: WorkloadsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("nexus:workloads:Workloads", name, None, opts)
        self._name = name
        self._args = args
        k8s_opts = pulumi.ResourceOptions(parent=self, provider=args.kubernetes_provider)

        namespace = self._k8s(
            k8s.core.v1.Namespace,
            "namespace",
            m.namespace_manifest(),
            k8s_opts.merge(pulumi.ResourceOptions(depends_on=list(args.depends_on))),
        )
        # Everything below lives in the namespace: make the order explicit (names are plain strings).
        in_ns = k8s_opts.merge(pulumi.ResourceOptions(depends_on=[namespace]))

        # Pods of a missing service account are refused (and retried): every workload waits for its own.
        accounts = {
            account: self._k8s(
                k8s.core.v1.ServiceAccount,
                f"{account}-sa",
                m.service_account_manifest(account, component),
                in_ns,
            )
            for account, component in (
                ("api", m.COMPONENT_API),
                ("worker", m.COMPONENT_WORKER),
                ("migrate", m.COMPONENT_MIGRATE),
            )
        }
        api_role, api_identity = self._pod_role("api", args.api_policy_json)
        worker_role, worker_identity = self._pod_role("worker", args.worker_policy_json)

        map_json = pulumi.Output.from_input(args.tenant_map).apply(tenant_map_json)
        config_map = self._config_map(map_json, in_ns)
        secret = self._secret(in_ns)
        config_map_name = config_map.metadata.apply(lambda meta: meta.name)
        secret_name = secret.metadata.apply(lambda meta: meta.name)
        owner_secret = self._owner_secret(in_ns)
        owner_secret_name = owner_secret.metadata.apply(lambda meta: meta.name) if owner_secret else None

        image = args.api.image
        job_name = map_json.apply(lambda tmap: m.migration_job_name(image, tmap))
        job = self._k8s(
            k8s.batch.v1.Job,
            "migrate",
            m.migration_job_manifest(
                name=job_name,
                image=image,
                resources=m.MIGRATION_RESOURCES,
                config_map_name=config_map_name,
                secret_name=secret_name,
                service_account="migrate",
                owner_secret_name=owner_secret_name,
            ),
            # pulumi-kubernetes gives up on a Job after 10 minutes by default; let Kubernetes' own deadline
            # (activeDeadlineSeconds) decide, so a slow migration fails as Failed, not as a Pulumi timeout.
            in_ns.merge(
                pulumi.ResourceOptions(
                    depends_on=[accounts["migrate"]],
                    custom_timeouts=pulumi.CustomTimeouts(create=JOB_TIMEOUT, update=JOB_TIMEOUT),
                )
            ),
        )
        # pulumi-kubernetes waits for the Job to complete: the Deployments roll only once the schema is there.
        # Pod Identity hands credentials only to pods created after the association exists.
        after_job = in_ns.merge(
            pulumi.ResourceOptions(depends_on=[namespace, job, api_identity, worker_identity])
        )
        # The binding exists before the first API pod, so the controller's webhook gives every pod the ALB
        # readiness gate: the Deployment (and `pulumi up`) completes only once the ALB sees the pods healthy.
        binding = self._api_traffic(in_ns)
        api_deployment = self._api_deployment(
            config_map_name,
            secret_name,
            after_job.merge(pulumi.ResourceOptions(depends_on=[binding, accounts["api"]])),
        )
        worker_deployment = self._worker_deployment(
            config_map_name,
            secret_name,
            after_job.merge(pulumi.ResourceOptions(depends_on=[accounts["worker"]])),
        )
        self._scaling(api_deployment, worker_deployment, in_ns)

        self.namespace = namespace.metadata.apply(lambda meta: meta.name)
        self.api_role_arn = api_role.arn
        self.worker_role_arn = worker_role.arn
        self.migration_job_name = job_name
        self.register_outputs(
            {
                "namespace": self.namespace,
                "apiRoleArn": self.api_role_arn,
                "workerRoleArn": self.worker_role_arn,
                "migrationJobName": self.migration_job_name,
            }
        )

    def _k8s(self, cls: Any, suffix: str, manifest: m.Manifest, opts: pulumi.ResourceOptions) -> Any:
        """One typed Kubernetes resource from a manifest (apiVersion and kind are the class's)."""
        body = {key: value for key, value in manifest.items() if key not in ("apiVersion", "kind")}
        return cls(f"{self._name}-{suffix}", **_snake_keys(body), opts=opts)

    def _pod_role(
        self, workload: str, policy_json: pulumi.Input[str]
    ) -> tuple[aws.iam.Role, aws.eks.PodIdentityAssociation]:
        args = self._args
        trust = pulumi.Output.from_input(args.cluster_name).apply(
            lambda cluster: json.dumps(
                pod_identity_trust_policy(cluster, m.NAMESPACE, workload, sid="EksPodIdentity"),
                sort_keys=True,
            )
        )
        role = aws.iam.Role(
            f"{self._name}-{workload}-role",
            assume_role_policy=trust,
            description=f"EKS Pod Identity role of the {workload} pods ({m.NAMESPACE}/{workload})",
            max_session_duration=3600,
            opts=pulumi.ResourceOptions(parent=self),
        )
        policy = aws.iam.RolePolicy(
            f"{self._name}-{workload}-policy",
            role=role.id,
            policy=policy_json,
            opts=pulumi.ResourceOptions(parent=self),
        )
        identity = aws.eks.PodIdentityAssociation(
            f"{self._name}-{workload}-identity",
            cluster_name=args.cluster_name,
            namespace=m.NAMESPACE,
            service_account=workload,
            role_arn=role.arn,
            # Pods get the role's credentials once the association exists: its permissions must be there.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy, *args.depends_on]),
        )
        return role, identity

    def _config_map(
        self, map_json: pulumi.Output[str], opts: pulumi.ResourceOptions
    ) -> k8s.core.v1.ConfigMap:
        args = self._args
        data = m.settings_env(
            environment=args.environment,
            stack=args.stack,
            region=args.region,
            bucket=args.bucket_name,
            tenant_map_json=map_json,
            db_pool_max=args.api.db_pool_size,
            alb_idle_timeout_seconds=args.alb_idle_timeout_seconds,
            vpc_cidr=args.vpc_cidr,
            container_port=args.container_port,
        )
        return self._k8s(k8s.core.v1.ConfigMap, "settings", m.config_map_manifest(None, data), opts)  # type: ignore[no-any-return]

    def _secret(self, opts: pulumi.ResourceOptions) -> k8s.core.v1.Secret:
        args = self._args
        keys = {
            kid: random.RandomPassword(
                f"{self._name}-jwt-{kid}",
                length=JWT_KEY_LENGTH,
                special=False,
                opts=pulumi.ResourceOptions(parent=self),
            ).result
            for kid in args.api.jwt_key_ids
        }
        jwt_keys = pulumi.Output.all(**keys).apply(lambda resolved: m.jwt_keys_json(resolved))
        shared: dict[str, pulumi.Input[str]] = {
            "NEXUS_REDIS_URL": args.redis_url,
            "NEXUS_JWT_KEYS": jwt_keys,
            "NEXUS_JWT_ACTIVE_KID": args.api.active_key_id,
        }
        passwords = {password_env(shard_id): value for shard_id, value in sorted(args.db_passwords.items())}
        # Secret from the start: the preview masks it and it never reaches a plain output.
        merged: pulumi.Output[dict[str, Any]] = pulumi.Output.all(**passwords, **shared)
        string_data: pulumi.Output[dict[str, Any]] = pulumi.Output.secret(merged)
        return self._k8s(k8s.core.v1.Secret, "secret", m.secret_manifest(None, string_data), opts)  # type: ignore[no-any-return]

    def _owner_secret(self, opts: pulumi.ResourceOptions) -> k8s.core.v1.Secret | None:
        """The migrations' Secret: the shards' owner passwords (the API and the worker never mount it)."""
        args = self._args
        if not args.db_owner_passwords:
            return None
        passwords = {
            owner_password_env(shard_id): value for shard_id, value in sorted(args.db_owner_passwords.items())
        }
        merged: pulumi.Output[dict[str, Any]] = pulumi.Output.all(**passwords)
        string_data: pulumi.Output[dict[str, Any]] = pulumi.Output.secret(merged)
        manifest = m.secret_manifest(None, string_data, m.COMPONENT_MIGRATE)
        return self._k8s(k8s.core.v1.Secret, "migrate-secret", manifest, opts)  # type: ignore[no-any-return]

    def _api_deployment(
        self,
        config_map_name: pulumi.Output[Any],
        secret_name: pulumi.Output[Any],
        opts: pulumi.ResourceOptions,
    ) -> k8s.apps.v1.Deployment:
        args = self._args
        api = args.api
        manifest = m.api_deployment_manifest(
            image=api.image,
            resources=m.Resources(api.cpu, api.memory_mib, api.cpu_limit),
            worker_processes=api.worker_processes,
            timing=m.termination_timing(args.deregistration_delay_seconds),
            config_map_name=config_map_name,
            secret_name=secret_name,
            service_account="api",
            container_port=args.container_port,
        )
        return self._k8s(k8s.apps.v1.Deployment, "api", manifest, opts)  # type: ignore[no-any-return]

    def _worker_deployment(
        self,
        config_map_name: pulumi.Output[Any],
        secret_name: pulumi.Output[Any],
        opts: pulumi.ResourceOptions,
    ) -> k8s.apps.v1.Deployment:
        worker = self._args.worker
        manifest = m.worker_deployment_manifest(
            image=self._args.api.image,
            resources=m.Resources(worker.cpu, worker.memory_mib, worker.cpu_limit),
            concurrency=worker.concurrency,
            config_map_name=config_map_name,
            secret_name=secret_name,
            service_account="worker",
        )
        return self._k8s(k8s.apps.v1.Deployment, "worker", manifest, opts)  # type: ignore[no-any-return]

    def _api_traffic(self, opts: pulumi.ResourceOptions) -> k8s.apiextensions.CustomResource:
        args = self._args
        policies = m.network_policy_manifests(
            args.container_port,
            vpc_cidr=args.vpc_cidr,
            postgres_port=args.postgres_port,
            redis_port=args.redis_port,
        )
        for policy in policies:
            self._k8s(k8s.networking.v1.NetworkPolicy, f"{policy['metadata']['name']}-netpol", policy, opts)
        service = self._k8s(k8s.core.v1.Service, "api-service", m.service_manifest(), opts)
        binding = m.target_group_binding_manifest(self._args.target_group_arn)
        return k8s.apiextensions.CustomResource(
            f"{self._name}-api-tgb",
            api_version=binding["apiVersion"],
            kind=binding["kind"],
            metadata=binding["metadata"],
            spec=binding["spec"],
            opts=opts.merge(pulumi.ResourceOptions(depends_on=[service])),
        )

    def _scaling(
        self, api: k8s.apps.v1.Deployment, worker: k8s.apps.v1.Deployment, opts: pulumi.ResourceOptions
    ) -> None:
        args = self._args
        after = opts.merge(pulumi.ResourceOptions(depends_on=[api, worker]))
        for target, component, cfg in (
            ("api", m.COMPONENT_API, args.api),
            ("worker", m.COMPONENT_WORKER, args.worker),
        ):
            hpa = m.hpa_manifest(
                target=target,
                component=component,
                min_replicas=cfg.min_replicas,
                max_replicas=cfg.max_replicas,
                cpu_percent=cfg.target_cpu_utilization,
            )
            self._k8s(k8s.autoscaling.v2.HorizontalPodAutoscaler, f"{target}-hpa", hpa, after)
            self._k8s(
                k8s.policy.v1.PodDisruptionBudget,
                f"{target}-pdb",
                m.pdb_manifest(name=target, component=component),
                after,
            )


def _snake_keys(body: Mapping[str, Any]) -> dict[str, Any]:
    """Top-level manifest keys as the Python SDK's keyword arguments (stringData -> string_data)."""
    return {"".join(f"_{c.lower()}" if c.isupper() else c for c in key): value for key, value in body.items()}
