"""The Workloads component on its recorded inputs and options (dev, prod, and changed configs), and the
whole stack's workloads: wiring, ordering, identities, secrets."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from infra.k8s import manifests as m
from infra.k8s.tenantmap import password_env
from offline import RecordedResource, StackRun
from stacks.config import ConfigError, load
from stacks.config.loader import load_stack_file
from tests.support.harness import PROJECT_DIR, raw_stack_config, with_changes
from tests.support.workloads import (
    K8S_PREFIX,
    by_kind,
    k8s_resources,
    manifests_of,
    run_workloads,
)

pytestmark = pytest.mark.infra

STACKS = ("dev", "prod")
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
JOB = "kubernetes:batch/v1:Job"
SECRET = "kubernetes:core/v1:Secret"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
TGB = "kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding"
IDENTITY = "aws:eks/podIdentityAssociation:PodIdentityAssociation"
ROLE = "aws:iam/role:Role"
PASSWORD = "random:index/randomPassword:RandomPassword"


def config_of(stack: str) -> Any:
    return load_stack_file(PROJECT_DIR / f"Pulumi.{stack}.yaml")


@pytest.fixture(scope="module")
def run(stack: str) -> StackRun:
    return run_workloads(stack)


def workload(run: StackRun, type_: str, suffix: str) -> RecordedResource:
    return run.one(type_, f"-workloads-{suffix}")


def workload_identities(run: StackRun) -> list[RecordedResource]:
    """The Pod Identity associations of the Workloads component (the controllers have their own)."""
    return [r for r in run.by_type(IDENTITY) if "nexus:workloads:Workloads$" in r.urn]


def container(resource: RecordedResource) -> dict[str, Any]:
    return resource.inputs["spec"]["template"]["spec"]["containers"][0]  # type: ignore[no-any-return]


def _env_from_of(resource: RecordedResource) -> list[dict[str, Any]]:
    return container(resource).get("envFrom", [])  # type: ignore[no-any-return]


# --- identity and structure -------------------------------------------------------------------------------


def test_every_child_belongs_to_the_component_and_is_named_from_it(run: StackRun, stack: str) -> None:
    component = run.one("nexus:workloads:Workloads")
    children = run.children_of(component)
    assert Counter(child.type.split(":")[1] for child in children) == {
        "eks/podIdentityAssociation": 2,
        "iam/role": 2,
        "iam/rolePolicy": 2,
        "index/randomPassword": 1,
        "core/v1": 8,  # the migrations' own Secret (the shards' owner passwords) among them
        "apps/v1": 2,
        "batch/v1": 1,
        "elbv2.k8s.aws/v1beta1": 1,
        "networking.k8s.io/v1": 4,  # ingress and egress: default deny + what is allowed
        "autoscaling/v2": 2,
        "policy/v1": 2,
    }
    assert all(child.name.startswith(f"nexus-{stack}-workloads-") for child in children)


def test_kubernetes_objects_use_the_clusters_provider_only(run: StackRun) -> None:
    provider = run.one("pulumi:providers:kubernetes")
    objects = k8s_resources(run)
    assert objects
    assert {resource.provider for resource in objects} == {provider.urn}


def test_aws_resources_keep_the_stacks_aws_provider(run: StackRun) -> None:
    provider = run.one("pulumi:providers:aws")
    aws = [r for r in run.resources if r.type.startswith("aws:")]
    assert {r.provider for r in aws} == {provider.urn}


# --- secrets and settings ----------------------------------------------------------------------------------


def test_the_secret_holds_every_password_redis_and_the_jwt_keys_as_a_secret(
    run: StackRun, stack: str
) -> None:
    secret = workload(run, SECRET, "secret")
    assert secret.secret_input("stringData"), "the Secret's data must travel as a Pulumi secret"
    data = secret.inputs["stringData"]
    shards = sorted(config_of(stack).shards)
    # Spelled out rather than taken from infra.k8s (the code under test): the names the app reads.
    passwords = {shard_id: "NEXUS_DB_PASSWORD_" + shard_id.upper().replace("-", "_") for shard_id in shards}
    assert set(data) == {*passwords.values(), "NEXUS_REDIS_URL", "NEXUS_JWT_KEYS", "NEXUS_JWT_ACTIVE_KID"}
    for shard_id, key in passwords.items():
        # The app role's password: the API and the worker never hold the master's.
        assert data[key] == run.one(PASSWORD, f"{shard_id}-app-password").outputs["result"]
    owner = workload(run, SECRET, "migrate-secret")
    assert owner.secret_input("stringData")
    assert owner.inputs["stringData"] == {
        "NEXUS_DB_OWNER_PASSWORD_" + s.upper().replace("-", "_"): run.one(
            PASSWORD, f"{s}-master-password"
        ).outputs["result"]
        for s in shards
    }
    # Only the migration Job reads it.
    readers = [
        r.name.rsplit("-", 1)[-1]
        for r in run.resources
        if r.type.startswith(K8S_PREFIX)
        and r.type.split(":")[-1] in ("Deployment", "Job")
        and {"secretRef": {"name": owner.outputs["metadata"]["name"]}} in _env_from_of(r)
    ]
    assert readers == ["migrate"]
    keys = json.loads(data["NEXUS_JWT_KEYS"])
    assert set(keys) == {"k1"}
    assert keys["k1"] == workload(run, PASSWORD, "jwt-k1").outputs["result"]
    assert len(keys["k1"]) == 64
    assert data["NEXUS_JWT_ACTIVE_KID"] == "k1"
    assert data["NEXUS_REDIS_URL"].startswith("rediss://")


def test_settings_are_plain_and_carry_the_tenant_map(run: StackRun, stack: str) -> None:
    config_map = workload(run, CONFIG_MAP, "settings")
    assert not config_map.secret_inputs, "non-secret settings stay readable in the preview"
    data = config_map.inputs["data"]
    tenant_map = json.loads(data["NEXUS_TENANT_MAP"])
    cfg = config_of(stack)
    # From one value, nexus:alb.idleTimeout: the API keeps an idle connection longer than the ALB does.
    alb = run.one("aws:lb/loadBalancer:LoadBalancer")
    assert int(data["NEXUS_KEEP_ALIVE_SECONDS"]) > alb.inputs["idleTimeout"] == cfg.alb.idle_timeout
    # Forwarded headers are believed from the VPC only (where the ALB's nodes are).
    vpc = run.one("aws:ec2/vpc:Vpc")
    assert data["NEXUS_FORWARDED_ALLOW_IPS"] == vpc.inputs["cidrBlock"]
    assert tenant_map["tenants"] == cfg.tenant_shards()
    assert set(tenant_map["shards"]) == set(cfg.shards)
    assert data["NEXUS_ENV"] == "production"
    assert data["NEXUS_DB_SSL"] == "verify-full"
    assert data["NEXUS_DB_CA_BUNDLE"] == "/usr/local/share/nexus/db-ca-bundle.pem"
    assert data["NEXUS_DB_POOL_MAX"] == str(cfg.api.db_pool_size)
    assert data["NEXUS_PORT"] == str(cfg.alb.target_port)
    assert data["NEXUS_JWT_ISSUER"] == f"nexus-{stack}"


def test_config_map_and_secret_are_auto_named_so_a_change_rolls_the_pods(run: StackRun) -> None:
    api = workload(run, DEPLOYMENT, "api")
    env_from = container(api)["envFrom"]
    config_map = workload(run, CONFIG_MAP, "settings")
    secret = workload(run, SECRET, "secret")
    assert "name" not in config_map.inputs["metadata"]
    assert "name" not in secret.inputs["metadata"]
    assert env_from == [
        {"configMapRef": {"name": config_map.outputs["metadata"]["name"]}},
        {"secretRef": {"name": secret.outputs["metadata"]["name"]}},
    ]


# --- ordering ----------------------------------------------------------------------------------------------


def test_deployments_wait_for_the_migration_job_the_pod_identities_and_their_accounts(run: StackRun) -> None:
    job = workload(run, JOB, "migrate")
    identities = {r.urn for r in workload_identities(run)}
    assert len(identities) == 2
    account = "kubernetes:core/v1:ServiceAccount"
    assert workload(run, account, "migrate-sa").urn in job.dependencies
    for name in ("api", "worker"):
        deployment = workload(run, DEPLOYMENT, name)
        assert job.urn in deployment.dependencies
        assert identities <= set(deployment.dependencies)
        assert workload(run, account, f"{name}-sa").urn in deployment.dependencies


def test_the_target_group_binding_exists_before_the_first_api_pod(run: StackRun) -> None:
    binding = workload(run, TGB, "api-tgb")
    assert binding.urn in workload(run, DEPLOYMENT, "api").dependencies
    assert binding.inputs["spec"]["targetType"] == "ip"
    assert binding.inputs["spec"]["targetGroupARN"].startswith("arn:aws:elasticloadbalancing:")
    assert binding.inputs["spec"]["serviceRef"] == {"name": "api", "port": m.SERVICE_PORT}


def test_everything_in_the_namespace_waits_for_it(run: StackRun) -> None:
    namespace = workload(run, "kubernetes:core/v1:Namespace", "namespace")
    others = [r for r in k8s_resources(run) if r.urn != namespace.urn]
    assert all(namespace.urn in r.dependencies for r in others)


# --- the migration Job -------------------------------------------------------------------------------------


def test_job_name_is_the_hash_of_image_and_tenant_map(run: StackRun, stack: str) -> None:
    job = workload(run, JOB, "migrate")
    tenant_map = workload(run, CONFIG_MAP, "settings").inputs["data"]["NEXUS_TENANT_MAP"]
    image = config_of(stack).api.image
    digest = hashlib.sha256(f"{image}\n{tenant_map}".encode()).hexdigest()[:10]
    assert job.inputs["metadata"]["name"] == f"migrate-{digest}"
    spec = job.inputs["spec"]
    assert container(job)["command"] == ["python", "-m", "app.migrate"]
    assert spec["backoffLimit"] == m.MIGRATION_BACKOFF_LIMIT
    assert "ttlSecondsAfterFinished" not in spec  # the lifecycle is Pulumi's (policy k8s-job-no-ttl)
    assert spec["template"]["spec"]["restartPolicy"] == "Never"
    assert job.inputs["metadata"]["annotations"] == {"pulumi.com/replaceUnready": "true"}
    # Pulumi waits longer than Kubernetes' deadline, so a slow migration ends as a failed Job.
    waits = int(job.record.custom_timeouts["create"].removesuffix("m")) * 60
    assert waits > spec["activeDeadlineSeconds"] == m.MIGRATION_DEADLINE_SECONDS


def test_a_new_image_or_tenant_runs_the_migrations_again() -> None:
    base = workload(run_workloads("dev"), JOB, "migrate").inputs["metadata"]["name"]
    again = workload(run_workloads("dev", with_changes("dev")), JOB, "migrate").inputs["metadata"]["name"]
    new_image = run_workloads(
        "dev", with_changes("dev", api={"image": "registry.example/nexus-api@sha256:" + "a" * 64})
    )
    shards = json.loads(with_changes("dev")["nexus:shards"])
    shards["shard-a"]["tenants"].append("hooli")
    new_tenant = run_workloads("dev", {**with_changes("dev"), "nexus:shards": json.dumps(shards)})
    assert again == base
    assert workload(new_image, JOB, "migrate").inputs["metadata"]["name"] != base
    assert workload(new_tenant, JOB, "migrate").inputs["metadata"]["name"] != base


# --- the Deployments and their scaling ---------------------------------------------------------------------


def test_api_deployment_follows_config(run: StackRun, stack: str) -> None:
    cfg = config_of(stack)
    api = workload(run, DEPLOYMENT, "api")
    spec = api.inputs["spec"]
    box = container(api)
    assert "replicas" not in spec
    assert box["image"] == cfg.api.image
    assert box["command"] == ["python", "-m", "app.serve"]
    assert box["resources"]["requests"] == {"cpu": f"{cfg.api.cpu}m", "memory": f"{cfg.api.memory_mib}Mi"}
    assert box["resources"]["limits"]["memory"] == f"{cfg.api.memory_mib}Mi"
    assert box["env"] == [{"name": "NEXUS_WORKERS", "value": str(cfg.api.worker_processes)}]
    assert box["ports"] == [{"name": "http", "containerPort": cfg.alb.target_port, "protocol": "TCP"}]
    timing = m.termination_timing(cfg.alb.deregistration_delay_seconds)
    assert box["lifecycle"]["preStop"]["sleep"]["seconds"] == timing.pre_stop_seconds
    assert timing.pre_stop_seconds >= cfg.alb.deregistration_delay_seconds
    assert spec["template"]["spec"]["terminationGracePeriodSeconds"] == timing.grace_seconds
    assert spec["strategy"]["rollingUpdate"] == {"maxUnavailable": 0, "maxSurge": "25%"}
    assert spec["template"]["spec"]["serviceAccountName"] == "api"


def test_worker_deployment_follows_config(run: StackRun, stack: str) -> None:
    cfg = config_of(stack).worker
    worker = workload(run, DEPLOYMENT, "worker")
    box = container(worker)
    assert "replicas" not in worker.inputs["spec"]
    assert box["command"] == ["python", "-m", "app.worker"]
    assert box["resources"]["requests"] == {"cpu": f"{cfg.cpu}m", "memory": f"{cfg.memory_mib}Mi"}
    limits = {"memory": f"{cfg.memory_mib}Mi", **({"cpu": f"{cfg.cpu_limit}m"} if cfg.cpu_limit else {})}
    assert box["resources"]["limits"] == limits
    assert {"name": "NEXUS_WORKER_CONCURRENCY", "value": str(cfg.concurrency)} in box["env"]
    assert "ports" not in box


@pytest.mark.parametrize("name", ["api", "worker"])
def test_hpa_bounds_and_target_follow_config(run: StackRun, stack: str, name: str) -> None:
    cfg = getattr(config_of(stack), name)
    hpa = workload(run, "kubernetes:autoscaling/v2:HorizontalPodAutoscaler", f"{name}-hpa")
    spec = hpa.inputs["spec"]
    assert spec["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
    assert (spec["minReplicas"], spec["maxReplicas"]) == (cfg.min_replicas, cfg.max_replicas)
    target = spec["metrics"][0]["resource"]["target"]
    assert target == {"type": "Utilization", "averageUtilization": cfg.target_cpu_utilization}
    assert spec["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == 300
    # The HPA only acts on a rolled-out Deployment.
    assert workload(run, DEPLOYMENT, name).urn in hpa.dependencies


# --- identities --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["api", "worker"])
def test_pod_identity_role_is_trusted_by_eks_for_one_service_account(
    run: StackRun, stack: str, name: str
) -> None:
    role = workload(run, ROLE, f"{name}-role")
    trust = json.loads(role.inputs["assumeRolePolicy"])
    (statement,) = trust["Statement"]
    assert statement["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    assert sorted(statement["Action"]) == ["sts:AssumeRole", "sts:TagSession"]
    assert statement["Condition"]["StringEquals"] == {
        "aws:RequestTag/eks-cluster-name": f"nexus-{stack}-eks",
        "aws:RequestTag/kubernetes-namespace": m.NAMESPACE,
        "aws:RequestTag/kubernetes-service-account": name,
    }
    association = workload(run, IDENTITY, f"{name}-identity")
    assert association.inputs["namespace"] == m.NAMESPACE
    assert association.inputs["serviceAccount"] == name
    assert association.inputs["roleArn"] == role.outputs["arn"]
    policy = workload(run, "aws:iam/rolePolicy:RolePolicy", f"{name}-policy")
    assert policy.inputs["role"] == role.id
    assert json.loads(policy.inputs["policy"])["Statement"]


def test_the_migration_job_runs_without_aws_credentials(run: StackRun) -> None:
    job = workload(run, JOB, "migrate")
    assert job.inputs["spec"]["template"]["spec"]["serviceAccountName"] == "migrate"
    assert {r.inputs["serviceAccount"] for r in workload_identities(run)} == {"api", "worker"}


# --- changes that must not disturb what exists -------------------------------------------------------------


def test_jwt_rotation_adds_a_key_without_replacing_the_old_one() -> None:
    single = run_workloads("dev")
    rotating = run_workloads(
        "dev", with_changes("dev", api={"jwtKeyIds": ["k1", "k2"], "jwtActiveKeyId": "k2"})
    )
    old = workload(single, PASSWORD, "jwt-k1")
    assert workload(rotating, PASSWORD, "jwt-k1").urn == old.urn
    assert workload(rotating, PASSWORD, "jwt-k1").inputs == old.inputs
    data = workload(rotating, SECRET, "secret").inputs["stringData"]
    assert set(json.loads(data["NEXUS_JWT_KEYS"])) == {"k1", "k2"}
    assert data["NEXUS_JWT_ACTIVE_KID"] == "k2"


def test_adding_a_shard_leaves_every_workload_urn_in_place() -> None:
    base = run_workloads("dev")
    shards = json.loads(with_changes("dev")["nexus:shards"])
    shards["shard-c"] = {"tenants": ["hooli"]}
    grown = run_workloads("dev", {**with_changes("dev"), "nexus:shards": json.dumps(shards)})
    before = {r.urn for r in base.resources if "-workloads" in r.urn}
    after = {r.urn for r in grown.resources if "-workloads" in r.urn}
    assert before == after
    assert password_env("shard-c") in workload(grown, SECRET, "secret").inputs["stringData"]


# --- the whole stack ---------------------------------------------------------------------------------------


def _secret_values(run: StackRun) -> set[str]:
    """Every string the run marks secret (generated passwords, tokens, URLs with tokens, Secret data)."""
    values: set[str] = set()

    def collect(value: Any) -> None:
        if isinstance(value, str) and len(value) >= 12:
            values.add(value)
        elif isinstance(value, dict):
            for item in value.values():
                collect(item)
        elif isinstance(value, list):
            for item in value:
                collect(item)

    for resource in run.resources:
        for path in resource.secret_outputs:
            node: Any = resource.outputs
            for part in [p for p in path.split(".") if p]:
                node = node[int(part)] if isinstance(node, list) else node[part]
            collect(node)
    return values


def _plain_outputs(run: StackRun) -> str:
    return json.dumps({k: v for k, v in run.outputs.items() if k not in run.secret_outputs})


def test_whole_stack_runs_the_workloads_on_the_clusters_provider(stack_run: StackRun) -> None:
    component = stack_run.one("nexus:workloads:Workloads")
    objects = [r for r in stack_run.descendants_of(component) if r.type.startswith(K8S_PREFIX)]
    assert len(objects) == 20  # the migrations' own Secret among them
    providers = {r.provider for r in objects}
    assert len(providers) == 1
    provider = stack_run.get(providers.pop())
    assert provider.type == "pulumi:providers:kubernetes"
    assert "-cluster" in provider.name, "the workloads must use the EKS cluster's own provider"


def test_whole_stack_namespace_waits_for_nodes_addons_and_the_load_balancer_controller(
    stack_run: StackRun,
) -> None:
    namespace = stack_run.one("kubernetes:core/v1:Namespace", "-workloads-namespace")
    waits_for = {
        (stack_run.get(urn).type, stack_run.get(urn).name.rsplit("-", 1)[-1])
        for urn in namespace.dependencies
    }
    assert ("aws:eks/addon:Addon", "agent") in waits_for  # eks-pod-identity-agent: credentials for the pods
    assert ("aws:eks/addon:Addon", "server") in waits_for  # metrics-server: the HPAs' metrics
    assert ("kubernetes:helm.sh/v3:Release", "release") in waits_for  # the TargetGroupBinding CRD and webhook
    # Every node group of every AZ (one managed node group per configured group and AZ).
    config = config_of(stack_run.stack)
    node_groups = {urn for urn in namespace.dependencies if "aws:eks/nodeGroup:NodeGroup" in urn}
    assert node_groups == {group.urn for group in stack_run.by_type("aws:eks/nodeGroup:NodeGroup")}
    assert len(node_groups) == len(config.cluster.node_groups) * config.network.az_count


def test_no_secret_reaches_a_plain_output_or_a_config_map(stack_run: StackRun) -> None:
    secrets = _secret_values(stack_run)
    assert len(secrets) >= 5, "expected generated passwords, the Redis token and the JWT key"
    plain = _plain_outputs(stack_run)
    assert [s for s in secrets if s in plain] == []
    manifests = manifests_of(stack_run, within=stack_run.one("nexus:workloads:Workloads"))
    config_map = json.dumps(by_kind(manifests, "ConfigMap")["data"])
    assert [s for s in secrets if s in config_map] == []
    secret_data = json.dumps([m["stringData"] for m in manifests if m["kind"] == "Secret"])
    assert sum(s in secret_data for s in secrets) >= 3, "the Secret carries the generated values"


# --- config of the workloads ------------------------------------------------------------------------------


@pytest.mark.unit
@pytest.mark.parametrize(
    ("section", "changes", "expected"),
    [
        (
            "worker",
            {"minReplicas": 5, "maxReplicas": 2},
            "nexus:worker.minReplicas: minReplicas (5) must not exceed",
        ),
        (
            "worker",
            {"cpu": 1000, "cpuLimit": 500},
            "nexus:worker.cpu: cpu (1000) must not exceed cpuLimit (500)",
        ),
        (
            "worker",
            {"concurrency": 0},
            "nexus:worker.concurrency: Input should be greater than or equal to 1",
        ),
        ("worker", {"replicas": 3}, "nexus:worker.replicas: unknown key"),
        ("api", {"jwtKeyIds": ["k1", "k1"]}, "nexus:api.jwtKeyIds: key ids ['k1', 'k1'] repeat one"),
        ("api", {"jwtKeyIds": ["K1"]}, "nexus:api.jwtKeyIds.0: String should match pattern"),
        ("api", {"jwtActiveKeyId": "k9"}, "nexus:api.jwtActiveKeyId: 'k9' is not one of jwtKeyIds"),
    ],
)
def test_bad_workload_config_names_the_key(section: str, changes: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load(with_changes("dev", **{section: changes}), stack="dev")
    assert any(line.startswith(expected) for line in caught.value.problems), caught.value.problems


@pytest.mark.unit
def test_worker_defaults_apply_when_the_section_is_absent() -> None:
    raw = raw_stack_config("dev")
    del raw["nexus:worker"]
    worker = load(raw, stack="dev").worker
    assert (worker.min_replicas, worker.max_replicas, worker.cpu, worker.concurrency) == (1, 4, 500, 8)


# --- the contract with the app: its settings accept exactly what the pods receive ---------------------------


@pytest.mark.parametrize("name", ["api", "worker"])
def test_the_app_accepts_the_environment_the_pods_get(
    run: StackRun, stack: str, name: str, tmp_path: Path
) -> None:
    """The ConfigMap, the Secret and the container's own env, as the kubelet assembles them, build the app's
    production settings (placeholders refused, TLS verified) with the values the stack meant."""
    from app.core.settings import build_settings
    from devstack.tls import make_ca

    environ = {
        **workload(run, CONFIG_MAP, "settings").inputs["data"],
        **workload(run, SECRET, "secret").inputs["stringData"],
        **{item["name"]: item["value"] for item in container(workload(run, DEPLOYMENT, name))["env"]},
    }
    # The bundle exists in the image only; a CA made here stands in for it at the same setting.
    assert environ["NEXUS_DB_CA_BUNDLE"] == m.IMAGE_DB_CA_BUNDLE
    environ["NEXUS_DB_CA_BUNDLE"] = str(make_ca(tmp_path)[0])
    settings = build_settings(environ)
    cfg = config_of(stack)
    assert settings.server.env == "production"
    assert settings.db.ssl == "verify-full"
    assert settings.db_owner_passwords == {}, "the API and the worker never get the owners' passwords"
    assert settings.server.port == cfg.alb.target_port
    assert sorted(settings.db_passwords) == sorted(cfg.shards)
    assert settings.auth.active_kid == cfg.api.active_key_id
    if name == "api":
        assert settings.server.workers == cfg.api.worker_processes
    else:
        assert settings.server.worker_concurrency == cfg.worker.concurrency
