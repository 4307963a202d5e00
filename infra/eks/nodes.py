"""Node capacity: what a managed node group can schedule, and whether the pods the stack asks for fit.

Pure (no Pulumi import). The loader runs ``node_capacity_problems`` as a cross-section check, so a plan whose
pods cannot be scheduled fails at preview time with the knob to turn, instead of leaving pods Pending.

How allocatable capacity is computed, per node (the EKS-optimized AMI's kubelet defaults; AL2023's nodeadm
and AL2's bootstrap script use the same formulas):

- **max pods** without prefix delegation: ``ENIs x (IPv4 addresses per ENI - 1) + 2``; the table below holds
  the result per instance type (the AMI's ``eni-max-pods`` figures). A managed node group without a custom
  AMI then caps it: at most 110 pods on an instance with fewer than 30 vCPUs, 250 on larger ones
  (``MANAGED_MAX_PODS_*``), and that cap wins over every other setting. An m6i.4xlarge (16 vCPUs, 234 by
  its ENIs) therefore runs 110 pods, an m6i.16xlarge (64 vCPUs, 737) 250.
- **kube-reserved CPU**: 6% of the first core, 1% of the second, 0.5% of the third and fourth, 0.25% of every
  core above four.
- **kube-reserved memory**: ``255 MiB + 11 MiB x max pods``.
- **eviction threshold**: ``memory.available < 100Mi`` (hard).
- **system-reserved**: none on the EKS AMIs.
- The memory the kernel sees is below the nominal EC2 figure (firmware, kernel, page tables);
  ``VM_MEMORY_OVERHEAD`` takes 7.5% off, the same default Karpenter uses for this gap.

Then the node's daemonsets (``DAEMONSET_OVERHEAD``: aws-node, kube-proxy, eks-pod-identity-agent) are taken
off what is left: their CPU requests, plus a memory allowance for their working set (they request no memory,
but what they use pushes the node toward eviction all the same).

The fit checks only consider node groups without a NoSchedule/NoExecute taint: the stack's pods carry no
tolerations, so a tainted group is reserved for something else.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final, Literal

Arch = Literal["x86_64", "arm64"]


@dataclass(frozen=True, slots=True)
class InstanceType:
    """Facts about one EC2 instance type that node sizing needs."""

    vcpu: int
    memory_gib: float
    eni_max_pods: int
    """Pods the instance's ENIs can address with the VPC CNI and no prefix delegation (eni-max-pods.txt)."""
    arch: Arch

    @property
    def max_pods(self) -> int:
        """Pods per node in a managed node group: the ENI figure under the managed node group's cap."""
        return min(self.eni_max_pods, managed_max_pods_cap(self.vcpu))


def _family(
    names: Iterable[str], arch: Arch, sizes: Sequence[tuple[str, int, float, int]]
) -> dict[str, InstanceType]:
    return {
        f"{family}.{size}": InstanceType(vcpu=vcpu, memory_gib=mem, eni_max_pods=pods, arch=arch)
        for family in names
        for size, vcpu, mem, pods in sizes
    }


# (size, vCPU, memory GiB, ENI max pods): general purpose 4 GiB per vCPU, compute 2, memory 8.
_GENERAL = (
    ("large", 2, 8, 29),
    ("xlarge", 4, 16, 58),
    ("2xlarge", 8, 32, 58),
    ("4xlarge", 16, 64, 234),
    ("8xlarge", 32, 128, 234),
    ("12xlarge", 48, 192, 234),
    ("16xlarge", 64, 256, 737),
)
_COMPUTE = (
    ("large", 2, 4, 29),
    ("xlarge", 4, 8, 58),
    ("2xlarge", 8, 16, 58),
    ("4xlarge", 16, 32, 234),
    ("8xlarge", 32, 64, 234),
    ("12xlarge", 48, 96, 234),
    ("16xlarge", 64, 128, 737),
)
_MEMORY = (
    ("large", 2, 16, 29),
    ("xlarge", 4, 32, 58),
    ("2xlarge", 8, 64, 58),
    ("4xlarge", 16, 128, 234),
    ("8xlarge", 32, 256, 234),
    ("12xlarge", 48, 384, 234),
    ("16xlarge", 64, 512, 737),
)
_BURSTABLE = (
    ("medium", 2, 4, 17),
    ("large", 2, 8, 35),
    ("xlarge", 4, 16, 58),
    ("2xlarge", 8, 32, 58),
)

INSTANCE_TYPES: Final[dict[str, InstanceType]] = {
    **_family(("t3",), "x86_64", _BURSTABLE),
    **_family(("t4g",), "arm64", _BURSTABLE),
    **_family(("m5", "m6i", "m7i"), "x86_64", _GENERAL),
    **_family(("m6g", "m7g"), "arm64", _GENERAL),
    **_family(("c6i", "c7i"), "x86_64", _COMPUTE),
    **_family(("c6g", "c7g"), "arm64", _COMPUTE),
    **_family(("r5", "r6i", "r7i"), "x86_64", _MEMORY),
    **_family(("r6g", "r7g"), "arm64", _MEMORY),
}

