"""The production hardening under the offline engine (issue 17): the web ACL on the ALB, the alarm topic and
every alarm on it, the keys and their policies, log groups that exist before the services write to them,
database monitoring and windows, S3 server access logs, interface endpoints and pod logs; prod by default,
dev opting out where it says so in its stack file."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.db_ops import BACKUP_WINDOW, maintenance_window
from infra.iam_policies import S3_ACCESS_LOG_PREFIX
from infra.waf import MANAGED_RULE_GROUPS
from offline.aws.rds_ops import windows_overlap
from tests.support.harness import StackRun, config_problems, run_stack, stack_config

pytestmark = pytest.mark.infra

ACL = "aws:wafv2/webAcl:WebAcl"
ASSOCIATION = "aws:wafv2/webAclAssociation:WebAclAssociation"
WAF_LOGGING = "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
TOPIC = "aws:sns/topic:Topic"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
KMS_KEY = "aws:kms/key:Key"
INSTANCE = "aws:rds/instance:Instance"
PROXY = "aws:rds/proxy:Proxy"
RG = "aws:elasticache/replicationGroup:ReplicationGroup"
LB = "aws:lb/loadBalancer:LoadBalancer"
ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
ADDON = "aws:eks/addon:Addon"
BUCKET_LOGGING = "aws:s3/bucketLogging:BucketLogging"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"


def _statements(policy: str) -> dict[str, dict[str, Any]]:
    return {statement["Sid"]: statement for statement in json.loads(policy)["Statement"]}


# --- edge: the web ACL ------------------------------------------------------------------------------------


def test_prod_alb_has_a_logged_web_acl_with_rate_limit_and_managed_groups(prod_run: StackRun) -> None:
    acl = prod_run.one(ACL)
    assert acl.inputs["scope"] == "REGIONAL"
    assert acl.inputs["defaultAction"] == {"allow": {}}
    rate, *managed = acl.inputs["rules"]
    assert rate["statement"]["rateBasedStatement"] == {
        "limit": 2000,
        "aggregateKeyType": "IP",
        "evaluationWindowSec": 300,
    }
    assert rate["action"] == {"block": {}}
    assert [r["statement"]["managedRuleGroupStatement"] for r in managed] == [
        {"vendorName": "AWS", "name": group} for group in MANAGED_RULE_GROUPS
    ]
    assert all(r["overrideAction"] == {"none": {}} for r in managed)
    # Metrics for the ACL and every rule, visible in CloudWatch (namespace AWS/WAFV2).
    for visibility in [acl.inputs["visibilityConfig"], *(r["visibilityConfig"] for r in acl.inputs["rules"])]:
        assert visibility["cloudwatchMetricsEnabled"] is True
        assert visibility["sampledRequestsEnabled"] is True
    association = prod_run.one(ASSOCIATION)
    assert association.inputs["resourceArn"] == prod_run.one(LB).outputs["arn"]
    assert association.inputs["webAclArn"] == acl.outputs["arn"]
    logging = prod_run.one(WAF_LOGGING)
    group = prod_run.one(LOG_GROUP, "waf-logs")
    assert group.inputs["name"].startswith("aws-waf-logs-")
    assert logging.inputs["logDestinationConfigs"] == [group.outputs["arn"]]
    assert logging.inputs["redactedFields"] == [{"singleHeader": {"name": "authorization"}}]


def test_rate_limit_comes_from_config_and_dev_has_no_waf(dev_run: StackRun) -> None:
    assert not dev_run.by_type(ACL)
    config = stack_config("prod")
    config["nexus:waf"] = {**config["nexus:waf"], "rateLimit": 500, "rateWindowSeconds": 60}
    rate = run_stack(config, stack="prod").one(ACL).inputs["rules"][0]["statement"]["rateBasedStatement"]
    assert (rate["limit"], rate["evaluationWindowSec"]) == (500, 60)


# --- alarms that notify -----------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_alarm_notifies_the_stacks_topic(stack: str) -> None:
    run = run_stack(stack)
    topic = run.one(TOPIC)
    alarms = run.by_type(ALARM)
    # Per shard: 3 primary + 2 proxy + 4 per replica; the ALB's 4; one memory alarm per cache node.
    config = stack_config(stack)
    replicas = config["nexus:shardDefaults"]["readReplicas"]
    nodes = config["nexus:cache"]["numNodes"]
    assert len(alarms) == len(config["nexus:shards"]) * (5 + 4 * replicas) + 4 + nodes
    for alarm in alarms:
        assert alarm.inputs["alarmActions"] == [topic.outputs["arn"]], alarm.name
        assert alarm.inputs["okActions"] == [topic.outputs["arn"]], alarm.name


def test_alarm_thresholds_come_from_config(prod_run: StackRun) -> None:
    def threshold(run: StackRun, name: str) -> Any:
        return run.one(ALARM, name).inputs["threshold"]

    assert threshold(prod_run, "shard-a-primary-free-storage") == 20 * 1024**3
    assert threshold(prod_run, "shard-a-proxy-borrow-latency") == 100 * 1000  # microseconds
    assert threshold(prod_run, "alb-response-time") == 1.0
    assert prod_run.one(ALARM, "alb-response-time").inputs["extendedStatistic"] == "p99"
    lag = prod_run.one(ALARM, "shard-b-replica-1-replica-lag")
    assert lag.inputs["dimensions"] == {"DBInstanceIdentifier": "nexus-prod-shard-b-replica-1"}
    config = stack_config("prod")
    config["nexus:alarms"] = {**config["nexus:alarms"], "dbCpuPercent": 65, "replicaLagSeconds": 5}
    edited = run_stack(config, stack="prod")
    assert threshold(edited, "shard-a-primary-cpu") == 65
    assert threshold(edited, "shard-b-replica-0-replica-lag") == 5


def test_alb_alarms_use_the_cloudwatch_dimensions(prod_run: StackRun) -> None:
    lb = prod_run.one(LB)
    unhealthy = prod_run.one(ALARM, "alb-unhealthy-hosts")
    assert unhealthy.inputs["namespace"] == "AWS/ApplicationELB"
    assert unhealthy.inputs["dimensions"]["LoadBalancer"] == lb.outputs["arnSuffix"]
    assert unhealthy.inputs["dimensions"]["TargetGroup"].startswith("targetgroup/")


def test_topic_is_encrypted_with_a_key_cloudwatch_may_use(prod_run: StackRun) -> None:
    topic = prod_run.one(TOPIC)
    key = prod_run.one(KMS_KEY, "alerts-key")
    assert topic.inputs["kmsMasterKeyId"] == key.outputs["arn"]
    statements = _statements(key.inputs["policy"])
    assert statements["KeyAdministration"]["Principal"] == {
        "AWS": stack_config("prod")["nexus:cluster"]["adminRoleArns"]
    }
    assert statements["CloudWatchAlarmsPublish"]["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert statements["CloudWatchAlarmsPublish"]["Action"] == ["kms:Decrypt", "kms:GenerateDataKey*"]
    (subscription,) = prod_run.by_type(SUBSCRIPTION)
    assert (subscription.inputs["protocol"], subscription.inputs["endpoint"]) == (
        "email",
        "oncall@example.com",
    )


def test_every_key_has_an_explicit_policy_without_kms_star(prod_run: StackRun) -> None:
    keys = prod_run.by_type(KMS_KEY)
    assert len(keys) == 4  # cluster Secrets, alarm topic, logs, data
    for key in keys:
        statements = _statements(key.inputs["policy"])
        assert "KeyAdministration" in statements, key.name
        assert all("kms:*" not in json.dumps(s["Action"]) for s in statements.values()), key.name
    secrets_key = prod_run.one(KMS_KEY, "secrets-key")
    cluster_role = prod_run.one("aws:iam/role:Role", "cluster-cluster-role")
    assert _statements(secrets_key.inputs["policy"])["ClusterEnvelopeEncryption"]["Principal"] == {
        "AWS": [cluster_role.outputs["arn"]]
    }


# --- logs that expire --------------------------------------------------------------------------------------


def test_database_log_groups_exist_before_the_instances(prod_run: StackRun) -> None:
    for instance in prod_run.by_type(INSTANCE):
        identifier = instance.inputs["identifier"]
        assert identifier == instance.name  # fixed, so the group names are known first
        for log_type in instance.inputs["enabledCloudwatchLogsExports"]:
            group = prod_run.one(LOG_GROUP, f"{identifier}-logs-{log_type}")
            assert group.inputs["name"] == f"/aws/rds/instance/{identifier}/{log_type}"
            assert group.inputs["retentionInDays"] == 365
            assert group.inputs["kmsKeyId"] == prod_run.one(KMS_KEY, "logs-key").outputs["arn"]
            assert group.urn in instance.dependencies
    for proxy in prod_run.by_type(PROXY):
        group = prod_run.one(LOG_GROUP, f"{proxy.name}-logs")
        assert group.inputs["name"] == f"/aws/rds/proxy/{proxy.inputs['name']}"
        assert group.urn in proxy.dependencies


def test_cache_delivers_slow_and_engine_logs(prod_run: StackRun) -> None:
    deliveries = prod_run.one(RG).inputs["logDeliveryConfigurations"]
    assert {d["logType"]: d["destination"] for d in deliveries} == {
        "slow-log": "/aws/elasticache/nexus-prod-cache/slow-log",
        "engine-log": "/aws/elasticache/nexus-prod-cache/engine-log",
    }
    assert all(d["destinationType"] == "cloudwatch-logs" for d in deliveries)


def test_dev_log_groups_expire_sooner_under_its_own_logs_key(dev_run: StackRun) -> None:
    key = dev_run.one(KMS_KEY, "logs-key").outputs["arn"]
    groups = [g for g in dev_run.by_type(LOG_GROUP) if "shard" in g.name or "cache" in g.name]
    assert groups
    assert all(g.inputs["retentionInDays"] == 14 and g.inputs["kmsKeyId"] == key for g in groups)


def test_uploads_bucket_logs_into_the_log_bucket(prod_run: StackRun) -> None:
    logging = prod_run.one(BUCKET_LOGGING)
    uploads = prod_run.one("aws:s3/bucket:Bucket", "uploads")
    log_bucket = prod_run.one("aws:s3/bucket:Bucket", "alb-logs")
    assert logging.inputs["bucket"] == uploads.outputs["bucket"]
    assert logging.inputs["targetBucket"] == log_bucket.outputs["bucket"]
    assert logging.inputs["targetPrefix"] == S3_ACCESS_LOG_PREFIX
    grant = _statements(prod_run.one(BUCKET_POLICY, "alb-logs-policy").inputs["policy"])[
        "AllowS3ServerAccessLogs"
    ]
    assert grant["Condition"]["ArnLike"] == {"aws:SourceArn": uploads.outputs["arn"]}
    assert grant["Resource"] == f"{log_bucket.outputs['arn']}/{S3_ACCESS_LOG_PREFIX}*"


# --- databases ---------------------------------------------------------------------------------------------


def test_prod_databases_are_monitored_encrypted_with_the_data_key_and_keep_backups(
    prod_run: StackRun,
) -> None:
    data_key = prod_run.one(KMS_KEY, "data-key").outputs["arn"]
    for instance in prod_run.by_type(INSTANCE):
        inputs = instance.inputs
        assert inputs["monitoringInterval"] == 60
        assert inputs["monitoringRoleArn"].startswith("arn:aws:iam::")
        assert inputs["performanceInsightsKmsKeyId"] == data_key
        if "replicateSourceDb" not in inputs:
            assert inputs["kmsKeyId"] == data_key
            assert inputs["deleteAutomatedBackups"] is False
            assert inputs["backupWindow"] == BACKUP_WINDOW


def test_dev_databases_are_unmonitored_and_drop_their_backups(dev_run: StackRun) -> None:
    for instance in dev_run.by_type(INSTANCE):
        assert instance.inputs["monitoringInterval"] == 0
        assert "monitoringRoleArn" not in instance.inputs
        assert "kmsKeyId" not in instance.inputs
    primary = dev_run.one(INSTANCE, "shard-a-primary")
    assert primary.inputs["deleteAutomatedBackups"] is True


def test_no_two_instances_of_a_shard_share_a_maintenance_window(prod_run: StackRun) -> None:
    for shard in ("shard-a", "shard-b"):
        windows = [i.inputs["maintenanceWindow"] for i in prod_run.by_type(INSTANCE) if shard in i.name]
        assert len(windows) == 3
        assert len(set(windows)) == 3


def test_maintenance_slots_are_distinct_and_clear_of_the_backup_window() -> None:
    # A primary and up to 15 replicas: 16 slots.
    slots = [maintenance_window(slot) for slot in range(16)]
    assert len(set(slots)) == 16
    assert not any(windows_overlap(BACKUP_WINDOW, slot) for slot in slots)
    assert slots[:2] == ["sun:04:00-sun:04:30", "mon:04:00-mon:04:30"]
    assert slots[7] == "sun:05:00-sun:05:30"


# --- private paths and pod logs ----------------------------------------------------------------------------


def test_prod_has_interface_endpoints_in_the_private_subnets(prod_run: StackRun, dev_run: StackRun) -> None:
    interface = [e for e in prod_run.by_type(ENDPOINT) if e.inputs.get("vpcEndpointType") == "Interface"]
    assert sorted(e.inputs["serviceName"] for e in interface) == sorted(
        f"com.amazonaws.us-east-1.{s}"
        for s in ("ecr.api", "ecr.dkr", "sts", "logs", "secretsmanager", "eks-auth")
    )
    private = sorted(s.id for s in prod_run.by_type("aws:ec2/subnet:Subnet") if "private" in s.name)
    for endpoint in interface:
        assert endpoint.inputs["privateDnsEnabled"] is True
        assert sorted(endpoint.inputs["subnetIds"]) == private
    rule = prod_run.one(
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "endpoints-from-workloads"
    )
    assert (rule.inputs["fromPort"], rule.inputs["toPort"]) == (443, 443)
    assert "cidrIpv4" not in rule.inputs
    assert not [e for e in dev_run.by_type(ENDPOINT) if e.inputs.get("vpcEndpointType") == "Interface"]


def test_prod_ships_pod_logs_with_the_cloudwatch_addon(prod_run: StackRun) -> None:
    addon = prod_run.one(ADDON, "pod-logs-addon")
    assert addon.inputs["addonName"] == "amazon-cloudwatch-observability"
    (association,) = addon.inputs["podIdentityAssociations"]
    assert association["serviceAccount"] == "cloudwatch-agent"
    role = prod_run.one("aws:iam/role:Role", "pod-logs-role")
    assert association["roleArn"] == role.outputs["arn"]
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]["Condition"]["StringEquals"]
    assert trust["aws:RequestTag/kubernetes-namespace"] == "amazon-cloudwatch"
    group = prod_run.one(LOG_GROUP, "pod-logs-application")
    assert group.inputs["name"] == "/aws/containerinsights/nexus-prod-eks/application"
    assert group.urn in addon.dependencies


# --- config: prod by default -------------------------------------------------------------------------------


def test_prod_refuses_to_turn_the_hardening_off() -> None:
    config = stack_config("prod")
    config["nexus:waf"] = {"enabled": False}
    config["nexus:alarms"] = {"emails": []}
    config["nexus:vpcEndpoints"] = {"enabled": False}
    assert config_problems(config, stack="prod") == [
        "nexus:waf.enabled: prod requires it; set it to true",
        "nexus:vpcEndpoints.enabled: prod requires it; set it to true",
        "nexus:alarms.emails: prod alarms must reach someone; add an address "
        "(or nexus:alarms.httpsEndpoints)",
    ]


def test_bad_subscribers_and_bucket_logs_without_the_log_bucket_are_refused() -> None:
    config = stack_config("dev")
    config["nexus:alarms"] = {"emails": ["oncall"], "httpsEndpoints": ["http://pager.example.com/hook"]}
    config["nexus:logs"] = {"bucketAccessLogs": True}
    problems = config_problems(config, stack="dev")
    assert "nexus:alarms.emails: 'oncall' is not an e-mail address such as oncall@example.com" in problems
    assert "nexus:alarms.httpsEndpoints: 'http://pager.example.com/hook' is not an https:// URL" in problems
    config["nexus:alarms"] = {}
    assert config_problems(config, stack="dev") == [
        "nexus:logs.bucketAccessLogs: the uploads bucket logs into the access-log bucket, which exists only "
        "with nexus:storage.accessLogs: true; turn that on or turn this off"
    ]
