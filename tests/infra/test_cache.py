"""The shared Valkey group: config rules (unit) and the recorded resources of dev, prod, variants (infra)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from devstack.configs import redis_command
from infra.cache import AUTH_TOKEN_LENGTH, MAXMEMORY_POLICY, REDIS_PORT, member_cluster_id, redis_url
from policy import RULES, PolicyRule, check_rule
from stacks.config import load_stack_file
from stacks.config.cache import CacheConfig, daily_window_minutes, weekly_window_minutes
from stacks.datastores import datastore_lines
from tests.support.harness import (
    PROJECT_DIR,
    PROJECT_NAME,
    RecordedResource,
    StackRun,
    config_problems,
    graph_with_inputs,
    run_stack,
    stack_config,
)

RG = "aws:elasticache/replicationGroup:ReplicationGroup"
PARAMS = "aws:elasticache/parameterGroup:ParameterGroup"
SUBNETS = "aws:elasticache/subnetGroup:SubnetGroup"
SG = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
TOKEN = "random:index/randomPassword:RandomPassword"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
SUBNET = "aws:ec2/subnet:Subnet"


def cache_children(run: StackRun) -> list[RecordedResource]:
    component = run.one("nexus:cache:Cache")
    return run.descendants_of(component)


def group(run: StackRun) -> RecordedResource:
    return run.one(RG, "-cache")


# --- config (pure) ---------------------------------------------------------------------------------------


def _cache(**values: Any) -> CacheConfig:
    return CacheConfig.model_validate_json(json.dumps(values), strict=True)


@pytest.mark.unit
def test_defaults_are_a_single_node_without_snapshots() -> None:
    cache = _cache()
    assert (cache.num_nodes, cache.automatic_failover, cache.multi_az, cache.snapshots_enabled) == (
        1,
        False,
        False,
        False,
    )
    assert cache.parameter_group_family == "valkey8"
    assert _cache(engineVersion="7.2").parameter_group_family == "valkey7"


@pytest.mark.unit
@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"automaticFailover": True}, "needs at least 2 nodes"),
        ({"numNodes": 2, "multiAz": True}, "needs automaticFailover"),
        ({"numNodes": 7}, "less than or equal to 6"),
        ({"engineVersion": "7.0"}, "'7.2', '8.0' or '8.1'"),
        ({"snapshotWindow": "05:30-06:30"}, "overlaps maintenanceWindow"),
        ({"snapshotWindow": "04:00-04:30"}, "at least 60 minutes"),
        ({"maintenanceWindow": "sun:23:30-mon:00:10"}, "at least 60 minutes"),
        ({"evictionPolicy": "allkeys-lru"}, "unknown key"),
    ],
)
def test_invalid_cache_settings_are_refused(values: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        _cache(**values)


@pytest.mark.unit
def test_windows_wrap_around_midnight_and_the_week() -> None:
    assert len(weekly_window_minutes("sun:23:30-mon:00:30")) == 60
    assert 0 in weekly_window_minutes("sun:23:30-mon:00:30")  # Monday 00:00
    assert len(daily_window_minutes("23:30-00:30")) == 7 * 60
    _cache(maintenanceWindow="sun:23:30-mon:01:00", snapshotWindow="22:00-23:30")  # adjacent, not overlapping


@pytest.mark.unit
def test_local_redis_evicts_no_more_than_elasticache() -> None:
    # The local run must fail the same way as AWS when full, or the app's noeviction handling goes untested.
    command = redis_command(port=6390, workdir=Path("/nonexistent"), maxmemory="1mb")
    assert command[command.index("--maxmemory-policy") + 1] == MAXMEMORY_POLICY == "noeviction"


@pytest.mark.unit
def test_member_ids_and_url() -> None:
    assert member_cluster_id("nexus-prod-cache-abc1234", 2) == "nexus-prod-cache-abc1234-002"
    assert redis_url("tok", "master.x", 6379) == "rediss://:tok@master.x:6379/0"


@pytest.mark.infra
def test_prod_refuses_a_cache_that_cannot_fail_over() -> None:
    config = stack_config("prod")
    config["nexus:cache"] = {
        **config["nexus:cache"],
        "numNodes": 1,
        "automaticFailover": False,
        "multiAz": False,
    }
    config["nexus:cache"].pop("snapshotRetentionDays")
    problems = config_problems(config, stack="prod")
    assert any(p.startswith("nexus:cache.automaticFailover: prod needs automatic failover") for p in problems)
    assert any(p.startswith("nexus:cache.multiAz: prod") for p in problems)
    assert any(
        p.startswith("nexus:cache.snapshotRetentionDays: prod keeps daily snapshots") for p in problems
    )


@pytest.mark.infra
def test_failover_with_one_node_is_refused_in_any_stack() -> None:
    config = stack_config("dev")
    config["nexus:cache"] = {"numNodes": 1, "automaticFailover": True}
    problems = config_problems(config, stack="dev")
    assert any(
        p.startswith("nexus:cache.automaticFailover: automaticFailover needs at least 2") for p in problems
    )


# --- the component under dev and prod ----------------------------------------------------------------------


@pytest.mark.infra
@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_child_hangs_under_the_component_with_the_stack_provider(stack: str) -> None:
    run = run_stack(stack)
    component = run.one("nexus:cache:Cache")
    assert component.name == f"nexus-{stack}-cache"
    children = cache_children(run)
    # The log groups: slow log and engine log delivery (infra/cache.py _log_groups).
    assert {child.type for child in children} == {RG, PARAMS, SUBNETS, SG, INGRESS, TOKEN, ALARM, LOG_GROUP}
    provider = f"urn:pulumi:{stack}::{PROJECT_NAME}::pulumi:providers:aws::aws"
    for child in children:
        assert child.name.startswith(f"nexus-{stack}-cache")
        if child.type.startswith("aws:"):
            assert child.provider == provider, child.urn


@pytest.mark.infra
@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_group_is_encrypted_with_a_secret_auth_token(stack: str) -> None:
    run = run_stack(stack)
    rg = group(run)
    assert rg.inputs["engine"] == "valkey"
    assert rg.inputs["atRestEncryptionEnabled"] is True
    assert rg.inputs["transitEncryptionEnabled"] is True
    assert rg.inputs["transitEncryptionMode"] == "required"
    assert rg.inputs["port"] == REDIS_PORT
    # The token goes write-only (kept out of the group's state), as a secret, with an explicit strategy.
    token = run.one(TOKEN, "-cache-auth-token")
    assert rg.inputs["authTokenWo"] == token.outputs["result"]
    assert rg.secret_input("authTokenWo")
    assert "authToken" not in rg.inputs
    assert rg.inputs["authTokenWoVersion"] == 1
    assert rg.inputs["authTokenUpdateStrategy"] == "ROTATE"
    assert token.inputs["length"] == AUTH_TOKEN_LENGTH
    assert token.inputs["special"] is False
    assert token.inputs["keepers"] == {"version": "1"}
    assert len(token.outputs["result"]) == AUTH_TOKEN_LENGTH


@pytest.mark.infra
@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_group_uses_its_own_subnet_parameter_and_security_groups(stack: str) -> None:
    run = run_stack(stack)
    rg = group(run)
    params = run.one(PARAMS, "-cache-params")
    subnets = run.one(SUBNETS, "-cache-subnets")
    sg = run.one(SG, "-cache-sg")
    assert rg.inputs["parameterGroupName"] == params.outputs["name"]
    assert rg.inputs["subnetGroupName"] == subnets.outputs["name"]
    assert rg.inputs["securityGroupIds"] == [sg.id]
    # The isolated tier: the network's subnets without an internet route.
    isolated = sorted(s.id for s in run.by_type(SUBNET) if "-isolated-" in s.name)
    assert isolated
    assert sorted(subnets.inputs["subnetIds"]) == isolated


@pytest.mark.infra
@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_parameter_group_never_evicts(stack: str) -> None:
    params = run_stack(stack).one(PARAMS, "-cache-params")
    assert params.inputs["family"] == "valkey8"
    assert params.inputs["parameters"] == [{"name": "maxmemory-policy", "value": "noeviction"}]
    # Auto-named, so a family change can create the new group before the old one is deleted.
    assert "name" not in params.inputs


@pytest.mark.infra
@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_only_the_workload_group_reaches_redis(stack: str) -> None:
    run = run_stack(stack)
    sg = run.one(SG, "-cache-sg")
    workload = run.one(SG, "-network-workload")
    rules = [r for r in run.by_type(INGRESS) if r.inputs["securityGroupId"] == sg.id]
    assert len(rules) == 1
    (rule,) = rules
    assert rule.inputs["referencedSecurityGroupId"] == workload.id
    assert (rule.inputs["ipProtocol"], rule.inputs["fromPort"], rule.inputs["toPort"]) == ("tcp", 6379, 6379)
    assert "cidrIpv4" not in rule.inputs
    assert "cidrIpv6" not in rule.inputs
    assert "ingress" not in sg.inputs
    assert "egress" not in sg.inputs
    assert not [r for r in run.by_type(EGRESS) if r.inputs["securityGroupId"] == sg.id]


@pytest.mark.infra
def test_prod_fails_over_across_azs_keeps_snapshots_and_is_protected() -> None:
    rg = group(run_stack("prod"))
    assert rg.inputs["nodeType"] == "cache.r7g.large"
    assert rg.inputs["numCacheClusters"] == 2
    assert rg.inputs["automaticFailoverEnabled"] is True
    assert rg.inputs["multiAzEnabled"] is True
    assert rg.inputs["snapshotRetentionLimit"] == 7
    assert rg.inputs["snapshotWindow"] == "03:00-04:00"
    assert rg.inputs["maintenanceWindow"] == "sun:05:00-sun:06:00"
    assert rg.inputs["applyImmediately"] is False
    assert rg.inputs["finalSnapshotIdentifier"] == "nexus-prod-cache-final"
    assert rg.protect is True


@pytest.mark.infra
def test_dev_is_one_unprotected_node_without_snapshots() -> None:
    rg = group(run_stack("dev"))
    assert rg.inputs["nodeType"] == "cache.t4g.small"
    assert rg.inputs["numCacheClusters"] == 1
    assert rg.inputs["automaticFailoverEnabled"] is False
    assert rg.inputs["multiAzEnabled"] is False
    assert rg.inputs["snapshotRetentionLimit"] == 0
    assert "snapshotWindow" not in rg.inputs
    assert rg.inputs["applyImmediately"] is True
    assert "finalSnapshotIdentifier" not in rg.inputs
    assert rg.protect is False


@pytest.mark.infra
@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_one_memory_alarm_per_node(stack: str) -> None:
    run = run_stack(stack)
    rg = group(run)
    alarms = sorted((a for a in run.by_type(ALARM) if "-cache-memory-" in a.name), key=lambda a: a.name)
    assert len(alarms) == rg.inputs["numCacheClusters"]
    for index, alarm in enumerate(alarms, start=1):
        assert alarm.name == f"nexus-{stack}-cache-memory-{index:03d}"
        assert alarm.inputs["namespace"] == "AWS/ElastiCache"
        assert alarm.inputs["metricName"] == "DatabaseMemoryUsagePercentage"
        assert alarm.inputs["dimensions"] == {"CacheClusterId": member_cluster_id(rg.id or "", index)}
        assert alarm.inputs["comparisonOperator"] == "GreaterThanThreshold"
        assert alarm.inputs["threshold"] == 80
    # The ids the alarms name are the group's real members.
    assert sorted(rg.outputs["memberClusters"]) == [a.inputs["dimensions"]["CacheClusterId"] for a in alarms]


@pytest.mark.infra
@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_exports_endpoints_and_port_but_not_the_token_or_url(stack: str) -> None:
    run = run_stack(stack)
    rg = group(run)
    token = run.one(TOKEN, "-cache-auth-token").outputs["result"]
    assert run.outputs["redisPrimaryEndpoint"] == rg.outputs["primaryEndpointAddress"]
    assert run.outputs["redisReaderEndpoint"] == rg.outputs["readerEndpointAddress"]
    assert run.outputs["redisPort"] == REDIS_PORT
    # Issue 17: nothing outside the stack needs the AUTH token or the URL (the workloads get them as a
    # Kubernetes Secret), so no stack output carries them, not even as a secret.
    assert not {"redisAuthToken", "redisUrl"} & set(run.outputs)
    assert not any(token in json.dumps(value) for value in run.outputs.values())


@pytest.mark.infra
def test_token_rotation_and_more_nodes_keep_every_urn() -> None:
    config = stack_config("prod")
    config["nexus:cache"] = {**config["nexus:cache"], "authTokenVersion": 2, "numNodes": 3}
    base, changed = run_stack("prod"), run_stack(config, stack="prod")
    assert {r.urn for r in cache_children(base)} < {r.urn for r in cache_children(changed)}
    rg = group(changed)
    token = changed.one(TOKEN, "-cache-auth-token")
    assert token.inputs["keepers"] == {"version": "2"}
    assert rg.inputs["authTokenWoVersion"] == 2
    assert rg.inputs["numCacheClusters"] == 3
    added = {r.name for r in cache_children(changed)} - {r.name for r in cache_children(base)}
    assert added == {"nexus-prod-cache-memory-003"}


# --- policy rules: each one fails on a broken graph ---------------------------------------------------------


def _rule(name: str) -> PolicyRule:
    return next(rule for rule in RULES if rule.name == name)


@pytest.mark.infra
@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"atRestEncryptionEnabled": False}, "atRestEncryptionEnabled is not true"),
        ({"transitEncryptionEnabled": None}, "transitEncryptionEnabled is not true"),
        ({"transitEncryptionMode": "preferred"}, "transitEncryptionMode is 'preferred'"),
        # The version stands for a write-only token in state (see the rule), so both go.
        ({"authTokenWo": None, "authTokenWoVersion": None}, "no AUTH token"),
    ],
)
def test_redis_rule_fails_on_a_weakened_group(inputs: dict[str, Any], message: str) -> None:
    run = run_stack("prod")
    broken = graph_with_inputs(run, lambda r: r.type == RG, **inputs)
    (violation,) = check_rule(_rule("redis-encrypted-with-auth"), broken)
    assert violation.urn == group(run).urn
    assert message in violation.message


@pytest.mark.infra
def test_redis_rule_accepts_rbac_instead_of_a_token() -> None:
    run = run_stack("dev")
    graph = graph_with_inputs(
        run, lambda r: r.type == RG, authTokenWo=None, authTokenWoVersion=None, userGroupIds=["nexus-users"]
    )
    assert check_rule(_rule("redis-encrypted-with-auth"), graph) == []


@pytest.mark.infra
def test_world_data_store_rule_fails_when_the_cache_group_opens_to_the_internet() -> None:
    run = run_stack("prod")
    broken = graph_with_inputs(
        run,
        lambda r: r.type == INGRESS and r.name.endswith("-cache-from-workloads"),
        referencedSecurityGroupId=None,
        cidrIpv6="::/0",
    )
    (violation,) = check_rule(_rule("no-world-data-store"), broken)
    assert violation.urn == group(run).urn
    assert "admits ::/0" in violation.message


@pytest.mark.infra
def test_world_data_store_rule_fails_without_a_security_group_or_when_public() -> None:
    run = run_stack("prod")
    no_group = graph_with_inputs(run, lambda r: r.type == RG, securityGroupIds=[])
    no_group = [dataclasses.replace(r, property_dependencies={}) if r.type == RG else r for r in no_group]
    (violation,) = check_rule(_rule("no-world-data-store"), no_group)
    assert "default group would apply" in violation.message
    public = graph_with_inputs(run, lambda r: r.type == "aws:rds/instance:Instance", publiclyAccessible=True)
    violations = check_rule(_rule("no-world-data-store"), public)
    assert violations
    assert all("publiclyAccessible is true" in v.message for v in violations)


@pytest.mark.infra
def test_preview_section_summarises_without_the_secret() -> None:
    run = run_stack("prod")
    lines = datastore_lines(load_stack_file(PROJECT_DIR / "Pulumi.prod.yaml"), run)
    text = "\n".join(lines)
    assert lines[0].startswith("Valkey 8.0: 2 x cache.r7g.large, failover on, Multi-AZ on, snapshots 7 d")
    assert f"primary {run.outputs['redisPrimaryEndpoint']}:6379" in text
    assert run.outputs["uploadsBucketName"] in text
    assert run.outputs["accessLogBucketName"] in text
    assert run.one(TOKEN, "-cache-auth-token").outputs["result"] not in text
