"""Node sizing and pod-fit maths (infra/eks/nodes.py) and the cluster config's capacity cross-checks."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from infra.eks.nodes import (
    DAEMONSET_OVERHEAD,
    INSTANCE_TYPES,
    NodePool,
    Resources,
    Workload,
    allocatable,
    ami_type_for,
    fit_problems,
    group_allocatable,
    kube_reserved_cpu_m,
    kube_reserved_memory_mib,
    pods_per_node,
)
from stacks.config import ConfigError, load
from stacks.config.cluster import with_surge
from tests.support.harness import raw_stack_config, stack_config

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("vcpu", "expected"),
    [(1, 60), (2, 70), (4, 80), (8, 90), (16, 110), (64, 230)],
)
def test_kube_reserved_cpu_follows_the_eks_ladder(vcpu: int, expected: int) -> None:
    # 6% of core 1, 1% of core 2, 0.5% of cores 3-4, 0.25% of the rest.
    assert kube_reserved_cpu_m(vcpu) == expected


def test_kube_reserved_memory_is_255_plus_11_per_pod() -> None:
    assert kube_reserved_memory_mib(29) == 255 + 11 * 29
    assert kube_reserved_memory_mib(110) == 1465


def test_allocatable_of_m6i_large_by_hand() -> None:
    node = allocatable("m6i.large")
    assert node.cpu_m == 2000 - 70 - DAEMONSET_OVERHEAD.cpu_m
    visible = int(8 * 1024 * 0.925)
    assert node.memory_mib == visible - (255 + 11 * 29) - 100 - DAEMONSET_OVERHEAD.memory_mib
    assert node.pods == 29 - DAEMONSET_OVERHEAD.pods


@given(st.sampled_from(sorted(INSTANCE_TYPES)))
def test_allocatable_is_positive_and_below_capacity(name: str) -> None:
    spec = INSTANCE_TYPES[name]
    node = allocatable(name)
    assert 0 < node.cpu_m < spec.vcpu * 1000
    assert 0 < node.memory_mib < spec.memory_gib * 1024
    assert 0 < node.pods < spec.max_pods <= spec.eni_max_pods


@pytest.mark.parametrize(
    ("name", "pods"),
    [
        ("m6i.large", 29),  # 2 vCPUs: the ENIs' 29 is below the cap
        ("m6i.4xlarge", 110),  # 16 vCPUs: ENIs allow 234, managed node groups cap at 110 below 30 vCPUs
        ("r6g.4xlarge", 110),
        ("m6i.8xlarge", 234),  # 32 vCPUs: the cap is 250, the ENIs' 234 is lower
        ("m6i.16xlarge", 250),  # 64 vCPUs: ENIs allow 737, capped at 250
    ],
)
def test_max_pods_follow_the_managed_node_group_cap(name: str, pods: int) -> None:
    # EKS user guide, choosing-instance-type.html#max-pods-precedence: 110 below 30 vCPUs, 250 above.
    assert INSTANCE_TYPES[name].max_pods == pods
    assert allocatable(name).pods == pods - DAEMONSET_OVERHEAD.pods


def test_kube_reserved_memory_counts_the_capped_pods() -> None:
    # An m6i.4xlarge has 64 GiB; kube-reserved is 255 + 11 x 110, not 255 + 11 x 234.
    node = allocatable("m6i.4xlarge")
    visible = int(64 * 1024 * 0.925)
    assert node.memory_mib == visible - (255 + 11 * 110) - 100 - DAEMONSET_OVERHEAD.memory_mib


@given(st.sampled_from(sorted(INSTANCE_TYPES)))
def test_no_node_counts_more_pods_than_a_managed_node_group_allows(name: str) -> None:
    spec = INSTANCE_TYPES[name]
    assert spec.max_pods <= (110 if spec.vcpu < 30 else 250)
    assert spec.max_pods <= spec.eni_max_pods


def test_group_allocatable_promises_only_the_smallest_type() -> None:
    group = group_allocatable(["t3.xlarge", "m5.xlarge"])
    assert group == Resources(
        cpu_m=min(allocatable("t3.xlarge").cpu_m, allocatable("m5.xlarge").cpu_m),
        memory_mib=min(allocatable("t3.xlarge").memory_mib, allocatable("m5.xlarge").memory_mib),
        pods=min(allocatable("t3.xlarge").pods, allocatable("m5.xlarge").pods),
    )


def test_ami_type_follows_the_architecture() -> None:
    assert ami_type_for(["m6i.large", "m5.large"]) == "AL2023_x86_64_STANDARD"
    assert ami_type_for(["m7g.large"]) == "AL2023_ARM_64_STANDARD"
    with pytest.raises(ValueError, match="mix architectures"):
        ami_type_for(["m7g.large", "m6i.large"])


def test_unknown_instance_type_names_the_families() -> None:
    with pytest.raises(KeyError, match="known families"):
        allocatable("x9.huge")


@given(
    cpu=st.integers(min_value=50, max_value=8000),
    mem=st.integers(min_value=64, max_value=32000),
    name=st.sampled_from(sorted(INSTANCE_TYPES)),
)
def test_pods_per_node_never_overcommits(cpu: int, mem: int, name: str) -> None:
    # Checked with plain arithmetic, not with Resources.times/fits_in: a bug there (a dimension ignored) would
    # otherwise be shared by the code and its check.
    room = allocatable(name)
    count = pods_per_node(Resources(cpu, mem), room)

    def fits(n: int) -> bool:
        return n * cpu <= room.cpu_m and n * mem <= room.memory_mib and n <= room.pods

    assert fits(count)
    assert not fits(count + 1)


def _pool(name: str = "general", types: tuple[str, ...] = ("m6i.xlarge",), max_size: int = 3) -> NodePool:
    return NodePool(name=name, instance_types=types, max_size=max_size, schedulable=True)


def _api(cpu: int = 1000, mem: int = 512, count: int = 4) -> Workload:
    return Workload("api", Resources(cpu, mem), count, "nexus:api.cpu / memoryMib", "nexus:api.maxReplicas")


def test_fit_passes_when_pods_fit() -> None:
    assert fit_problems([_pool()], [_api()]) == []


def test_pod_larger_than_any_node_names_the_request_knob() -> None:
    problems = fit_problems([_pool(types=("m6i.large",))], [_api(cpu=2000)])
    assert len(problems) == 1
    assert problems[0].startswith("nexus:api.cpu / memoryMib: one api pod requests 2000m CPU")
    assert "largest: general" in problems[0]


def test_too_many_pods_names_the_count_knob_and_max_size() -> None:
    # m6i.large holds one 1000m pod per node: 3 nodes, 4 pods.
    problems = fit_problems([_pool(types=("m6i.large",), max_size=3)], [_api(count=4)])
    assert problems == [
        "nexus:api.maxReplicas: 4 api pods do not fit: the untainted node groups at maxSize hold 3 of them; "
        "raise maxSize in nexus:cluster.nodeGroups, use larger instance types, or lower nexus:api.maxReplicas"
    ]


def test_total_over_capacity_is_reported_even_when_each_kind_fits() -> None:
    pool = _pool(types=("m6i.xlarge",), max_size=2)  # ~3.7 CPU per node, 3 x 1000m pods each
    api = _api(count=6)
    worker = Workload(
        "worker", Resources(1000, 512), 6, "nexus:worker.cpu / memoryMib", "nexus:worker.maxReplicas"
    )
    problems = fit_problems([pool], [api, worker])
    assert len(problems) == 1
    assert problems[0].startswith("nexus:cluster.nodeGroups: at full scale the pods request 12000m CPU")
    assert "nexus:api.maxReplicas, nexus:worker.maxReplicas" in problems[0]


def test_tainted_groups_do_not_count() -> None:
    tainted = NodePool("gpu", ("m6i.4xlarge",), 10, schedulable=False)
    assert fit_problems([tainted, _pool(types=("m6i.large",))], [_api(cpu=3000)])[0].startswith(
        "nexus:api.cpu / memoryMib"
    )
    assert "keep at least one group untainted" in fit_problems([tainted], [_api()])[0]


def test_rollout_surge_rounds_up() -> None:
    assert with_surge(4) == 5
    assert with_surge(20) == 25
    assert with_surge(1) == 2


# ---- the cluster section through the loader ----


def _raw(stack: str, **overrides: Any) -> dict[str, str]:
    raw = raw_stack_config(stack)
    for key, value in overrides.items():
        raw[key] = value if isinstance(value, str) else json.dumps(value)
    return raw


def _problems(stack: str, **overrides: Any) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load(_raw(stack, **overrides), stack=stack)
    return info.value.problems


def _cluster(stack: str) -> dict[str, Any]:
    return dict(stack_config(stack)["nexus:cluster"])


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_stack_files_pass_the_capacity_checks(stack: str) -> None:
    config = load(_raw(stack), stack=stack)
    assert config.cluster.node_groups


def test_prod_node_group_too_small_for_api_max_is_refused() -> None:
    cluster = _cluster("prod")
    # Sizes are per AZ: 2 nodes in each of prod's 3 AZs hold 3 API pods each, 18 in all.
    cluster["nodeGroups"]["general"]["maxSize"] = 2
    problems = _problems("prod", **{"nexus:cluster": cluster})
    assert any(
        line.startswith(
            "nexus:api.maxReplicas: 25 api pods do not fit: the untainted node groups at maxSize hold 18"
        )
        for line in problems
    ), problems


def test_a_group_counts_its_nodes_in_every_az() -> None:
    # m6i.large holds one 1000m pod per node; 2 nodes per AZ in 3 AZs hold 6.
    api = Workload("api", Resources(1000, 512), 6, "nexus:api.cpu / memoryMib", "nexus:api.maxReplicas")
    three_azs = NodePool("general", ("m6i.large",), 2, schedulable=True, zones=3)
    assert three_azs.max_nodes == 6
    assert fit_problems([three_azs], [api]) == []
    more = dataclasses.replace(api, max_pods=7)
    assert fit_problems([three_azs], [more])[0].startswith(
        "nexus:api.maxReplicas: 7 api pods do not fit: the untainted node groups at maxSize hold 6 of them"
    )


def test_api_request_larger_than_node_is_refused() -> None:
    cluster = _cluster("dev")
    cluster["nodeGroups"]["general"]["instanceTypes"] = ["t3.medium"]
    api = {"minReplicas": 1, "maxReplicas": 2, "cpu": 2000, "memoryMib": 512}
    problems = _problems("dev", **{"nexus:cluster": cluster, "nexus:api": api})
    assert any(
        line.startswith("nexus:api.cpu / memoryMib: one api pod requests 2000m CPU, 512 MiB")
        for line in problems
    )


def test_node_group_min_above_max_names_the_key() -> None:
    cluster = _cluster("dev")
    cluster["nodeGroups"]["general"].update(minSize=5, desiredSize=5, maxSize=4)
    problems = _problems("dev", **{"nexus:cluster": cluster})
    assert "nexus:cluster.nodeGroups.general.minSize: minSize (5) must not exceed maxSize (4)" in problems


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"publicAccessCidrs": ["0.0.0.0/0"]},
            "nexus:cluster.publicAccessCidrs: 0.0.0.0/0 opens the Kubernetes API",
        ),
        (
            {"publicAccessCidrs": ["10.0.0.1/8"]},
            "nexus:cluster.publicAccessCidrs: '10.0.0.1/8' is not a CIDR",
        ),
        ({"version": "1.9"}, "nexus:cluster.version: String should match pattern"),
        (
            {"adminRoleArns": ["arn:aws:iam::12:user/bob"]},
            "nexus:cluster.adminRoleArns.0: String should match",
        ),
        (
            {"addonVersions": {"coredns": "latest"}},
            "nexus:cluster.addonVersions.coredns: String should match",
        ),
        (
            {"addonVersions": {"ingress-nginx": "v1.0.0-eksbuild.1"}},
            "nexus:cluster.addonVersions.ingress-nginx",
        ),
        (
            {"nodeGroups": {"General_1": {"instanceTypes": ["m6i.large"]}}},
            "nexus:cluster.nodeGroups: node group",
        ),
        ({"nodeGroups": {"g1": {"instanceTypes": ["m6i.large", "m7g.large"]}}}, "mix architectures"),
        (
            {"nodeGroups": {"g1": {"instanceTypes": ["z1.mega"]}}},
            "nexus:cluster.nodeGroups.g1.instanceTypes: unknown",
        ),
        (
            {"autoscaler": {"imageTag": "v1.33.0"}},
            "nexus:cluster.autoscaler.imageTag: v1.33.0 is for Kubernetes 1.33",
        ),
        (
            {"nodeGroups": {"g1": {"instanceTypes": ["m6i.large"], "spot": True}}},
            "nexus:cluster.nodeGroups.g1.spot",
        ),
    ],
)
def test_bad_cluster_values_name_the_key(change: dict[str, Any], expected: str) -> None:
    cluster = {**_cluster("dev"), **change}
    problems = _problems("dev", **{"nexus:cluster": cluster})
    assert any(expected in line for line in problems), problems


def test_prod_requires_secrets_encryption_https_and_access_logs() -> None:
    cluster = {**_cluster("prod"), "secretsEncryption": False}
    alb = {**stack_config("prod")["nexus:alb"], "accessLogs": False}
    del alb["certificateArn"]
    problems = _problems("prod", **{"nexus:cluster": cluster, "nexus:alb": alb})
    assert any(
        line.startswith("nexus:cluster.secretsEncryption: prod envelope-encrypts") for line in problems
    )
    assert any(line.startswith("nexus:alb.certificateArn: prod serves HTTPS only") for line in problems)
    assert any(line.startswith("nexus:alb.accessLogs: prod keeps ALB access logs") for line in problems)


def test_alb_access_logs_need_the_log_bucket() -> None:
    problems = _problems("dev", **{"nexus:alb": {"accessLogs": True}})
    assert any(line.startswith("nexus:alb.accessLogs: the ALB writes its logs") for line in problems)


def test_preview_capacity_lines_for_prod() -> None:
    from stacks.config.cluster import node_capacity_lines

    lines = node_capacity_lines(load(_raw("prod"), stack="prod"))
    assert lines[0] == (
        "general: m6i.2xlarge ON_DEMAND, 1-5 nodes per AZ x 3 AZs; per node 7760m CPU, 29167 MiB, 55 pods "
        "allocatable"
    )
    # 3 API pods of 2000m per 7760m node, 15 nodes; the need is the HPA's 20 plus the rollout's 25% surge.
    indented = [f"  {line}" for line in lines]
    assert (
        "    api: need 25 pods (HPA max 20 + 5 rolling-update surge, 25% of it) of 2000m / 1024 MiB; "
        "have room for 45 at maxSize"
    ) in indented
    assert "    coredns: need 2 pods of 100m / 70 MiB; have room for 825 at maxSize" in indented
    assert lines[-1].startswith("  all at full scale: need ")
    assert "; have " in lines[-1]


@given(
    max_size=st.integers(min_value=1, max_value=20),
    extra=st.integers(min_value=1, max_value=20),
    cpu=st.integers(min_value=100, max_value=8000),
    count=st.integers(min_value=1, max_value=60),
    name=st.sampled_from(sorted(INSTANCE_TYPES)),
)
def test_more_nodes_never_add_problems(max_size: int, extra: int, cpu: int, count: int, name: str) -> None:
    api = _api(cpu=cpu, mem=512, count=count)
    small = fit_problems([_pool(types=(name,), max_size=max_size)], [api])
    large = fit_problems([_pool(types=(name,), max_size=max_size + extra)], [api])
    assert len(large) <= len(small)
    if not small:
        assert not large


@given(
    cpu=st.integers(min_value=100, max_value=8000),
    count=st.integers(min_value=1, max_value=60),
    max_size=st.integers(min_value=1, max_value=20),
    name=st.sampled_from(sorted(INSTANCE_TYPES)),
)
def test_a_passing_plan_really_places_every_pod(cpu: int, count: int, max_size: int, name: str) -> None:
    # When the check passes, a first-fit placement of every pod on max_size nodes succeeds.
    api = _api(cpu=cpu, mem=512, count=count)
    if fit_problems([_pool(types=(name,), max_size=max_size)], [api]):
        return
    room = [allocatable(name) for _ in range(max_size)]
    for _ in range(count):
        # Plain arithmetic, not Resources.fits_in (the code under test).
        node = next(
            i
            for i, free in enumerate(room)
            if free.cpu_m >= cpu and free.memory_mib >= 512 and free.pods >= 1
        )
        free = room[node]
        room[node] = Resources(free.cpu_m - cpu, free.memory_mib - 512, free.pods - 1)
