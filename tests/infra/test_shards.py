"""Tenant shards under the offline engine: what each shard registers, how the tenant map is built from it, and
that adding a shard, a replica or a tenant touches nothing that exists.

Runs the real program (``__main__.py``) through ``offline`` with the committed stack files and with
config dicts built from them; every assertion reads recorded inputs, options and emulated outputs.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

import pytest

from infra.database import (
    LOG_EXPORTS,
    PASSWORD_VERSION,
    final_snapshot_name,
    parameter_family,
    parameter_settings,
    proxy_secret_policy,
)
from policy import RULES, PolicyResource, Violation, check_rule, from_records
from stacks.changes import CREATE, DELETE, UPDATE, compare
from stacks.config import StackConfig, load
from stacks.config.loader import read_stack_file
from stacks.preview import document
from tests.support.harness import (
    PROJECT_DIR,
    RecordedResource,
    StackRun,
    config_problems,
    run_stack,
    stack_config,
)

pytestmark = pytest.mark.infra

ROOT = PROJECT_DIR
SHARD = "nexus:database:TenantShard"
INSTANCE = "aws:rds/instance:Instance"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"


def three_shards() -> dict[str, Any]:
    """dev plus a shard without replicas and one with three replicas and its own classes and pool."""
    config = stack_config("dev")
    config["nexus:shards"]["shard-c"] = {
        "tenants": ["hooli"],
        "readReplicas": 0,
        "instanceClass": "db.t4g.small",
    }
    config["nexus:shards"]["shard-d"] = {
        "tenants": ["stark", "wayne"],
        "readReplicas": 3,
        "instanceClass": "db.r6g.large",
        "replicaInstanceClass": "db.t4g.large",
        "multiAz": True,
        "proxy": {
            "maxConnectionsPercent": 75,
            "maxIdleConnectionsPercent": 20,
            "connectionBorrowTimeout": 30,
        },
    }
    return config


def validated(stack: str, values: dict[str, Any]) -> StackConfig:
    raw = {key: value if isinstance(value, str) else json.dumps(value) for key, value in values.items()}
    return load(raw, stack=stack)


@pytest.fixture(scope="module")
def runs(dev_run: StackRun, prod_run: StackRun) -> dict[str, tuple[StackRun, StackConfig]]:
    return {
        "dev": (dev_run, load(read_stack_file(ROOT / "Pulumi.dev.yaml"), stack="dev")),
        "prod": (prod_run, load(read_stack_file(ROOT / "Pulumi.prod.yaml"), stack="prod")),
        "three": (run_stack(three_shards(), stack="dev"), validated("dev", three_shards())),
    }


def child(run: StackRun, shard: RecordedResource, type_: str, suffix: str) -> RecordedResource:
    found = [r for r in run.children_of(shard) if r.type == type_ and r.name == f"{shard.name}-{suffix}"]
    assert len(found) == 1, f"{shard.name}: expected one {type_} named -{suffix}, found {len(found)}"
    return found[0]


@pytest.mark.parametrize("which", ["dev", "prod", "three"])
def test_runs_cleanly_and_every_type_is_emulated(
    runs: dict[str, tuple[StackRun, StackConfig]], which: str
) -> None:
    run, config = runs[which]
    assert run.error is None
    assert run.raw.unemulated_types == frozenset()
    assert sorted(r.name for r in run.by_type(SHARD)) == [
        f"nexus-{config.stack}-{s}" for s in sorted(config.shards)
    ]
    # Nothing the program sends to a shard's resource is unknown at update time (no None from the mocks).
    shard_urns = {r.urn for shard in run.by_type(SHARD) for r in run.descendants_of(shard)}
    assert [item for item in run.unknown_inputs() if item[0] in shard_urns] == []


@pytest.mark.parametrize("which", ["dev", "prod", "three"])
def test_primary_settings(runs: dict[str, tuple[StackRun, StackConfig]], which: str) -> None:
    run, config = runs[which]
    for shard_id, shard_config in config.shards.items():
        settings = shard_config.settings
        shard = run.one(SHARD, f"-{shard_id}")
        primary = child(run, shard, INSTANCE, "primary")
        subnets = child(run, shard, "aws:rds/subnetGroup:SubnetGroup", "subnets")
        params = child(run, shard, "aws:rds/parameterGroup:ParameterGroup", "params")
        primary_sg = child(run, shard, "aws:ec2/securityGroup:SecurityGroup", "primary-sg")
        inputs = primary.inputs
        expected = {
            "engine": "postgres",
            "engineVersion": settings.engine_version,
            "autoMinorVersionUpgrade": True,
            "instanceClass": settings.instance_class,
            "dbName": settings.database_name,
            "username": settings.master_username,
            "storageType": "gp3",
            "allocatedStorage": settings.allocated_storage,
            "maxAllocatedStorage": settings.max_allocated_storage,
            "storageEncrypted": True,
            "publiclyAccessible": False,
            "multiAz": settings.multi_az,
            "backupRetentionPeriod": settings.backup_retention_days,
            "copyTagsToSnapshot": True,
            "deletionProtection": config.is_prod,
            "skipFinalSnapshot": False,
            "finalSnapshotIdentifier": final_snapshot_name(shard.name),
            "enabledCloudwatchLogsExports": list(LOG_EXPORTS),
            # RDS for PostgreSQL supports Performance Insights on every class (AWS lists no restriction).
            "performanceInsightsEnabled": True,
            "performanceInsightsRetentionPeriod": 7,
            "port": 5432,
            "passwordWoVersion": PASSWORD_VERSION,
            "dbSubnetGroupName": subnets.outputs["name"],
            "parameterGroupName": params.outputs["name"],
            "vpcSecurityGroupIds": [primary_sg.id],
        }
        assert {key: inputs.get(key) for key in expected} == expected, shard_id
        assert "." not in settings.engine_version  # the major only
        # The password is generated, travels as a secret, and RDS never manages it (that forbids replicas).
        password = child(run, shard, "random:index/randomPassword:RandomPassword", "master-password")
        assert inputs["passwordWo"] == password.outputs["result"]
        assert primary.secret_input("passwordWo")
        assert "password" not in inputs
        assert "manageMasterUserPassword" not in inputs
        assert primary.protect is config.is_prod
        assert primary.provider is not None
        assert primary.provider.endswith("::aws")
        # Subnet group on the isolated subnets; parameter group of the major's family with TLS forced.
        assert subnets.inputs["subnetIds"] == isolated_subnet_ids(run)
        assert params.inputs["family"] == f"postgres{settings.engine_version}"
        assert {p["name"]: p["value"] for p in params.inputs["parameters"]} == parameter_settings()
        assert "name" not in params.inputs  # auto-named: a family change creates the new group first
        assert params.record.delete_before_replace in (None, False)


def isolated_subnet_ids(run: StackRun) -> list[str]:
    return [r.id for r in run.by_type("aws:ec2/subnet:Subnet") if "-isolated-" in r.name]


@pytest.mark.parametrize("which", ["dev", "prod", "three"])
def test_replicas_point_at_their_primary(runs: dict[str, tuple[StackRun, StackConfig]], which: str) -> None:
    run, config = runs[which]
    for shard_id, shard_config in config.shards.items():
        settings = shard_config.settings
        shard = run.one(SHARD, f"-{shard_id}")
        primary = child(run, shard, INSTANCE, "primary")
        replicas = [r for r in run.children_of(shard) if r.type == INSTANCE and r.name != primary.name]
        assert sorted(r.name for r in replicas) == sorted(
            f"{shard.name}-replica-{i}" for i in range(settings.read_replicas)
        )
        params = child(run, shard, "aws:rds/parameterGroup:ParameterGroup", "params")
        for replica in replicas:
            inputs = replica.inputs
            assert primary.outputs["arn"]  # emulated: never None
            # By ARN: the replica also names a subnet group, and RDS then refuses an identifier.
            assert inputs["replicateSourceDb"] == primary.outputs["arn"]
            assert inputs["dbSubnetGroupName"]
            assert primary.urn in replica.dependencies
            assert inputs["instanceClass"] == shard_config.replica_instance_class
            assert inputs["performanceInsightsEnabled"] is True  # decided by the replica's own class
            assert inputs["parameterGroupName"] == params.outputs["name"]
            assert inputs["storageEncrypted"] is True
            assert inputs["publiclyAccessible"] is False
            assert inputs["deletionProtection"] is config.is_prod
            assert inputs["skipFinalSnapshot"] is True  # RDS takes no final snapshot of a replica
            assert inputs["vpcSecurityGroupIds"] == [
                child(run, shard, "aws:ec2/securityGroup:SecurityGroup", "replicas-sg").id
            ]
            for key in (
                "engine",
                "engineVersion",
                "username",
                "passwordWo",
                "dbName",
                "manageMasterUserPassword",
            ):
                assert key not in inputs, f"{replica.name} sets {key}; a replica inherits it from its source"
            assert replica.protect is config.is_prod


@pytest.mark.parametrize("which", ["dev", "prod", "three"])
def test_proxy_targets_the_primary_with_the_shard_secret(
    runs: dict[str, tuple[StackRun, StackConfig]], which: str
) -> None:
    run, config = runs[which]
    for shard_id, shard_config in config.shards.items():
        pool = shard_config.settings.proxy
        shard = run.one(SHARD, f"-{shard_id}")
        primary = child(run, shard, INSTANCE, "primary")
        proxy = child(run, shard, "aws:rds/proxy:Proxy", "proxy")
        secret = child(run, shard, "aws:secretsmanager/secret:Secret", "master-secret")
        app_secret = child(run, shard, "aws:secretsmanager/secret:Secret", "app-secret")
        role = child(run, shard, "aws:iam/role:Role", "proxy-role")
        proxy_sg = child(run, shard, "aws:ec2/securityGroup:SecurityGroup", "proxy-sg")
        assert proxy.inputs["engineFamily"] == "POSTGRESQL"
        assert proxy.inputs["requireTls"] is True
        assert proxy.inputs["roleArn"] == role.outputs["arn"]
        assert proxy.inputs["vpcSubnetIds"] == isolated_subnet_ids(run)
        assert proxy.inputs["vpcSecurityGroupIds"] == [proxy_sg.id]
        assert proxy.inputs["idleClientTimeout"] == pool.idle_client_timeout
        # Two logins through the proxy: the master (the migrations) and the app role (the API, the worker).
        assert proxy.inputs["auths"] == [
            {
                "authScheme": "SECRETS",
                "secretArn": login.outputs["arn"],
                "iamAuth": "DISABLED",
                "clientPasswordAuthType": "POSTGRES_SCRAM_SHA_256",
                "description": f"{who} of the shard",
            }
            for login, who in ((secret, "Master user"), (app_secret, "App role"))
        ]
        target_group = child(
            run, shard, "aws:rds/proxyDefaultTargetGroup:ProxyDefaultTargetGroup", "proxy-pool"
        )
        assert target_group.inputs["dbProxyName"] == proxy.outputs["name"]
        assert target_group.inputs["connectionPoolConfig"] == {
            "maxConnectionsPercent": pool.max_connections_percent,
            "maxIdleConnectionsPercent": pool.max_idle_connections_percent,
            "connectionBorrowTimeout": pool.connection_borrow_timeout,
        }
        target = child(run, shard, "aws:rds/proxyTarget:ProxyTarget", "proxy-target")
        assert target.inputs == {
            "dbProxyName": proxy.outputs["name"],
            "targetGroupName": target_group.outputs["name"],
            "dbInstanceIdentifier": primary.outputs["identifier"],
        }
        # Each secret holds what RDS Proxy reads, written write-only and as a secret.
        for kind, login, username in (
            ("master", secret, shard_config.settings.master_username),
            ("app", app_secret, "nexus_app"),
        ):
            version = child(
                run, shard, "aws:secretsmanager/secretVersion:SecretVersion", f"{kind}-secret-value"
            )
            password = child(run, shard, "random:index/randomPassword:RandomPassword", f"{kind}-password")
            assert version.inputs["secretId"] == login.id
            assert json.loads(version.inputs["secretStringWo"]) == {
                "username": username,
                "password": password.outputs["result"],
            }
            assert version.secret_input("secretStringWo")
            assert "secretString" not in version.inputs
            assert version.urn in proxy.dependencies  # the proxy validates a secret that has a value
            assert login.protect is config.is_prod
            assert login.inputs["recoveryWindowInDays"] == (7 if config.is_prod else 0)
        # The role reads just these two secrets; rendered policy as sent.
        policy = child(run, shard, "aws:iam/rolePolicy:RolePolicy", "proxy-secret-access")
        assert policy.inputs["role"] == role.id
        document = json.loads(policy.inputs["policy"])
        assert document == json.loads(
            proxy_secret_policy([secret.outputs["arn"], app_secret.outputs["arn"]], config.region)
        )
        assert sorted(document["Statement"][0]["Resource"]) == sorted(
            [secret.outputs["arn"], app_secret.outputs["arn"]]
        )
        assert json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]["Principal"] == {
            "Service": "rds.amazonaws.com"
        }


def test_secret_policy_grants_one_secret_and_scoped_decrypt() -> None:
    document = json.loads(proxy_secret_policy("arn:aws:secretsmanager:eu-west-1:1:secret:s-abc", "eu-west-1"))
    read, decrypt = document["Statement"]
    assert read["Resource"] == "arn:aws:secretsmanager:eu-west-1:1:secret:s-abc"
    assert set(read["Action"]) == {"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"}
    assert decrypt["Action"] == "kms:Decrypt"
    assert decrypt["Condition"]["StringEquals"] == {
        "kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com",
        "kms:EncryptionContext:SecretARN": "arn:aws:secretsmanager:eu-west-1:1:secret:s-abc",
    }


@pytest.mark.parametrize("which", ["dev", "prod", "three"])
def test_security_groups_admit_groups_only(runs: dict[str, tuple[StackRun, StackConfig]], which: str) -> None:
    run, config = runs[which]
    workload = run.one("aws:ec2/securityGroup:SecurityGroup", "-workload")
    for shard_id, shard_config in config.shards.items():
        shard = run.one(SHARD, f"-{shard_id}")
        sgs = {
            r.name.removeprefix(f"{shard.name}-"): r
            for r in run.children_of(shard)
            if r.type.endswith(":SecurityGroup")
        }
        has_replicas = shard_config.settings.read_replicas > 0
        assert set(sgs) == (
            {"proxy-sg", "primary-sg", "replicas-sg"} if has_replicas else {"proxy-sg", "primary-sg"}
        )
        rules = {
            (
                r.inputs["securityGroupId"],
                r.inputs["referencedSecurityGroupId"],
                r.inputs["fromPort"],
                r.inputs["toPort"],
            )
            for r in run.children_of(shard)
            if r.type == INGRESS
        }
        expected = {
            (sgs["proxy-sg"].id, workload.id, 5432, 5432),
            (sgs["primary-sg"].id, sgs["proxy-sg"].id, 5432, 5432),
        }
        if has_replicas:
            expected.add((sgs["replicas-sg"].id, workload.id, 5432, 5432))
        assert rules == expected
        # The primary admits the proxy and nothing else: no rule from the workload group to it.
        assert not any(rule[0] == sgs["primary-sg"].id and rule[1] == workload.id for rule in rules)
        (egress,) = [r for r in run.children_of(shard) if r.type == EGRESS]
        assert (egress.inputs["securityGroupId"], egress.inputs["referencedSecurityGroupId"]) == (
            sgs["proxy-sg"].id,
            sgs["primary-sg"].id,
        )
        for rule in run.children_of(shard):
            if rule.type in (INGRESS, EGRESS):
                assert "cidrIpv4" not in rule.inputs
                assert "cidrIpv6" not in rule.inputs
                assert rule.inputs["ipProtocol"] == "tcp"


@pytest.mark.parametrize("which", ["dev", "prod", "three"])
def test_every_child_is_parented_and_named_from_the_shard(
    runs: dict[str, tuple[StackRun, StackConfig]], which: str
) -> None:
    run, config = runs[which]
    for shard_id, shard_config in config.shards.items():
        shard = run.one(SHARD, f"-{shard_id}")
        descendants = run.descendants_of(shard)
        # 19 fixed children (the app role's password, secret and its value among them), the primary's two
        # log groups and the proxy's one, 3 primary and 2 proxy alarms; with Enhanced Monitoring its role and
        # policy attachment; replicas add their group and its rule once, and per replica the instance, its
        # two log groups and 4 alarms (infra/db_ops.py, infra/alarms.py).
        replicas = shard_config.settings.read_replicas
        monitoring = 2 if config.logs.enhanced_monitoring_seconds else 0
        assert len(descendants) == 19 + 3 + 5 + monitoring + (2 + 7 * replicas if replicas else 0)
        for resource in descendants:
            assert resource.parent == shard.urn
            assert resource.name.startswith(f"{shard.name}-")


@pytest.mark.parametrize("which", ["dev", "prod", "three"])
def test_tenant_map_output_is_built_from_the_shards(
    runs: dict[str, tuple[StackRun, StackConfig]], which: str
) -> None:
    run, config = runs[which]
    tenant_map = run.outputs["tenantMap"]
    assert tenant_map["version"] == 1
    assert tenant_map["defaultShard"] == config.default_shard
    assert tenant_map["tenants"] == config.tenant_shards()
    assert sorted(tenant_map["shards"]) == sorted(config.shards)
    for shard_id, shard_config in config.shards.items():
        shard = run.one(SHARD, f"-{shard_id}")
        proxy = child(run, shard, "aws:rds/proxy:Proxy", "proxy")
        app_secret = child(run, shard, "aws:secretsmanager/secret:Secret", "app-secret")
        replicas = sorted(
            (r for r in run.children_of(shard) if r.type == INSTANCE and "-replica-" in r.name),
            key=lambda r: int(r.name.rsplit("-", 1)[1]),
        )
        readers = [r.outputs["address"] for r in replicas] or [proxy.outputs["endpoint"]]
        entry = tenant_map["shards"][shard_id]
        assert entry == {
            "writer": {"host": proxy.outputs["endpoint"], "port": 5432},
            "readers": [{"host": host, "port": 5432} for host in readers],
            "database": shard_config.settings.database_name,
            "readerDatabase": shard_config.settings.database_name,
            # The app role for the API and the worker; the master user, the owner, for the migrations only.
            "username": "nexus_app",
            "passwordEnv": "NEXUS_DB_PASSWORD_" + shard_id.upper().replace("-", "_"),
            "secretArn": app_secret.outputs["arn"],
            "ownerUsername": shard_config.settings.master_username,
            "ownerPasswordEnv": "NEXUS_DB_OWNER_PASSWORD_" + shard_id.upper().replace("-", "_"),
        }
        assert run.outputs["shards"][shard_id]["writer"] == proxy.outputs["endpoint"]
        assert run.outputs["shards"][shard_id]["readers"] == readers
    # No password in any export; the component carries it as a secret for the workloads.
    assert "password" not in json.dumps(run.outputs["shards"])
    for shard in run.by_type(SHARD):
        assert "password" in shard.record.component_outputs
        assert _is_secret(shard.record.component_outputs["password"])


def _is_secret(value: Any) -> bool:
    from pulumi.runtime.rpc import is_rpc_secret

    return bool(is_rpc_secret(value))


# --- adding things touches nothing that exists ---------------------------------------------------------


def _tenant_map_consumers(run: StackRun) -> set[str]:
    """URNs whose inputs embed the tenant map (JSON text or object), and the resources that depend on those
    directly (a migration Job named after the map's digest, Deployments rolling with it)."""
    tenant_map = run.outputs["tenantMap"]
    carriers = {
        resource.urn
        for resource in run
        if any(value == tenant_map or _same_json(value, tenant_map) for value in _values(resource.inputs))
    }
    return carriers | {resource.urn for resource in run if carriers & set(resource.dependencies)}


def _values(value: Any) -> list[Any]:
    found = [value]
    if isinstance(value, Mapping):
        for item in value.values():
            found.extend(_values(item))
    elif isinstance(value, list | tuple):
        for item in value:
            found.extend(_values(item))
    return found


def _same_json(value: Any, tenant_map: Any) -> bool:
    if not isinstance(value, str) or not value.startswith("{"):
        return False
    try:
        return bool(json.loads(value) == tenant_map)
    except ValueError:
        return False


def _other_options(resource: RecordedResource) -> dict[str, Any]:
    """The options the preview document does not list (it holds protect, parent, dependencies and
    ignoreChanges, which stacks.changes compares)."""
    record = resource.record
    return {
        "provider": record.provider,
        "deleteBeforeReplace": record.delete_before_replace,
        "aliases": list(record.aliases),
    }


def assert_untouched(before: StackRun, after: StackRun) -> set[str]:
    """Every resource of ``before`` is in ``after`` under its URN with the same inputs and options, except
    the consumers of the tenant map and of the added resources. Returns the URNs new in ``after``.

    The comparison is the change view's (stacks.changes), on documents that keep secret values so that a
    changed password counts."""
    assert before.error is None
    assert after.error is None
    changes = compare(document(before, masked=False), document(after, masked=False))
    missing = sorted(changes.urns(DELETE))
    assert missing == [], f"existing resources disappeared or were renamed: {missing}"
    added = changes.urns(CREATE)
    new = {r.urn: r for r in after}
    # What consumes the map, or takes an input from the added resources (the workloads' Secret with the new
    # shard's password, a policy naming the new shard's secret), changes with them by design.
    consumers = (
        _tenant_map_consumers(before)
        | _tenant_map_consumers(after)
        | {urn for urn, resource in new.items() if added & set(resource.dependencies)}
    )
    changed = (
        changes.urns(UPDATE)
        | {step.urn for step in changes.steps if step.options}
        | {r.urn for r in before if _other_options(r) != _other_options(new[r.urn])}
    )
    assert sorted(changed - consumers) == [], f"existing resources changed: {sorted(changed - consumers)}"
    # Whatever consumes the map may change with it, but no database or network resource is among them.
    protected_trees = [r for r in before if r.type in (SHARD, "nexus:network:Network")]
    infrastructure = {r.urn for tree in protected_trees for r in before.descendants_of(tree)}
    assert sorted(changed & infrastructure) == []
    return added


def test_adding_a_shard_only_adds_that_shard(dev_run: StackRun) -> None:
    config = stack_config("dev")
    config["nexus:shards"]["shard-c"] = {"tenants": ["hooli"]}
    after = run_stack(config, stack="dev")
    added = assert_untouched(dev_run, after)
    component = after.one(SHARD, "-shard-c")
    assert added == {component.urn} | {r.urn for r in after.descendants_of(component)}
    assert after.outputs["tenantMap"]["tenants"]["hooli"] == "shard-c"
    assert (
        after.outputs["tenantMap"]["shards"]["shard-a"] == dev_run.outputs["tenantMap"]["shards"]["shard-a"]
    )
    assert after.outputs["tenantMap"] != dev_run.outputs["tenantMap"]


def test_adding_or_moving_a_tenant_changes_only_the_map(dev_run: StackRun) -> None:
    config = stack_config("dev")
    config["nexus:shards"]["shard-a"]["tenants"].append("hooli")  # a new tenant
    config["nexus:shards"]["shard-a"]["tenants"].remove("globex")  # a move ...
    config["nexus:shards"]["shard-b"]["tenants"].append("globex")  # ... to shard-b
    after = run_stack(config, stack="dev")
    assert assert_untouched(dev_run, after) == set()
    assert after.outputs["tenantMap"]["tenants"] == {
        **dev_run.outputs["tenantMap"]["tenants"],
        "hooli": "shard-a",
        "globex": "shard-b",
    }
    assert after.outputs["tenantMap"]["shards"] == dev_run.outputs["tenantMap"]["shards"]


def test_adding_a_replica_only_adds_that_replica(dev_run: StackRun) -> None:
    config = stack_config("dev")
    config["nexus:shards"]["shard-a"]["readReplicas"] = 2
    after = run_stack(config, stack="dev")
    added = assert_untouched(dev_run, after)
    replica = "nexus-dev-shard-a-replica-1"
    assert sorted(after.get(urn).name for urn in added) == sorted(
        [
            replica,
            f"{replica}-logs-postgresql",
            f"{replica}-logs-upgrade",
            *(f"{replica}-{alarm}" for alarm in ("free-storage", "cpu", "connections", "replica-lag")),
        ]
    )
    assert len(after.outputs["tenantMap"]["shards"]["shard-a"]["readers"]) == 2


# --- bad shard configs stop the run before any resource ------------------------------------------------


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda shards: shards["shard-b"]["tenants"].append("acme"),
            "nexus:shards.shard-b.tenants: tenant 'acme' is already in shard 'shard-a'",
        ),
        (
            lambda shards: shards["shard-a"].update(readReplicas=16),
            "nexus:shards.shard-a.readReplicas: Input should be less than or equal to 15",
        ),
        (
            lambda shards: shards["shard-a"].update(instanceClass="db.r9z.huge"),
            "nexus:shards.shard-a.instanceClass: unknown RDS instance class 'db.r9z.huge'",
        ),
        (
            lambda shards: shards["shard-b"].update(tenants=[]),
            "nexus:shards.shard-b.tenants: a shard needs at least one tenant",
        ),
        (
            lambda shards: shards["shard-a"].update(
                instanceClass="db.t4g.micro", replicaInstanceClass="db.t4g.large"
            ),
            "nexus:shards.shard-a.instanceClass: writer connections over budget",
        ),
    ],
    ids=["tenant-in-two-shards", "16-replicas", "unknown-class", "no-tenants", "budget"],
)
def test_bad_shard_config_fails_before_any_resource(change: Any, expected: str) -> None:
    config = stack_config("dev")
    config["nexus:api"]["maxReplicas"] = 30 if "budget" in expected else config["nexus:api"]["maxReplicas"]
    change(config["nexus:shards"])
    problems = config_problems(config, stack="dev")  # also asserts that nothing was registered
    assert any(expected in line for line in problems), problems


