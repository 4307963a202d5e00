"""The connection budget per shard (stacks.capacity): pure maths, property-tested, and the loader check."""

from __future__ import annotations

import dataclasses
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from infra.catalog import RDS_INSTANCE_CLASSES, rds_default_max_connections
from stacks.capacity import (
    ClientLoad,
    budget_lines,
    capacity_problems,
    longest_shard_names,
    proxy_capacity,
    shard_budget,
    usable_connections,
)
from stacks.config import ApiConfig, ConfigError, Shard, ShardSettings, load

pytestmark = pytest.mark.unit

CLASSES = sorted(RDS_INSTANCE_CLASSES)


def _raw(shards: dict[str, object], api: dict[str, object] | None = None, **extra: object) -> dict[str, str]:
    # A reachable cluster with an admin (nexus:cluster's own checks are not what these tests are about).
    cluster = {
        "adminRoleArns": ["arn:aws:iam::123456789012:role/deploy"],
        "publicAccessCidrs": ["203.0.113.0/24"],
    }
    raw = {
        "aws:region": "us-east-1",
        "nexus:shards": json.dumps(shards),
        "nexus:cluster": json.dumps(cluster),
    }
    if api is not None:
        raw["nexus:api"] = json.dumps(api)
    raw.update({f"nexus:{key}": json.dumps(value) for key, value in extra.items()})
    return raw


def _shard(shard_id: str = "shard-a", **settings: object) -> Shard:
    return Shard(id=shard_id, tenants=("acme",), settings=ShardSettings.model_validate(settings))


def _api(**values: object) -> ApiConfig:
    return ApiConfig.model_validate({"minReplicas": 1, **values})


def test_medium_class_figures_by_hand() -> None:
    # db.t4g.medium: 4 GiB -> 4 * 2**30 // 9531392 = 450; 90% counted = 405; less 5 reserved = 400.
    assert rds_default_max_connections("db.t4g.medium") == 450
    assert usable_connections("db.t4g.medium") == 400
    # The proxy may open 90% of the counted 405 = 364 (below the 400 the server admits).
    assert proxy_capacity("db.t4g.medium", 90) == 364
    # At 100% the proxy would reach into the reserved slots: capped at what a non-superuser may open.
    assert proxy_capacity("db.t4g.medium", 100) == 400


def test_writer_and_reader_load_of_dev_like_shard() -> None:
    budget = shard_budget(_shard(readReplicas=2), _api(maxReplicas=4, cpu=2000, dbPoolSize=5))
    assert budget.writer.load.connections == 4 * 2 * 5
    assert budget.reader is not None
    # Each replica sees the whole reader load: every process keeps a pool to every replica.
    assert budget.reader.load.connections == 40
    assert budget.writer.ok
    assert budget.reader.ok


def test_shard_without_replicas_reads_through_the_proxy() -> None:
    budget = shard_budget(_shard(readReplicas=0), _api(maxReplicas=4, cpu=1000, dbPoolSize=5))
    assert budget.reader is None
    assert budget.writer.load.pools_per_process == 2
    assert budget.writer.load.connections == 4 * 1 * 5 * 2


def test_replica_class_override_is_budgeted_on_the_replica_class() -> None:
    budget = shard_budget(
        _shard(instanceClass="db.r6g.xlarge", replicaInstanceClass="db.t4g.micro"), _api(maxReplicas=20)
    )
    assert budget.reader is not None
    assert budget.reader.instance_class == "db.t4g.micro"
    assert budget.writer.instance_class == "db.r6g.xlarge"


def test_over_budget_writer_names_every_knob() -> None:
    config_raw = _raw(
        {"shard-a": {"tenants": ["acme"], "instanceClass": "db.t4g.micro", "readReplicas": 1}},
        api={"maxReplicas": 40, "cpu": 2000, "dbPoolSize": 10},
    )
    with pytest.raises(ConfigError) as excinfo:
        load(config_raw, stack="dev")
    problems = excinfo.value.problems
    writer = [p for p in problems if p.startswith("nexus:shards.shard-a.instanceClass:")]
    reader = [p for p in problems if p.startswith("nexus:shards.shard-a.replicaInstanceClass:")]
    assert len(writer) == 1
    assert len(reader) == 1
    for knob in (
        "nexus:api.maxReplicas",
        "nexus:api.dbPoolSize",
        "nexus:shards.shard-a.proxy.maxConnectionsPercent",
    ):
        assert knob in writer[0]
    # Default nexus:worker.maxReplicas is 4: (40 x 2 + 4) x 10 = 840.
    assert (
        "(40 API pods (nexus:api.maxReplicas) x 2 processes (nexus:api.cpu) + 4 queue workers "
        "(nexus:worker.maxReplicas)) x 10 (nexus:api.dbPoolSize) = 840" in writer[0]
    )
    assert "every process keeps a pool to every replica" in reader[0]


