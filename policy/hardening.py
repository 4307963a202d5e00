"""Rules of the production hardening (issue 17): alarms that notify, logs that expire, the WAF on the public
ALB, keys with explicit policies, monitored databases, replica windows apart, private endpoints in prod.

Sources are cited next to each rule; the resources they read are the ones infra/ creates (infra/waf.py,
infra/alerting.py, infra/alarms.py, infra/kms.py, infra/db_ops.py, infra/endpoints.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from policy.core import (
    Graph,
    PolicyResource,
    PolicyRule,
    Violation,
    is_prod,
    items_of,
    json_object,
    waits_for,
    whole_number,
)

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
TOPIC = "aws:sns/topic:Topic"
WEB_ACL = "aws:wafv2/webAcl:WebAcl"
WEB_ACL_ASSOCIATION = "aws:wafv2/webAclAssociation:WebAclAssociation"
WEB_ACL_LOGGING = "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration"
LOAD_BALANCER = "aws:lb/loadBalancer:LoadBalancer"
KMS_KEY = "aws:kms/key:Key"
RDS_INSTANCE = "aws:rds/instance:Instance"
VPC = "aws:ec2/vpc:Vpc"
VPC_ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"

MANAGED_GROUPS = ("AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet")
PRIVATE_SERVICES = ("ecr.api", "ecr.dkr", "sts")
"""What a node needs to pull images and get Pod Identity credentials without NAT (the S3 layers go through
the free gateway endpoint)."""


def _alarms_notify(graph: Graph) -> Iterator[Violation]:
    # An alarm without actions changes state in the console and nobody hears of it (CloudWatch user guide,
    # AlarmThatSendsEmail.html: actions are what an alarm does on a state change).
    topics = {topic.urn for topic in graph.by_type(TOPIC)}
    for alarm in graph.by_type(ALARM):
        missing = [key for key in ("alarmActions", "okActions") if not items_of(alarm.inputs.get(key))]
        if missing:
            yield Violation(
                "alarms-notify", alarm.urn, f"no {' and no '.join(missing)}: the alarm notifies nobody"
            )
            continue
        if not set(alarm.property_dependencies.get("alarmActions", ())) & topics:
            yield Violation("alarms-notify", alarm.urn, "its alarm actions name no SNS topic of this stack")


def _log_groups_expire(graph: Graph) -> Iterator[Violation]:
    # pulumi_aws/cloudwatch/log_group.py, docstring of retention_in_days: "If you select 0, the events in the
    # log group are always retained and never expire" (and an absent value means the same).
    for group in graph.by_type(LOG_GROUP):
        days = whole_number(group.inputs.get("retentionInDays"))
        if not days:
            yield Violation("log-groups-expire", group.urn, "no retention: its logs are kept forever")


def _rds_log_groups_precreated(graph: Graph) -> Iterator[Violation]:
    # RDS exports to /aws/rds/instance/<identifier>/<log type> and creates the group itself, without
    # retention, when it does not exist (RDS user guide, USER_LogAccess.Procedural.UploadtoCloudWatch.html).
    # The group names need the identifier before the instance exists, so the program sets it; an instance
    # whose identifier is not known here (auto-named, or unknown at a first preview) is not judged.
    groups = {str(group.inputs.get("name")): group.urn for group in graph.by_type(LOG_GROUP)}
    for instance in graph.by_type(RDS_INSTANCE):
        identifier = instance.inputs.get("identifier")
        exports = [item for item in items_of(instance.inputs.get("enabledCloudwatchLogsExports")) if item]
        if not exports or not identifier:
            continue
        before = waits_for(graph, instance)
        # Log groups the instance waits for whose name is not known here (at a first preview a name can read
        # as unknown) may be any of its groups; a violation needs none to be a candidate.
        unnamed = [
            urn
            for urn in before
            if (found := graph.get(urn)) and found.type == LOG_GROUP and not found.inputs.get("name")
        ]
        for log_type in exports:
            name = f"/aws/rds/instance/{identifier}/{log_type}"
            if groups.get(name) not in before and not unnamed:
                yield Violation(
                    "rds-log-groups-precreated",
                    instance.urn,
                    f"log group {name} is not created before the instance: RDS would create it without "
                    "retention",
                )


def _statements(document: Any) -> list[dict[str, Any]]:
    return [s for s in items_of(json_object(document).get("Statement")) if isinstance(s, dict)]


def _account_root_only(principal: Any) -> bool:
    aws = json_object(principal).get("AWS") if isinstance(principal, dict) else None
    return bool(items_of(aws)) and all(str(arn).endswith(":root") for arn in items_of(aws))


def _kms_key_policies(graph: Graph) -> Iterator[Violation]:
    # A key without a policy gets KMS's default policy: the account root may do everything, so any IAM policy
    # in the account can grant the key (AWS KMS developer guide, key-policy-default.html). A missing policy
    # is caught by checkov's CKV2_AWS_64, which make test runs over every stack's plan (judges/): here a
    # policy can be unknown (at a first preview it embeds the account and role ARNs), so the rule judges the
    # policies it can read.
    for key in graph.by_type(KMS_KEY):
        statements = _statements(key.inputs.get("policy"))
        if not statements:
            continue
        problems = []
        for statement in statements:
            actions = items_of(statement.get("Action"))
            principal = statement.get("Principal")
            # kms:* to the account root is KMS's own delegation to IAM (key-policy-default.html, "Allows
            # access to the AWS account and enables IAM policies"; the account bootstrap's state key keeps
            # it); kms:* to anyone else hands a role the key's administration and use at once.
            if "kms:*" in actions and not _account_root_only(principal):
                problems.append(f"statement {statement.get('Sid', '?')} allows kms:*")
            if principal in ("*", {"AWS": "*"}) and not statement.get("Condition"):
                problems.append(f"statement {statement.get('Sid', '?')} allows any principal unconditioned")
        if not any(
            {"kms:PutKeyPolicy", "kms:Put*", "kms:*"} & set(items_of(s.get("Action"))) for s in statements
        ):
            problems.append("no statement lets an administrator change the policy (kms:Put*)")
        if problems:
            yield Violation("kms-key-policy-explicit", key.urn, "; ".join(problems))


def _prod_waf(graph: Graph) -> Iterator[Violation]:
    associations = graph.by_type(WEB_ACL_ASSOCIATION)
    logged = {
        urn
        for logging in graph.by_type(WEB_ACL_LOGGING)
        for urn in logging.property_dependencies.get("resourceArn", ())
    }
    for lb in graph.by_type(LOAD_BALANCER):
        if lb.inputs.get("internal") or not is_prod(graph, lb):
            continue
        acls = [
            acl
            for association in associations
            if lb.urn in association.property_dependencies.get("resourceArn", ())
            for acl in graph.referenced(association, "webAclArn")
        ]
        if not acls:
            yield Violation("prod-waf-on-public-alb", lb.urn, "an internet-facing prod ALB without a web ACL")
            continue
        for acl in acls:
            rules = items_of(acl.inputs.get("rules"))
            statements = [json_object(rule.get("statement")) for rule in rules if isinstance(rule, dict)]
            groups = {json_object(s.get("managedRuleGroupStatement")).get("name") for s in statements}
            problems = [f"no {group}" for group in MANAGED_GROUPS if group not in groups]
            if not any(s.get("rateBasedStatement") for s in statements):
                problems.append("no rate-based rule")
            if acl.urn not in logged:
                problems.append("no logging configuration")
            if problems:
                yield Violation(
                    "prod-waf-on-public-alb", acl.urn, "the ALB's web ACL has " + ", ".join(problems)
                )


def _prod_rds_monitored(graph: Graph) -> Iterator[Violation]:
    # pulumi_aws/rds/instance.py: monitoring_interval (0 = off), monitoring_role_arn; delete_automated_backups
    # "Whether to remove automated backups immediately after the DB instance is deleted. Default is true."
    for instance in graph.by_type(RDS_INSTANCE):
        if not is_prod(graph, instance):
            continue
        problems = []
        if not whole_number(instance.inputs.get("monitoringInterval")) or not (
            instance.inputs.get("monitoringRoleArn")
            or instance.property_dependencies.get("monitoringRoleArn")
        ):
            problems.append("no Enhanced Monitoring (monitoring_interval and its role)")
        is_replica = bool(instance.property_dependencies.get("replicateSourceDb")) or bool(
            instance.inputs.get("replicateSourceDb")
        )
        if not is_replica and instance.inputs.get("deleteAutomatedBackups") is not False:
            problems.append("automated backups deleted with the instance (delete_automated_backups)")
        if problems:
            yield Violation("prod-rds-monitored", instance.urn, "; ".join(problems))


def _replica_windows_apart(graph: Graph) -> Iterator[Violation]:
    # Maintenance may reboot an instance; a primary and its replicas (or two replicas of it) in the same
    # window could all be down at once (RDS user guide, USER_UpgradeDBInstance.Maintenance.html).
    by_source: dict[str, list[PolicyResource]] = {}
    for instance in graph.by_type(RDS_INSTANCE):
        for source_urn in instance.property_dependencies.get("replicateSourceDb", ()):
            by_source.setdefault(source_urn, []).append(instance)
    for source_urn, replicas in by_source.items():
        primary = graph.get(source_urn)
        windows: dict[str, str] = {}
        if primary is not None and primary.inputs.get("maintenanceWindow"):
            windows[str(primary.inputs["maintenanceWindow"]).lower()] = primary.urn
        for replica in replicas:
            window = str(replica.inputs.get("maintenanceWindow") or "").lower()
            if not window:
                yield Violation("replica-windows-apart", replica.urn, "no maintenance window of its own")
            elif window in windows:
                yield Violation(
                    "replica-windows-apart",
                    replica.urn,
                    f"maintenance window {window} is also {windows[window].rsplit('::', 1)[-1]}'s",
                )
            else:
                windows[window] = replica.urn


def _prod_private_endpoints(graph: Graph) -> Iterator[Violation]:
    endpoints = [e for e in graph.by_type(VPC_ENDPOINT) if e.inputs.get("vpcEndpointType") == "Interface"]
    for vpc in graph.by_type(VPC):
        if not is_prod(graph, vpc):
            continue
        mine = [
            e
            for e in endpoints
            if vpc.urn in e.property_dependencies.get("vpcId", ()) and e.inputs.get("privateDnsEnabled")
        ]
        services = {
            str(e.inputs["serviceName"]).split(".", 3)[-1] for e in mine if e.inputs.get("serviceName")
        }
        # At a first preview a service name can read as unknown (it embeds the region): such an endpoint may
        # be any of the missing ones.
        unnamed = sum(1 for e in mine if not e.inputs.get("serviceName"))
        missing = [service for service in PRIVATE_SERVICES if service not in services]
        if len(missing) > unnamed:
            yield Violation(
                "prod-private-endpoints",
                vpc.urn,
                f"no interface endpoint with private DNS for {', '.join(missing)}: image pulls and "
                "credentials depend on NAT",
            )


HARDENING_RULES: list[PolicyRule] = [
    PolicyRule(
        "alarms-notify",
        "Every CloudWatch alarm notifies an SNS topic of the stack on ALARM and on OK.",
        _alarms_notify,
    ),
    PolicyRule("log-groups-expire", "Every CloudWatch log group has a retention.", _log_groups_expire),
    PolicyRule(
        "rds-log-groups-precreated",
        "Every RDS log export goes to a log group the program creates before the instance.",
        _rds_log_groups_precreated,
    ),
    PolicyRule(
        "kms-key-policy-explicit",
        "Every KMS key policy names administrators who may change it, grants no kms:* and no open "
        "principal (a key without a policy: checkov CKV2_AWS_64 in make test).",
        _kms_key_policies,
    ),
    PolicyRule(
        "prod-waf-on-public-alb",
        "In prod, an internet-facing ALB has a logged web ACL with a rate rule and the AWS common and "
        "known-bad-inputs rule groups.",
        _prod_waf,
    ),
    PolicyRule(
        "prod-rds-monitored",
        "In prod, RDS instances have Enhanced Monitoring and primaries keep automated backups after "
        "deletion.",
        _prod_rds_monitored,
    ),
    PolicyRule(
        "replica-windows-apart",
        "A read replica's maintenance window differs from its primary's and from every sibling's.",
        _replica_windows_apart,
    ),
    PolicyRule(
        "prod-private-endpoints",
        "In prod, the VPC has interface endpoints (private DNS) for ECR api, ECR dkr and STS.",
        _prod_private_endpoints,
    ),
]