# --- the shard policy rules hold, and each can fail -------------------------------------------------------


def _broken(run: StackRun, type_: str, **changes: Any) -> tuple[list[PolicyResource], str]:
    """The run's graph with the first resource of ``type_`` changed: its inputs updated, options replaced."""
    resources = from_records(run)
    target = next(r for r in resources if r.type == type_)
    inputs = {**target.inputs, **changes.pop("inputs", {})}
    edited = [
        dataclasses.replace(r, inputs=inputs, **changes) if r.urn == target.urn else r for r in resources
    ]
    return edited, target.urn


def _rule_violations(name: str, resources: list[PolicyResource]) -> list[Violation]:
    return check_rule(next(rule for rule in RULES if rule.name == name), resources)


@pytest.mark.parametrize("name", ["rds-encrypted-private", "rds-proxy-requires-tls", "prod-rds-protected"])
def test_shard_rules_hold_on_dev_prod_and_three_shards(
    runs: dict[str, tuple[StackRun, StackConfig]], name: str
) -> None:
    for run, _ in runs.values():
        assert _rule_violations(name, from_records(run)) == []


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"storageEncrypted": False}, "storage is not encrypted"),
        ({"publiclyAccessible": True}, "publicly accessible"),
        ({"manageMasterUserPassword": True}, "forbids read replicas"),
    ],
)
def test_rds_encrypted_private_fails_on_a_broken_instance(
    prod_run: StackRun, inputs: dict[str, Any], message: str
) -> None:
    broken, urn = _broken(prod_run, INSTANCE, inputs=inputs)
    violations = _rule_violations("rds-encrypted-private", broken)
    assert [v.urn for v in violations] == [urn]
    assert message in violations[0].message