AMI_TYPES: Final[dict[Arch, str]] = {"x86_64": "AL2023_x86_64_STANDARD", "arm64": "AL2023_ARM_64_STANDARD"}

# Source: Amazon EKS User Guide, "Choose an optimal Amazon EC2 node instance type", section "How maxPods is
# determined" (choosing-instance-type.html#max-pods-precedence): "When you use a managed node group without a
# custom AMI, Amazon EKS enforces a cap on maxPods in the node's user data. For instances with less than 30
# vCPUs, the cap is 110. For instances with greater than 30 vCPUs, the cap is 250. This value takes
# precedence over any other maxPods configuration". The same 110 / 250 split is in the AMI's
# max-pods-calculator.sh. The page says nothing of exactly 30 vCPUs; no instance type here has 30.
MANAGED_MAX_PODS_SMALL: Final = 110
MANAGED_MAX_PODS_LARGE: Final = 250
MANAGED_MAX_PODS_VCPU_THRESHOLD: Final = 30


def managed_max_pods_cap(vcpu: int) -> int:
    """The maxPods cap EKS puts on a managed node group's node with ``vcpu`` vCPUs."""
    return MANAGED_MAX_PODS_SMALL if vcpu < MANAGED_MAX_PODS_VCPU_THRESHOLD else MANAGED_MAX_PODS_LARGE


VM_MEMORY_OVERHEAD: Final = 0.075
"""Share of nominal memory the kubelet never sees (Karpenter's vmMemoryOverheadPercent default)."""
EVICTION_HARD_MIB: Final = 100
KUBE_RESERVED_MEMORY_BASE_MIB: Final = 255
KUBE_RESERVED_MEMORY_PER_POD_MIB: Final = 11
MIB_PER_GIB: Final = 1024


@dataclass(frozen=True, slots=True)
class Resources:
    """CPU (millicores), memory (MiB) and pod slots."""

    cpu_m: int
    memory_mib: int
    pods: int = 1

    def __add__(self, other: Resources) -> Resources:
        return Resources(self.cpu_m + other.cpu_m, self.memory_mib + other.memory_mib, self.pods + other.pods)

    def times(self, count: int) -> Resources:
        """``count`` copies."""
        return Resources(self.cpu_m * count, self.memory_mib * count, self.pods * count)

    def fits_in(self, room: Resources) -> bool:
        """Whether this fits inside ``room`` on every dimension."""
        return self.cpu_m <= room.cpu_m and self.memory_mib <= room.memory_mib and self.pods <= room.pods

    def describe(self) -> str:
        """``1500m CPU, 2048 MiB, 3 pods``."""
        return f"{self.cpu_m}m CPU, {self.memory_mib} MiB, {self.pods} pods"


ZERO: Final = Resources(0, 0, 0)

DAEMONSET_OVERHEAD: Final = Resources(cpu_m=150, memory_mib=150, pods=3)
"""Per node: aws-node (25m), kube-proxy (100m), eks-pod-identity-agent, with a margin; memory is the three
daemonsets' working set, which they do not request."""


def kube_reserved_cpu_m(vcpu: int) -> int:
    """kube-reserved CPU in millicores for a node with ``vcpu`` cores (EKS AMI formula)."""
    reserved = 0.0
    for core in range(1, vcpu + 1):
        if core == 1:
            reserved += 60
        elif core == 2:
            reserved += 10
        elif core <= 4:
            reserved += 5
        else:
            reserved += 2.5
    return math.ceil(reserved)


def kube_reserved_memory_mib(max_pods: int) -> int:
    """kube-reserved memory in MiB (EKS AMI formula: 255 MiB + 11 MiB per pod slot)."""
    return KUBE_RESERVED_MEMORY_BASE_MIB + KUBE_RESERVED_MEMORY_PER_POD_MIB * max_pods


def instance_type(name: str) -> InstanceType:
    """Look up an instance type; KeyError names the known families."""
    try:
        return INSTANCE_TYPES[name]
    except KeyError:
        families = ", ".join(sorted({known.split(".")[0] for known in INSTANCE_TYPES}))
        raise KeyError(
            f"unknown instance type {name!r}; known families: {families} (see infra/eks/nodes.py)"
        ) from None


def allocatable(name: str, daemonsets: Resources = DAEMONSET_OVERHEAD) -> Resources:
    """What pods other than the daemonsets can request on one node of type ``name``."""
    spec = instance_type(name)
    cpu = spec.vcpu * 1000 - kube_reserved_cpu_m(spec.vcpu)
    visible_mib = math.floor(spec.memory_gib * MIB_PER_GIB * (1 - VM_MEMORY_OVERHEAD))
    memory = visible_mib - kube_reserved_memory_mib(spec.max_pods) - EVICTION_HARD_MIB
    return Resources(
        cpu_m=max(0, cpu - daemonsets.cpu_m),
        memory_mib=max(0, memory - daemonsets.memory_mib),
        pods=max(0, spec.max_pods - daemonsets.pods),
    )


