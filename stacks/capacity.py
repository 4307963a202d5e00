"""Connection budgets per shard: can the databases accept every connection the API may open at full scale?

Pure (no Pulumi import). The loader runs ``capacity_problems`` as a cross-section check, so a plan over budget
fails before any resource is registered, and the preview prints ``budget_lines``.

How the app connects (app/core/db.py): every worker process of every API pod, and every queue worker pod,
holds per shard one writer pool (to the shard's writer endpoint, RDS Proxy) and one reader pool PER REPLICA
(it round-robins over them). So at full scale each replica sees the whole reader count, not a share of it.
A shard without replicas reads through its writer endpoint (the proxy), so its proxy carries both pools.

What a server can accept:
- RDS's default ``max_connections`` comes from instance memory
  (``infra.catalog.rds_default_max_connections``). That estimate uses the nominal memory, a little above the
  ``DBInstanceClassMemory`` RDS really uses, so we count only ``100 - ESTIMATE_MARGIN_PERCENT`` percent of it.
- RDS keeps ``RESERVED_CONNECTIONS`` slots the app can never use: ``superuser_reserved_connections`` (3, used
  by the rdsadmin agent) and ``rds.rds_superuser_reserved_connections`` (2, for operators who must log in when
  the server is full).
- RDS Proxy opens at most ``maxConnectionsPercent`` of ``max_connections`` to the primary; when every backend
  connection is pinned or busy, clients wait ``connectionBorrowTimeout`` seconds and then fail. The budget
  therefore asks for one backend connection per client connection: the case where transactions are long or
  sessions pinned, the one that hurts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal

from infra.catalog import rds_default_max_connections

if TYPE_CHECKING:
    from stacks.config.model import Shard, StackConfig
    from stacks.config.sections import ApiConfig

RESERVED_CONNECTIONS: Final = 5
"""superuser_reserved_connections (3) + rds.rds_superuser_reserved_connections (2)."""
ESTIMATE_MARGIN_PERCENT: Final = 10
"""Share of the catalog's max_connections estimate not counted on (nominal vs DBInstanceClassMemory)."""

Role = Literal["writer", "reader"]


@dataclass(frozen=True, slots=True)
class ClientLoad:
    """Connections the API and the queue workers open to one endpoint at full scale."""

    pods: int
    """API pods at the HPA's maximum (nexus:api.maxReplicas)."""
    processes_per_pod: int
    """Worker processes per API pod (one per whole CPU of nexus:api.cpu)."""
    pool_size: int
    """Connections per process, per shard, per role (nexus:api.dbPoolSize; the queue worker uses it too)."""
    pools_per_process: int = 1
    """Pools each process opens to this endpoint (2 when reads also go through the proxy)."""
    worker_pods: int = 0
    """Queue worker pods at their HPA's maximum (nexus:worker.maxReplicas); one process each."""

    @property
    def processes(self) -> int:
        """Processes holding pools: every API worker process and every queue worker."""
        return self.pods * self.processes_per_pod + self.worker_pods

    @property
    def connections(self) -> int:
        """The product: every pool full in every process."""
        return self.processes * self.pool_size * self.pools_per_process

    def formula(self) -> str:
        """The product spelled out with the knob behind each factor."""
        pools = f" x {self.pools_per_process} pools (writer + reads)" if self.pools_per_process > 1 else ""
        return (
            f"({self.pods} API pods (nexus:api.maxReplicas) "
            f"x {self.processes_per_pod} processes (nexus:api.cpu) "
            f"+ {self.worker_pods} queue workers (nexus:worker.maxReplicas)) "
            f"x {self.pool_size} (nexus:api.dbPoolSize){pools} = {self.connections}"
        )


@dataclass(frozen=True, slots=True)
class SideBudget:
    """One side of a shard: the proxy in front of the primary, or one replica."""

    role: Role
    instance_class: str
    max_connections: int
    """RDS's default max_connections for the class (upper estimate)."""
    capacity: int
    """Connections the app may count on."""
    load: ClientLoad

    @property
    def ok(self) -> bool:
        """Whether the full-scale load fits."""
        return self.load.connections <= self.capacity

    @property
    def utilisation_percent(self) -> int:
        """Load as a whole percentage of capacity (capacity 0 counts as 100% per connection)."""
        if self.capacity <= 0:
            return 100 * self.load.connections
        return (100 * self.load.connections + self.capacity - 1) // self.capacity


@dataclass(frozen=True, slots=True)
class ShardBudget:
    """The connection budget of one shard."""

    shard_id: str
    writer: SideBudget
    reader: SideBudget | None
    """Budget of EACH replica (each sees the full reader load); None when the shard has no replica."""
    replicas: int


def usable_connections(instance_class: str) -> int:
    """Connections a non-superuser may open on a server of this class."""
    estimate = rds_default_max_connections(instance_class)
    counted = estimate * (100 - ESTIMATE_MARGIN_PERCENT) // 100
    return max(0, counted - RESERVED_CONNECTIONS)


