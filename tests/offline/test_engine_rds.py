"""What the emulated RDS refuses, as RDS would: a read replica named by identifier next to a subnet group, and
Performance Insights on a class that does not support it (the rules and their sources: offline/aws/data.py,
docs/preview.md)."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from infra.catalog import RDS_INSTANCE_CLASSES, performance_insights_supported
from offline import EmulationError, StackRun, run_config
from offline.cloud import Ctx, emulate, lookup

pytestmark = pytest.mark.infra

PROGRAM = """
import pulumi
import pulumi_aws as aws

config = pulumi.Config("t")
subnets = aws.rds.SubnetGroup("subnets", subnet_ids=["subnet-0a", "subnet-0b"])
primary = aws.rds.Instance(
    "primary",
    engine=config.require("engine"),
    instance_class=config.require("primaryClass"),
    allocated_storage=20,
    username="app",
    password="correct-horse-battery",
    db_subnet_group_name=subnets.name,
    backup_retention_period=1,
    performance_insights_enabled=config.require_bool("primaryInsights"),
    skip_final_snapshot=True,
)
source = config.require("source")
aws.rds.Instance(
    "replica",
    replicate_source_db=primary.arn if source == "arn" else primary.identifier,
    instance_class=config.require("replicaClass"),
    db_subnet_group_name=subnets.name if config.require_bool("replicaSubnetGroup") else None,
    performance_insights_enabled=config.require_bool("replicaInsights"),
    skip_final_snapshot=True,
)
"""

GOOD = {
    "t:engine": "postgres",
    "t:primaryClass": "db.r6g.large",
    "t:primaryInsights": "true",
    "t:source": "arn",
    "t:replicaClass": "db.r6g.large",
    "t:replicaSubnetGroup": "true",
    "t:replicaInsights": "true",
}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("rds")
    (root / "Pulumi.yaml").write_text("name: rds\nruntime: python\nmain: .\n")
    (root / "__main__.py").write_text(textwrap.dedent(PROGRAM))
    return root


def _run(project: Path, **changes: Any) -> StackRun:
    config = {**GOOD, **{f"t:{key}": str(value).lower() for key, value in changes.items()}}
    return run_config(config, project_dir=project, stack="t")


def test_a_replica_by_arn_with_a_subnet_group_is_created(project: Path) -> None:
    run = _run(project)
    primary = run.one("aws:rds/instance:Instance", "primary")
    replica = run.one("aws:rds/instance:Instance", "replica")
    assert replica.inputs["replicateSourceDb"] == primary.outputs["arn"]
    assert replica.outputs["engine"] == "postgres"  # RDS copies the source's engine


def test_a_replica_by_identifier_with_a_subnet_group_is_refused(project: Path) -> None:
    with pytest.raises(EmulationError, match="DBSubnetGroupNotAllowedFault") as refused:
        _run(project, source="identifier")
    assert str(refused.value).startswith("urn:pulumi:t::rds::aws:rds/instance:Instance::replica: ")
    assert "is an identifier while dbSubnetGroupName is set" in str(refused.value)


def test_a_replica_by_identifier_without_a_subnet_group_is_created(project: Path) -> None:
    run = _run(project, source="identifier", replicaSubnetGroup=False)
    assert "dbSubnetGroupName" not in run.one("aws:rds/instance:Instance", "replica").inputs


@pytest.mark.parametrize("instance_class", ["db.t3.micro", "db.t4g.small", "db.t2.micro"])
def test_performance_insights_on_a_small_mysql_class_is_refused(project: Path, instance_class: str) -> None:
    # AWS's table: RDS for MySQL and MariaDB do not support it on db.t2/t3/t4g micro and small.
    with pytest.raises(EmulationError, match="Performance Insights not supported") as refused:
        _run(project, engine="mysql", primaryClass=instance_class)
    assert "Instance::primary:" in str(refused.value)


def test_a_replica_takes_its_engine_from_its_source_for_that_check(project: Path) -> None:
    # The replica names no engine: RDS uses the source's (MySQL), and refuses PI on the replica's small class.
    with pytest.raises(EmulationError, match="Performance Insights not supported") as refused:
        _run(project, engine="mysql", replicaClass="db.t4g.micro")
    assert "Instance::replica:" in str(refused.value)
    run = _run(project, engine="mysql", replicaClass="db.t4g.micro", replicaInsights=False)
    assert run.one("aws:rds/instance:Instance", "replica").outputs["engine"] == "mysql"


@pytest.mark.parametrize("instance_class", ["db.t3.micro", "db.t4g.micro", "db.t4g.small"])
def test_performance_insights_on_small_postgres_classes_passes(project: Path, instance_class: str) -> None:
    # AWS's table lists no instance-class restriction for RDS for PostgreSQL.
    run = _run(project, primaryClass=instance_class, replicaClass=instance_class)
    assert all(db.inputs["performanceInsightsEnabled"] for db in run.by_type("aws:rds/instance:Instance"))


# --- the program's decision (infra/catalog.py) agrees with what the engine refuses ------------------------

SMALL_BURSTABLE = ("db.t2.micro", "db.t2.small", "db.t3.micro", "db.t3.small", "db.t4g.micro", "db.t4g.small")


@pytest.mark.parametrize("engine", ["mysql", "mariadb"])
def test_catalog_excludes_the_small_burstable_classes_for_mysql_and_mariadb(engine: str) -> None:
    for instance_class in SMALL_BURSTABLE:
        assert not performance_insights_supported(engine, instance_class)
    for instance_class in ("db.t3.medium", "db.t4g.medium", "db.r6g.large", "db.m7g.xlarge"):
        assert performance_insights_supported(engine, instance_class)


def test_catalog_supports_every_class_for_postgres() -> None:
    assert all(
        performance_insights_supported("postgres", c) for c in (*SMALL_BURSTABLE, *RDS_INSTANCE_CLASSES)
    )


@pytest.mark.parametrize("engine", ["postgres", "mysql", "mariadb"])
def test_the_engine_refuses_exactly_what_the_catalog_rules_out(engine: str) -> None:
    emulation = lookup("aws:rds/instance:Instance")
    for instance_class in sorted({*SMALL_BURSTABLE, *RDS_INSTANCE_CLASSES}):
        ctx = Ctx(
            type="aws:rds/instance:Instance",
            name="db",
            urn="urn:pulumi:t::p::aws:rds/instance:Instance::db",
            inputs={"engine": engine, "instanceClass": instance_class, "performanceInsightsEnabled": True},
            region="us-east-1",
        )
        if performance_insights_supported(engine, instance_class):
            emulate(ctx, emulation)
        else:
            with pytest.raises(EmulationError, match="Performance Insights not supported"):
                emulate(ctx, emulation)