def group_allocatable(instance_types: Sequence[str]) -> Resources:
    """Per-node allocatable of a node group: the smallest of its types on each dimension.

    A group with several types (spot diversification) may get any of them, so only the smallest is promised.
    """
    nodes = [allocatable(name) for name in instance_types]
    return Resources(
        cpu_m=min(node.cpu_m for node in nodes),
        memory_mib=min(node.memory_mib for node in nodes),
        pods=min(node.pods for node in nodes),
    )


def architectures(instance_types: Sequence[str]) -> set[Arch]:
    """The CPU architectures of a list of instance types."""
    return {instance_type(name).arch for name in instance_types}


def ami_type_for(instance_types: Sequence[str]) -> str:
    """The EKS AMI type for a node group's instance types; ValueError if they mix architectures."""
    arches = architectures(instance_types)
    if len(arches) != 1:
        raise ValueError(f"instance types {list(instance_types)} mix architectures {sorted(arches)}")
    return AMI_TYPES[arches.pop()]


def pods_per_node(request: Resources, room: Resources) -> int:
    """How many copies of ``request`` one node with ``room`` holds."""
    if request.cpu_m <= 0 and request.memory_mib <= 0:
        return room.pods
    fits = [room.pods // max(request.pods, 1)]
    if request.cpu_m > 0:
        fits.append(room.cpu_m // request.cpu_m)
    if request.memory_mib > 0:
        fits.append(room.memory_mib // request.memory_mib)
    return max(0, min(fits))


@dataclass(frozen=True, slots=True)
class NodePool:
    """One node group as the fit checks see it."""

    name: str
    instance_types: tuple[str, ...]
    max_size: int
    """Maximum nodes per AZ (the group is one managed node group per AZ, all alike)."""
    schedulable: bool
    """False when a NoSchedule/NoExecute taint keeps the stack's pods off it."""
    zones: int = 1
    """AZs the group spans, one managed node group each."""

    @property
    def per_node(self) -> Resources:
        """Allocatable per node (the smallest of the group's instance types)."""
        return group_allocatable(self.instance_types)

    @property
    def max_nodes(self) -> int:
        """Nodes of the group at maximum size, all AZs together."""
        return self.max_size * self.zones

    @property
    def at_max(self) -> Resources:
        """Allocatable of the whole group at its maximum size, all AZs together."""
        return self.per_node.times(self.max_nodes)


@dataclass(frozen=True, slots=True)
class Workload:
    """Pods of one kind the stack runs: their per-pod requests, their maximum count, the knobs behind them."""

    name: str
    request: Resources
    max_pods: int
    request_knob: str
    """Config keys that set the request, e.g. ``nexus:api.cpu / memoryMib``."""
    count_knob: str
    """Config key that sets the maximum count, e.g. ``nexus:api.maxReplicas``."""


def fit_problems(pools: Sequence[NodePool], workloads: Sequence[Workload]) -> list[str]:
    """Problems that keep pods Pending even with every node group at its maximum size.

    1. Each pod fits one node of at least one schedulable group.
    2. Each workload's maximum count fits the schedulable groups at max size, counting whole pods per node.
    3. All workloads together fit the schedulable groups' summed allocatable at max size. This is necessary,
       not sufficient (pods do not split across nodes), which is why 2 counts whole pods per kind.
    """
    usable = [pool for pool in pools if pool.schedulable]
    if not usable:
        return [
            "nexus:cluster.nodeGroups: every node group has a NoSchedule/NoExecute taint; the stack's pods "
            "carry no tolerations, so keep at least one group untainted"
        ]
    problems: list[str] = []
    largest = max(usable, key=lambda pool: (pool.per_node.cpu_m, pool.per_node.memory_mib))
    for workload in workloads:
        if not any(workload.request.fits_in(pool.per_node) for pool in usable):
            problems.append(
                f"{workload.request_knob}: one {workload.name} pod requests {workload.request.describe()}, "
                f"more than one node of any untainted node group can give (largest: {largest.name}, "
                f"{largest.per_node.describe()} allocatable per node); lower the request or add a larger "
                "type to nexus:cluster.nodeGroups"
            )
            continue
        # Every AZ has the same node groups at the same sizes, so a hard zone spread (maxSkew 1) can place as
        # many pods as there are slots: the per-AZ slots times the AZs.
        slots = sum(pods_per_node(workload.request, pool.per_node) * pool.max_nodes for pool in usable)
        if slots < workload.max_pods:
            problems.append(
                f"{workload.count_knob}: {workload.max_pods} {workload.name} pods do not fit: the untainted "
                f"node groups at maxSize hold {slots} of them; raise maxSize in nexus:cluster.nodeGroups, "
                f"use larger instance types, or lower {workload.count_knob}"
            )
    if problems:
        return problems
    need = sum((workload.request.times(workload.max_pods) for workload in workloads), ZERO)
    have = sum((pool.at_max for pool in usable), ZERO)
    if not need.fits_in(have):
        problems.append(
            f"nexus:cluster.nodeGroups: at full scale the pods request {need.describe()}, but the untainted "
            f"node groups at maxSize offer {have.describe()}; raise maxSize or instance sizes, or lower "
            + ", ".join(sorted({workload.count_knob for workload in workloads}))
        )
    return problems