def proxy_capacity(instance_class: str, max_connections_percent: int) -> int:
    """Backend connections RDS Proxy may open to a primary of this class (never into the reserved slots)."""
    estimate = rds_default_max_connections(instance_class)
    counted = estimate * (100 - ESTIMATE_MARGIN_PERCENT) // 100
    return min(counted * max_connections_percent // 100, usable_connections(instance_class))


def shard_budget(shard: Shard, api: ApiConfig, worker_pods: int = 0) -> ShardBudget:
    """The budget of one shard under the full-scale load of the API and ``worker_pods`` queue workers."""
    settings = shard.settings
    replicas = settings.read_replicas
    # Without replicas the reader pool targets the writer endpoint too (see infra.database).
    writer_load = ClientLoad(
        pods=api.max_replicas,
        processes_per_pod=api.worker_processes,
        pool_size=api.db_pool_size,
        pools_per_process=1 if replicas else 2,
        worker_pods=worker_pods,
    )
    writer = SideBudget(
        role="writer",
        instance_class=settings.instance_class,
        max_connections=rds_default_max_connections(settings.instance_class),
        capacity=proxy_capacity(settings.instance_class, settings.proxy.max_connections_percent),
        load=writer_load,
    )
    reader = None
    if replicas:
        replica_class = shard.replica_instance_class
        reader = SideBudget(
            role="reader",
            instance_class=replica_class,
            max_connections=rds_default_max_connections(replica_class),
            capacity=usable_connections(replica_class),
            load=ClientLoad(
                pods=api.max_replicas,
                processes_per_pod=api.worker_processes,
                pool_size=api.db_pool_size,
                worker_pods=worker_pods,
            ),
        )
    return ShardBudget(shard_id=shard.id, writer=writer, reader=reader, replicas=replicas)


def stack_budgets(config: StackConfig) -> list[ShardBudget]:
    """Every shard's budget, in shard id order."""
    workers = config.worker.max_replicas
    return [shard_budget(config.shards[shard_id], config.api, workers) for shard_id in sorted(config.shards)]


def _writer_problem(budget: ShardBudget) -> str:
    side = budget.writer
    key = f"nexus:shards.{budget.shard_id}"
    return (
        f"{key}.instanceClass: writer connections over budget: {side.load.formula()} client connections "
        f"through RDS Proxy, but {side.instance_class} (max_connections ~{side.max_connections}) lets the "
        f"proxy open at most {side.capacity} at {key}.proxy.maxConnectionsPercent; "
        f"lower nexus:api.maxReplicas, nexus:worker.maxReplicas or nexus:api.dbPoolSize, "
        f"or raise {key}.instanceClass or {key}.proxy.maxConnectionsPercent"
    )


def _reader_problem(budget: ShardBudget, side: SideBudget) -> str:
    key = f"nexus:shards.{budget.shard_id}"
    return (
        f"{key}.replicaInstanceClass: reader connections over budget on each of the {budget.replicas} "
        f"replica(s): {side.load.formula()} client connections (every process keeps a pool to every "
        f"replica), but {side.instance_class} (max_connections ~{side.max_connections}) admits about "
        f"{side.capacity}; lower nexus:api.maxReplicas, nexus:worker.maxReplicas or nexus:api.dbPoolSize, "
        f"or raise {key}.replicaInstanceClass (or {key}.instanceClass when the replicas inherit it)"
    )


def capacity_problems(config: StackConfig) -> list[str]:
    """The cross-section check: one line per side of a shard whose full-scale load does not fit."""
    problems: list[str] = []
    for budget in stack_budgets(config):
        if not budget.writer.ok:
            problems.append(_writer_problem(budget))
        if budget.reader is not None and not budget.reader.ok:
            problems.append(_reader_problem(budget, budget.reader))
    return problems


def budget_lines(config: StackConfig) -> list[str]:
    """A human-readable table of every shard's budget, for the preview."""
    lines = [
        f"{'shard':<24} {'side':<16} {'class':<16} {'clients':>8} {'capacity':>9} {'use':>5}",
    ]
    for budget in stack_budgets(config):
        sides: list[tuple[str, SideBudget]] = [("writer (proxy)", budget.writer)]
        if budget.reader is not None:
            sides.append((f"reader x{budget.replicas}", budget.reader))
        for label, side in sides:
            flag = "" if side.ok else "  OVER BUDGET"
            lines.append(
                f"{budget.shard_id:<24} {label:<16} {side.instance_class:<16} {side.load.connections:>8} "
                f"{side.capacity:>9} {side.utilisation_percent:>4}%{flag}"
            )
    lines.append(
        "clients = (nexus:api.maxReplicas x processes + nexus:worker.maxReplicas) x nexus:api.dbPoolSize"
    )
    lines.append(
        f"capacity = max_connections less {ESTIMATE_MARGIN_PERCENT}% and {RESERVED_CONNECTIONS} reserved "
        "slots, x maxConnectionsPercent through the proxy; reader figures are per replica"
    )
    return lines


def connection_budget_lines(config: StackConfig, run: object = None) -> list[str]:
    """The preview section (``stacks.preview_sections``): the budget needs only config, not the run."""
    return budget_lines(config)


# --- AWS name limits ----------------------------------------------------------------------------------------

RDS_IDENTIFIER_MAX: Final = 63
"""Longest RDS instance identifier (and RDS Proxy name)."""
IAM_ROLE_NAME_MAX: Final = 64
AUTONAME_SUFFIX: Final = 8
"""Pulumi auto-naming appends ``-`` and 7 random characters."""


def longest_shard_names(name_prefix: str, shard_id: str, read_replicas: int) -> dict[str, tuple[str, int]]:
    """The longest generated name of each limited kind in a shard, with its limit (see infra.database)."""
    base = f"{name_prefix}-{shard_id}"
    instance = f"{base}-replica-{read_replicas - 1}" if read_replicas else f"{base}-primary"
    return {
        "RDS instance identifier": (instance, RDS_IDENTIFIER_MAX),
        "RDS Proxy name": (f"{base}-proxy", RDS_IDENTIFIER_MAX),
        "IAM role name": (f"{base}-proxy-role", IAM_ROLE_NAME_MAX),
    }


ALB_NAME_MAX: Final = 32
"""pulumi-aws lb/load_balancer.py and lb/target_group.py ``name``: "can have a maximum of 32 characters"
(Terraform's validName / validTargetGroupName refuse longer ones in the provider's Check)."""
REPLICATION_GROUP_ID_MAX: Final = 40
"""Terraform AWS provider validateReplicationGroupID: StringLenBetween(1, 40); pulumi-aws auto-names it with
AutoNameTransform("replicationGroupId", 40, strings.ToLower)."""
STACK_NAME_PATTERN: Final = r"^[a-z](?:[a-z0-9]|-(?=[a-z0-9]))*$"
"""Lowercase letters, digits and single inner hyphens: every AWS name the stack derives from it must accept it
(RDS identifiers: lowercase and no '--'; ALB and target group names: alphanumerics and hyphens)."""


def longest_stack_names(name_prefix: str) -> dict[str, tuple[str, int]]:
    """The logical names of the auto-named resources with the tightest AWS limits, with those limits (the ALB
    component ``<prefix>-alb`` with children ``-alb`` and ``-api``, the cache ``<prefix>-cache``)."""
    return {
        "ALB name": (f"{name_prefix}-alb-alb", ALB_NAME_MAX),
        "target group name": (f"{name_prefix}-alb-api", ALB_NAME_MAX),
        "ElastiCache replication group id": (f"{name_prefix}-cache", REPLICATION_GROUP_ID_MAX),
    }


def stack_name_problems(config: StackConfig) -> list[str]:
    """A stack name that an AWS name derived from it cannot hold (the provider refuses it at preview)."""
    names = longest_stack_names(config.name_prefix)
    longest = min(limit - AUTONAME_SUFFIX - (len(name) - len(config.stack)) for name, limit in names.values())
    valid = (
        f"use at most {longest} characters: lowercase letters, digits and single inner hyphens, starting "
        "with a letter"
    )
    if not re.fullmatch(STACK_NAME_PATTERN, config.stack):
        return [f"stack name {config.stack!r}: not valid in the AWS names derived from it; {valid}"]
    for kind, (name, limit) in names.items():
        overflow = len(name) + AUTONAME_SUFFIX - limit
        if overflow > 0:
            return [
                f"stack name {config.stack!r}: {overflow} character(s) too long: the {kind} {name!r} plus "
                f"Pulumi's {AUTONAME_SUFFIX}-character random suffix exceeds AWS's {limit}; {valid}"
            ]
    return []


def shard_name_problems(config: StackConfig) -> list[str]:
    """Shard ids whose generated AWS names would exceed AWS's limits (the create would fail mid-way)."""
    problems: list[str] = []
    for shard_id in sorted(config.shards):
        if "--" in shard_id:
            # RDS identifiers and proxy names may not contain two hyphens in a row; the DNS-safe id may.
            problems.append(
                f"nexus:shards.{shard_id}: two consecutive hyphens are not allowed in RDS identifiers and "
                "RDS Proxy names derived from the shard id; use single hyphens"
            )
            continue
        names = longest_shard_names(
            config.name_prefix, shard_id, config.shards[shard_id].settings.read_replicas
        )
        for kind, (name, limit) in names.items():
            overflow = len(name) + AUTONAME_SUFFIX - limit
            if overflow > 0:
                problems.append(
                    f"nexus:shards.{shard_id}: the shard id is {overflow} character(s) too long for stack "
                    f"{config.stack!r}: its {kind} {name!r} plus Pulumi's {AUTONAME_SUFFIX}-character suffix "
                    f"exceeds AWS's {limit}; use a shorter shard id"
                )
                break
    return problems