def test_over_budget_only_on_the_replica_side() -> None:
    # A big primary behind the proxy, tiny replicas: only the reader line fails.
    raw = _raw(
        {
            "shard-a": {
                "tenants": ["acme"],
                "instanceClass": "db.r6g.4xlarge",
                "replicaInstanceClass": "db.t4g.micro",
            }
        },
        api={"maxReplicas": 20, "cpu": 1000, "dbPoolSize": 10},
    )
    with pytest.raises(ConfigError) as excinfo:
        load(raw, stack="dev")
    assert [p.split(":")[1] for p in excinfo.value.problems] == ["shards.shard-a.replicaInstanceClass"]


def test_committed_stacks_fit_their_budget() -> None:
    from stacks.config import load_stack_file

    for stack in ("dev", "prod"):
        config = load_stack_file(f"Pulumi.{stack}.yaml")
        assert capacity_problems(config) == []


def test_budget_lines_show_each_side_and_flag_the_over_budget_one() -> None:
    from stacks.config import load_stack_file

    config = load_stack_file("Pulumi.prod.yaml")
    lines = budget_lines(config)
    # prod: (20 pods x 2 processes + 10 queue workers) x 5 = 250 per side; shard-b's primary is an
    # r6g.xlarge (16 GiB x 2 -> 3605, 90% = 3244, x 90% = 2919 through the proxy), replicas r6g.large.
    shard_b_writer = next(line for line in lines if line.startswith("shard-b") and "writer" in line)
    assert "db.r6g.xlarge" in shard_b_writer
    assert shard_b_writer.split()[4:6] == ["250", str(proxy_capacity("db.r6g.xlarge", 90))]
    shard_b_reader = next(line for line in lines if line.startswith("shard-b") and "reader x2" in line)
    assert "db.r6g.large" in shard_b_reader
    assert "OVER BUDGET" not in "\n".join(lines)
    # The same stack with a far larger HPA ceiling: every side is flagged (the loader would refuse it).
    crowded = dataclasses.replace(config, api=config.api.model_copy(update={"max_replicas": 1000}))
    flagged = [line for line in budget_lines(crowded) if line.endswith("OVER BUDGET")]
    assert len(flagged) == 4  # two shards x (writer, replicas)


def test_prod_requires_multi_az() -> None:
    raw = _raw(
        {"shard-a": {"tenants": ["acme"], "multiAz": False}},
        environment="prod",
        shardDefaults={"backupRetentionDays": 7},
    )
    with pytest.raises(ConfigError) as excinfo:
        load(raw, stack="prod")
    assert any(
        p.startswith("nexus:shards.shard-a.multiAz: prod primaries run Multi-AZ")
        for p in excinfo.value.problems
    )


# --- properties ---------------------------------------------------------------------------------------------

loads = st.builds(
    ClientLoad,
    pods=st.integers(1, 1000),
    processes_per_pod=st.integers(1, 64),
    pool_size=st.integers(1, 100),
    pools_per_process=st.integers(1, 2),
)


@given(loads)
def test_load_is_the_product_of_its_factors(load_: ClientLoad) -> None:
    assert (
        load_.connections == load_.pods * load_.processes_per_pod * load_.pool_size * load_.pools_per_process
    )
    assert load_.formula().endswith(f"= {load_.connections}")


