"""What to start, read from a stack file, and on which ports.

The stack file is read only through the project's config model (``stacks.config``), so the local run
and the cloud stacks share one source of truth for shards, tenants and replica counts.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from devstack.procs import port_free

if TYPE_CHECKING:
    from stacks.config import StackConfig

MAX_REPLICAS = 9
MAX_API_INSTANCES = 8
SHARD_PORT_STRIDE = 10


@dataclass(frozen=True, kw_only=True)
class ShardPlan:
    """One shard as the local stack runs it."""

    id: str
    """Shard id from the stack file (DNS-safe)."""
    read_replicas: int
    """Streaming replicas to run beside the primary."""
    tenants: tuple[str, ...]
    """Tenants routed to this shard."""
    database: str
    """Database on the primary and replicas (``databaseName`` of the stack file)."""

    @property
    def alias(self) -> str:
        """PgBouncer database alias (and writer-side database name in the tenant map)."""
        return "nexus_" + self.id.replace("-", "_")


@dataclass(frozen=True, kw_only=True)
class Topology:
    """The shards of a stack file, in a stable order."""

    shards: tuple[ShardPlan, ...]
    default_shard: str | None
    config: StackConfig
    """The validated stack config the plan came from (the tenant map is built from it)."""

    def shard(self, shard_id: str) -> ShardPlan:
        for plan in self.shards:
            if plan.id == shard_id:
                return plan
        known = ", ".join(plan.id for plan in self.shards)
        raise KeyError(f"unknown shard {shard_id!r}; this stack has: {known}")


def load_topology(stack_file: Path) -> Topology:
    """Read shards, tenants and replica counts from a ``Pulumi.<stack>.yaml`` via the config model."""
    from stacks.config import load_stack_file

    config = load_stack_file(stack_file)
    plans = []
    for shard_id in sorted(config.shards):
        shard = config.shards[shard_id]
        replicas = shard.settings.read_replicas
        if replicas > MAX_REPLICAS:
            raise ValueError(
                f"shard {shard_id!r} asks for {replicas} replicas; the local stack runs at most "
                f"{MAX_REPLICAS} per shard"
            )
        plans.append(
            ShardPlan(
                id=shard_id,
                read_replicas=replicas,
                tenants=tuple(shard.tenants),
                database=shard.settings.database_name,
            )
        )
    return Topology(shards=tuple(plans), default_shard=config.default_shard, config=config)


@dataclass(frozen=True, kw_only=True)
class PortPlan:
    """Every port of the local stack, derived from one base so that runs never collide by accident.

    Layout from ``base``: +0 PgBouncer, +1 Redis, +2 S3, +10.. API instances, and from +20 a block of
    ten per shard (in shard id order): the primary, then its replicas.
    """

    base: int
    http: int
    api_instances: int
    shard_ids: tuple[str, ...]

    def __post_init__(self) -> None:
        if not 1 <= self.api_instances <= MAX_API_INSTANCES:
            raise ValueError(f"api_instances must be 1..{MAX_API_INSTANCES}, got {self.api_instances}")
        if self.base < 1024 or self.top > 65535:
            raise ValueError(f"port base {self.base} puts ports outside 1024..65535 (top {self.top})")
        if self.http in self._service_ports_fixed() or self.base + 20 <= self.http <= self.top:
            raise ValueError(f"http port {self.http} clashes with a service port of base {self.base}")

    def _service_ports_fixed(self) -> set[int]:
        return {self.base, self.base + 1, self.base + 2} | {
            self.base + 10 + i for i in range(self.api_instances)
        }

    @property
    def pgbouncer(self) -> int:
        return self.base

    @property
    def redis(self) -> int:
        return self.base + 1

    @property
    def s3(self) -> int:
        return self.base + 2

    def api(self, index: int) -> int:
        if not 0 <= index < self.api_instances:
            raise IndexError(f"API instance {index} out of range 0..{self.api_instances - 1}")
        return self.base + 10 + index

    def primary(self, shard_id: str) -> int:
        return self.base + 20 + SHARD_PORT_STRIDE * self.shard_ids.index(shard_id)

    def replica(self, shard_id: str, index: int) -> int:
        if not 0 <= index < MAX_REPLICAS:
            raise IndexError(f"replica index {index} out of range 0..{MAX_REPLICAS - 1}")
        return self.primary(shard_id) + 1 + index

    @property
    def top(self) -> int:
        return self.base + 20 + SHARD_PORT_STRIDE * max(len(self.shard_ids), 1) - 1

    def all_ports(self, topology: Topology) -> list[int]:
        """The ports this plan will bind for a topology (the HTTP port included)."""
        return list(self.named_ports(topology).values())

    def named_ports(self, topology: Topology) -> dict[str, int]:
        """Each port this plan will bind for a topology, by the name of the service that binds it."""
        ports = {"nginx": self.http, "pgbouncer": self.pgbouncer, "redis": self.redis, "s3": self.s3}
        ports |= {f"api-{i}": self.api(i) for i in range(self.api_instances)}
        for shard in topology.shards:
            ports[f"postgres:{shard.id}:primary"] = self.primary(shard.id)
            for j in range(shard.read_replicas):
                ports[f"postgres:{shard.id}:replica-{j}"] = self.replica(shard.id, j)
        return ports


def free_port_plan(topology: Topology, *, api_instances: int, attempts: int = 50) -> PortPlan:
    """A port plan whose every port is free right now (for test sessions running beside other stacks)."""
    shard_ids = tuple(plan.id for plan in topology.shards)
    span = 20 + SHARD_PORT_STRIDE * max(len(shard_ids), 1) + 1
    for _ in range(attempts):
        # Below Linux's ephemeral range (32768+), so that no outgoing connection grabs a port between
        # this check and the server's bind.
        base = random.randrange(20000, 32700 - span, 10)
        plan = PortPlan(base=base, http=base + 9, api_instances=api_instances, shard_ids=shard_ids)
        if all(port_free(port) for port in plan.all_ports(topology)):
            return plan
    raise RuntimeError(f"no free block of {span} ports found in {attempts} attempts")