def test_rds_proxy_rule_fails_without_tls(prod_run: StackRun) -> None:
    broken, urn = _broken(prod_run, "aws:rds/proxy:Proxy", inputs={"requireTls": False})
    assert [v.urn for v in _rule_violations("rds-proxy-requires-tls", broken)] == [urn]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"protect": False}, "the protect option"),
        ({"inputs": {"deletionProtection": False}}, "RDS deletion protection"),
    ],
)
def test_prod_rds_protected_fails_on_an_unprotected_prod_instance(
    prod_run: StackRun, dev_run: StackRun, changes: dict[str, Any], message: str
) -> None:
    broken, urn = _broken(prod_run, INSTANCE, **changes)
    violations = _rule_violations("prod-rds-protected", broken)
    assert [v.urn for v in violations] == [urn]
    assert message in violations[0].message
    # dev's unprotected instances are fine: the rule reads the Environment tag from the provider.
    assert _rule_violations("prod-rds-protected", from_records(dev_run)) == []


def test_preview_prints_the_connection_budget() -> None:
    import io

    from stacks.preview import main as preview

    out = io.StringIO()
    assert preview(["--stack", "dev"], out=out, err=io.StringIO()) == 0
    text = out.getvalue()
    section = text[text.index("Connection budget per shard") :]
    # dev: (4 API pods x 1 process + 2 queue workers) x pool 5 = 30 on each side of each shard.
    config = load(read_stack_file(ROOT / "Pulumi.dev.yaml"), stack="dev")
    expected = (
        config.api.max_replicas * config.api.worker_processes + config.worker.max_replicas
    ) * config.api.db_pool_size
    writer = next(line for line in section.splitlines() if "shard-a" in line and "writer (proxy)" in line)
    assert writer.split()[4] == str(expected)
    assert any("shard-b" in line and "reader x1" in line for line in section.splitlines())


