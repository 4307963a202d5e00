"""The monthly cost estimate (stacks.cost): its arithmetic on a hand-made plan with a hand-made price table,
the shard delta on dev, unpriced types listed (never zero), and the command line."""

from __future__ import annotations

import dataclasses
import io
import re
from typing import Any

import pytest
import yaml

from offline import RecordedResource
from offline.records import ResourceRecord
from stacks.cost import Estimate, estimate, main
from stacks.prices import RegionPrices
from tests.support.harness import PROJECT_DIR, StackRun, run_stack, stack_config

SHARD = "nexus:database:TenantShard"

# Round figures, so that every expected value below is worked out by hand.
TOY = RegionPrices(
    rds_postgres_hourly={"db.r6g.large": 1.0, "db.t4g.medium": 0.5},
    rds_gp3_gb_month=0.1,
    rds_proxy_vcpu_hourly=0.01,
    rds_proxy_min_vcpus=2,
    elasticache_node_hourly={"valkey": {"cache.t4g.small": 0.2}},
    eks_cluster_hourly=0.1,
    ec2_hourly={"a.large": 0.3, "b.large": 0.4},
    ebs_gp3_gb_month=0.08,
    nat_gateway_hourly=0.05,
    public_ipv4_hourly=0.005,
    alb_hourly=0.02,
    kms_key_month=1.0,
    secret_month=0.4,
)


def _resource(
    type_: str,
    name: str,
    inputs: dict[str, Any],
    *,
    outputs: dict[str, Any] | None = None,
    parent: str | None = "stack",
    id_: str | None = None,
) -> RecordedResource:
    custom = type_.startswith("aws:")
    record = ResourceRecord(
        urn=f"urn:{type_}::{name}",
        type=type_,
        name=name,
        custom=custom,
        parent=parent,
        inputs=inputs,
        outputs={**inputs, **(outputs or {})},
        id=id_ or (name if custom else None),
        protect=False,
        provider=None,
        providers={},
        dependencies=(),
        property_dependencies={},
        ignore_changes=(),
        additional_secret_outputs=(),
        replace_on_changes=(),
        aliases=(),
        delete_before_replace=None,
        retain_on_delete=None,
        custom_timeouts=None,
        deleted_with=None,
        import_id=None,
        remote=False,
    )
    return RecordedResource.of(record)


class _Plan:
    """Just what the estimate reads of a StackRun: iteration over the recorded resources."""

    def __init__(self, resources: list[RecordedResource]) -> None:
        self.resources = resources

    def __iter__(self) -> Any:
        return iter(self.resources)


def _toy_plan() -> list[RecordedResource]:
    shard = _resource(SHARD, "nexus-t-shard-x", {})
    return [
        shard,
        _resource(
            "aws:rds/instance:Instance",
            "primary",
            {
                "instanceClass": "db.r6g.large",
                "engine": "postgres",
                "multiAz": True,
                "allocatedStorage": 100,
                "storageType": "gp3",
            },
            outputs={"identifier": "p1", "arn": "arn:aws:rds:us-east-1:1:db:p1"},
            parent=shard.urn,
        ),
        _resource(
            "aws:rds/instance:Instance",
            "replica",
            {
                "instanceClass": "db.t4g.medium",
                "replicateSourceDb": "arn:aws:rds:us-east-1:1:db:p1",
                "storageType": "gp3",
            },
            outputs={"identifier": "r1"},
            parent=shard.urn,
        ),
        _resource("aws:rds/proxy:Proxy", "proxy", {"name": "px"}, parent=shard.urn),
        _resource(
            "aws:rds/proxyTarget:ProxyTarget",
            "target",
            {"dbProxyName": "px", "dbInstanceIdentifier": "p1"},
            parent=shard.urn,
        ),
        _resource("aws:secretsmanager/secret:Secret", "secret", {}, parent=shard.urn),
        _resource("aws:eks/cluster:Cluster", "eks", {}),
        _resource(
            "aws:ec2/launchTemplate:LaunchTemplate",
            "lt",
            {"blockDeviceMappings": [{"ebs": {"volumeType": "gp3", "volumeSize": 50}}]},
            id_="lt-1",
        ),
        _resource(
            "aws:eks/nodeGroup:NodeGroup",
            "nodes",
            {
                "scalingConfig": {"minSize": 1, "desiredSize": 2, "maxSize": 4},
                "instanceTypes": ["a.large", "b.large"],
                "capacityType": "SPOT",
                "launchTemplate": {"id": "lt-1", "version": "1"},
            },
        ),
        _resource(
            "aws:elasticache/replicationGroup:ReplicationGroup",
            "cache",
            {"engine": "valkey", "nodeType": "cache.t4g.small", "numCacheClusters": 2},
        ),
        _resource("aws:ec2/natGateway:NatGateway", "nat", {}),
        _resource("aws:ec2/eip:Eip", "eip", {"domain": "vpc"}),
        _resource("aws:lb/loadBalancer:LoadBalancer", "alb", {"loadBalancerType": "application"}),
        _resource("aws:kms/key:Key", "key", {}),
        _resource("aws:s3/bucket:Bucket", "bucket", {}),
    ]