# The bound is computed here from its sources, not from stacks.capacity's own constants (which would move with
# a bug): RDS for PostgreSQL's default max_connections is LEAST({DBInstanceClassMemory/9531392}, 5000) (the
# RDS user guide, "Maximum number of database connections"); superuser_reserved_connections (3) and
# rds.rds_superuser_reserved_connections (2) are slots the app never gets; the budget counts 90% of the
# estimate (docs/shards.md).
def _connection_bound(instance_class: str) -> int:
    memory_gib = RDS_INSTANCE_CLASSES[instance_class][1]
    estimate = min(int(memory_gib * 1024**3 // 9531392), 5000)
    return estimate * 90 // 100 - (3 + 2)


@given(st.sampled_from(CLASSES), st.integers(1, 100))
def test_capacity_never_reaches_into_reserved_or_estimated_slots(instance_class: str, percent: int) -> None:
    usable = usable_connections(instance_class)
    assert 0 <= usable <= _connection_bound(instance_class)
    assert 0 <= proxy_capacity(instance_class, percent) <= usable


@given(st.sampled_from(CLASSES), st.integers(1, 99))
def test_proxy_capacity_grows_with_its_percentage(instance_class: str, percent: int) -> None:
    assert proxy_capacity(instance_class, percent) <= proxy_capacity(instance_class, percent + 1)


@given(st.sampled_from(CLASSES), st.sampled_from(CLASSES))
def test_more_memory_never_means_fewer_connections(a: str, b: str) -> None:
    if RDS_INSTANCE_CLASSES[a][1] <= RDS_INSTANCE_CLASSES[b][1]:
        assert usable_connections(a) <= usable_connections(b)


@given(
    instance_class=st.sampled_from(CLASSES),
    replicas=st.integers(0, 15),
    max_replicas=st.integers(1, 200),
    cpu=st.integers(1, 16).map(lambda cores: cores * 1000),
    pool=st.integers(1, 100),
    extra_pods=st.integers(0, 200),
)
def test_budget_verdict_matches_the_numbers_and_is_monotone_in_pods(
    instance_class: str, replicas: int, max_replicas: int, cpu: int, pool: int, extra_pods: int
) -> None:
    shard = _shard(instanceClass=instance_class, readReplicas=replicas)
    small = shard_budget(shard, _api(maxReplicas=max_replicas, cpu=cpu, dbPoolSize=pool))
    for side in (small.writer, small.reader):
        if side is not None:
            assert side.ok == (side.load.connections <= side.capacity)
    assert (small.reader is None) == (replicas == 0)
    # More pods never turn an over-budget side into one that fits.
    big = shard_budget(shard, _api(maxReplicas=max_replicas + extra_pods, cpu=cpu, dbPoolSize=pool))
    assert big.writer.load.connections >= small.writer.load.connections
    if not small.writer.ok:
        assert not big.writer.ok


def test_long_shard_id_is_refused_before_aws_refuses_its_names() -> None:
    # nexus-dev- (10) + 31-character id + -replica-0 (10) + 8-character suffix = 59 fits in 63; with a
    # 10-character stack name (the longest valid) the same shard's replica identifier reaches 66.
    shard_id = "s" + "x" * 29 + "1"
    raw = _raw({shard_id: {"tenants": ["acme"]}})
    assert load(raw, stack="dev").shards[shard_id].id == shard_id
    with pytest.raises(ConfigError) as excinfo:
        load(raw, stack="staging-eu")
    (problem,) = excinfo.value.problems
    assert problem.startswith(f"nexus:shards.{shard_id}: the shard id is 3 character(s) too long")
    assert "RDS instance identifier" in problem
    assert "use a shorter shard id" in problem


@given(st.integers(0, 15), st.from_regex(r"[a-z][a-z0-9-]{0,29}[a-z0-9]", fullmatch=True))
def test_longest_names_cover_every_replica(replicas: int, shard_id: str) -> None:
    names = longest_shard_names("nexus-dev", shard_id, replicas)
    identifier, limit = names["RDS instance identifier"]
    assert limit == 63
    expected = f"nexus-dev-{shard_id}-replica-{replicas - 1}" if replicas else f"nexus-dev-{shard_id}-primary"
    assert identifier == expected


def test_double_hyphen_shard_id_is_refused() -> None:
    with pytest.raises(ConfigError) as excinfo:
        load(_raw({"shard--a": {"tenants": ["acme"]}}), stack="dev")
    assert excinfo.value.problems == [
        "nexus:shards.shard--a: two consecutive hyphens are not allowed in RDS identifiers and RDS Proxy "
        "names derived from the shard id; use single hyphens"
    ]