def test_generated_password_avoids_what_rds_refuses(prod_run: StackRun) -> None:
    for password in prod_run.by_type("random:index/randomPassword:RandomPassword"):
        if not password.name.endswith("-master-password"):
            continue
        assert password.inputs["length"] >= 32
        assert password.inputs["special"] is True
        assert not set(password.inputs["overrideSpecial"]) & set('/@" ')
        # The emulated result honours the settings, and RDS would accept it.
        assert not set(password.outputs["result"]) & set('/@" ')


@pytest.mark.parametrize(
    ("version", "family"), [("16", "postgres16"), ("14", "postgres14"), ("17.2", "postgres17")]
)
def test_parameter_family_follows_the_major(version: str, family: str) -> None:
    assert parameter_family(version) == family


def test_parameter_family_refuses_a_non_numeric_version() -> None:
    with pytest.raises(ValueError, match="major version"):
        parameter_family("latest")


def test_performance_insights_is_decided_per_instance_class() -> None:
    # A big primary with small replicas: each instance is checked by its own class (RDS checks each
    # CreateDBInstance / CreateDBInstanceReadReplica call), and RDS for PostgreSQL supports every class.
    config = stack_config("dev")
    config["nexus:shards"]["shard-a"].update(
        {"instanceClass": "db.r6g.large", "replicaInstanceClass": "db.t4g.micro", "readReplicas": 1}
    )
    run = run_stack(config, stack="pi")
    shard = run.one(SHARD, "-shard-a")
    primary, replica = child(run, shard, INSTANCE, "primary"), child(run, shard, INSTANCE, "replica-0")
    assert (primary.inputs["instanceClass"], primary.inputs["performanceInsightsEnabled"]) == (
        "db.r6g.large",
        True,
    )
    assert (replica.inputs["instanceClass"], replica.inputs["performanceInsightsEnabled"]) == (
        "db.t4g.micro",
        True,
    )