def _toy(prices: RegionPrices = TOY) -> Estimate:
    plan: Any = _Plan(_toy_plan())
    return estimate(plan, "toy-1", prices={"toy-1": prices})


@pytest.mark.unit
def test_the_arithmetic_of_a_small_plan() -> None:
    result = _toy()
    # Multi-AZ primary: two instances and two copies of its 100 GiB: 2 * (1.0 * 730 + 100 * 0.1).
    primary = 2 * (730.0 + 10.0)
    # The replica has its source's 100 GiB, single-AZ: 0.5 * 730 + 100 * 0.1.
    replica = 365.0 + 10.0
    # db.r6g.large has 2 vCPUs (the minimum): 2 * 0.01 * 730.
    proxy = 14.6
    shard = primary + replica + proxy + 0.4
    # desiredSize 2 of the dearer type (0.4/h), each with a 50 GiB gp3 root volume: 2 * (292 + 4).
    nodes = 2 * (0.4 * 730 + 50 * 0.08)
    cache = 2 * 0.2 * 730
    rest = 0.1 * 730 + 0.05 * 730 + 0.005 * 730 + 0.02 * 730 + 1.0
    assert result.by_shard() == {
        "nexus-t-shard-x": pytest.approx(
            {"primary": primary, "replicas": replica, "proxy": proxy, "secrets": 0.4}
        )
    }
    assert result.by_kind()["EKS nodes (EC2 + EBS)"] == pytest.approx(nodes)
    assert result.by_kind()["ElastiCache nodes"] == pytest.approx(cache)
    assert result.total == pytest.approx(shard + nodes + cache + rest)
    assert result.total == pytest.approx(2882.75)
    assert result.unpriced == ()
    assert result.left_out == {"aws:s3/bucket:Bucket": 1}


@pytest.mark.unit
def test_an_unknown_type_is_listed_as_unpriced_not_zero() -> None:
    without_medium = dataclasses.replace(TOY, rds_postgres_hourly={"db.r6g.large": 1.0})
    result = _toy(without_medium)
    assert [(item.urn, item.reason) for item in result.unpriced] == [
        ("urn:aws:rds/instance:Instance::replica", "RDS class db.t4g.medium is not in the price table")
    ]
    # The replica is out of the total, the rest is unchanged: 2882.75 - 375.
    assert result.total == pytest.approx(2507.75)


@pytest.mark.unit
def test_a_region_missing_from_the_table_lists_every_priced_kind() -> None:
    plan: Any = _Plan(_toy_plan())
    result = estimate(plan, "eu-south-9", prices={"toy-1": TOY})
    assert result.lines == ()
    # Every resource but the shard component, the launch template, the proxy target and the bucket.
    names = sorted(item.urn.rsplit("::", 1)[1] for item in result.unpriced)
    assert names == [
        "alb",
        "cache",
        "eip",
        "eks",
        "key",
        "nat",
        "nodes",
        "primary",
        "proxy",
        "replica",
        "secret",
    ]
    assert {item.reason for item in result.unpriced} == {"region eu-south-9 is not in the price table"}


@pytest.mark.infra
def test_the_table_prices_every_checked_in_stack(stack_run: StackRun) -> None:
    result = estimate(stack_run, "us-east-1")
    assert result.unpriced == ()
    assert result.total > 0


DEV_FILE = PROJECT_DIR / "Pulumi.dev.yaml"


def _dev_config_with_shard_c() -> dict[str, Any]:
    """The dev stack's config with a third shard that takes every default."""
    config = stack_config("dev")
    config["nexus:shards"]["shard-c"] = {"tenants": ["hooli"]}
    return config


def _dev_with_shard_c(tmp_path: Any) -> Any:
    """That config written as an edited stack file."""
    edited = tmp_path / "Pulumi.dev.yaml"
    edited.write_text(yaml.safe_dump({"config": _dev_config_with_shard_c()}))
    return edited


@pytest.mark.infra
def test_adding_a_shard_raises_the_total_by_that_shard(dev_run: StackRun) -> None:
    after_run = run_stack(_dev_config_with_shard_c(), stack="dev")
    before, after = estimate(dev_run, "us-east-1"), estimate(after_run, "us-east-1")
    shard_c = after_run.one(SHARD, "-shard-c").name
    shard_a = after_run.one(SHARD, "-shard-a").name
    assert after.total - before.total == pytest.approx(after.shard_total(shard_c))
    # shard-c takes every default, as shard-a does: the same figure.
    assert after.shard_total(shard_c) == pytest.approx(after.shard_total(shard_a))
    assert after.shard_total(shard_c) > 0
    assert {k: v for k, v in after.by_shard().items() if k != shard_c} == before.by_shard()


@pytest.mark.infra
def test_the_command_prints_kinds_shards_total_and_the_table_date() -> None:
    out, err = io.StringIO(), io.StringIO()
    assert main(["--stack", "prod"], out=out, err=err) == 0, err.getvalue()
    text = out.getvalue()
    assert re.search(r"prices of \d{4}-\d{2}-\d{2}", text)
    assert re.search(r"^  shard-a: \$[\d,]+\.\d\d \(primary", text, re.M)
    assert re.search(r"^  shard-b: \$[\d,]+\.\d\d \(primary", text, re.M)
    assert re.search(r"^  RDS instances +\$[\d,]+\.\d\d$", text, re.M)
    assert re.search(r"^Total: \$[\d,]+\.\d\d a month$", text, re.M)


@pytest.mark.infra
def test_a_missing_stack_file_is_status_1(tmp_path: Any) -> None:
    out, err = io.StringIO(), io.StringIO()
    assert main(["--stack", "x", "--config-file", str(tmp_path / "none.yaml")], out=out, err=err) == 1
    assert "not found" in err.getvalue()
    assert "Traceback" not in err.getvalue()


@pytest.mark.infra
def test_against_prints_the_new_shard_and_the_total_change(tmp_path: Any) -> None:
    out, err = io.StringIO(), io.StringIO()
    argv = ["--stack", "dev", "--config-file", str(_dev_with_shard_c(tmp_path)), "--against", str(DEV_FILE)]
    assert main(argv, out=out, err=err) == 0, err.getvalue()
    change = out.getvalue().split("Change in monthly cost against Pulumi.dev.yaml\n", 1)[1]
    total = re.search(r"total: \$([\d,.]+) -> \$([\d,.]+) \(\+\$([\d,.]+) a month\)", change)
    added = re.search(r"shard shard-c \(new\): \+\$([\d,.]+) a month", change)
    assert total, change
    assert added, change
    old, new, delta = (float(value.replace(",", "")) for value in total.groups())
    assert new - old == pytest.approx(delta, abs=0.011)
    assert float(added.group(1).replace(",", "")) == delta
    assert "shard-a" not in change
    assert "shard-b" not in change


@pytest.mark.infra
def test_the_readable_preview_has_the_cost_section() -> None:
    from stacks.preview import main as preview_main

    out, err = io.StringIO(), io.StringIO()
    assert preview_main(["--stack", "dev"], out=out, err=err) == 0, err.getvalue()
    section = out.getvalue().split("\nMonthly cost estimate", 1)[1].split("\n\n", 1)[0]
    assert re.search(r"^  Total: \$[\d,]+\.\d\d a month$", section, re.M), section
    assert re.search(r"^    shard-a: \$[\d,]+\.\d\d \(primary", section, re.M), section


@pytest.mark.infra
def test_the_change_view_against_a_stack_file_shows_the_cost_change(tmp_path: Any) -> None:
    from stacks.preview import main as preview_main

    out, err = io.StringIO(), io.StringIO()
    argv = ["--stack", "dev", "--config-file", str(_dev_with_shard_c(tmp_path)), "--against", str(DEV_FILE)]
    assert preview_main(argv, out=out, err=err) == 0, err.getvalue()
    section = out.getvalue().split("\nMonthly cost change (docs/cost.md)\n", 1)[1]
    added = re.search(r"^  shard shard-c \(new\): \+\$([\d,.]+) a month$", section, re.M)
    total = re.search(r"^  total: \$[\d,.]+ -> \$[\d,.]+ \(\+\$([\d,.]+) a month\)$", section, re.M)
    assert added, section
    assert total, section
    assert added.group(1) == total.group(1)
