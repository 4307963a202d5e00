"""The API load balancer on recorded inputs: dev (HTTP only), prod (HTTPS, redirect, deletion protection,
access logs), the security group path clients -> ALB -> pods, and CIDR changes."""

from __future__ import annotations

import copy
import fnmatch
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from offline import ACCOUNT_ID
from tests.support.harness import PROJECT_DIR, RecordedResource, StackRun, run_stack

pytestmark = pytest.mark.infra

LB = "aws:lb/loadBalancer:LoadBalancer"
TG = "aws:lb/targetGroup:TargetGroup"
LISTENER = "aws:lb/listener:Listener"
SG = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
PROD_CERT = "arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"


def alb_variant(stack: str, **changes: Any) -> StackRun:
    document = yaml.safe_load(Path(PROJECT_DIR / f"Pulumi.{stack}.yaml").read_text())
    config = copy.deepcopy(dict(document["config"]))
    config["nexus:alb"] = {**config["nexus:alb"], **changes}
    return run_stack(config, stack=stack)


def alb_rules(run: StackRun, type_: str) -> list[RecordedResource]:
    return [rule for rule in run.by_type(type_) if rule.parent and rule.parent.endswith("-alb")]


def ids(run: StackRun) -> tuple[str, str]:
    """(ALB security group id, workload security group id)."""
    return str(run.one(SG, "alb-sg").id), str(run.one(SG, "network-workload").id)


def test_dev_serves_http_only(dev_run: StackRun) -> None:
    (listener,) = dev_run.by_type(LISTENER)
    target_group = dev_run.one(TG, "alb-api")
    assert listener.inputs["port"] == 80
    assert listener.inputs["protocol"] == "HTTP"
    assert listener.inputs["defaultActions"] == [
        {"type": "forward", "targetGroupArn": target_group.outputs["arn"]}
    ]
    assert dev_run.outputs["url"].startswith("http://")
    assert dev_run.outputs["url"] == f"http://{dev_run.one(LB).outputs['dnsName']}"


def test_dev_load_balancer(dev_run: StackRun) -> None:
    inputs = dev_run.one(LB).inputs
    public = [r for r in dev_run.by_type("aws:ec2/subnet:Subnet") if "-public-" in r.name]
    assert inputs["loadBalancerType"] == "application"
    assert inputs["internal"] is False
    assert sorted(inputs["subnets"]) == sorted(str(subnet.id) for subnet in public)
    assert inputs["securityGroups"] == [ids(dev_run)[0]]
    assert inputs["dropInvalidHeaderFields"] is True
    assert inputs["enableDeletionProtection"] is False
    assert "accessLogs" not in inputs
    assert inputs["idleTimeout"] == 60


def test_prod_https_with_redirect(prod_run: StackRun) -> None:
    listeners = {listener.inputs["port"]: listener.inputs for listener in prod_run.by_type(LISTENER)}
    assert set(listeners) == {80, 443}
    https = listeners[443]
    assert https["protocol"] == "HTTPS"
    assert https["certificateArn"] == PROD_CERT
    # AWS's recommended policy (TLS 1.3 and 1.2 only), spelled out: a test that read it from infra.alb would
    # follow a downgrade.
    assert https["sslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    assert https["defaultActions"] == [
        {"type": "forward", "targetGroupArn": prod_run.one(TG, "alb-api").outputs["arn"]}
    ]
    assert listeners[80]["defaultActions"] == [
        {"type": "redirect", "redirect": {"protocol": "HTTPS", "port": "443", "statusCode": "HTTP_301"}}
    ]
    # The url is the certificate's name (nexus:alb.domainName), not the ALB's own (no certificate covers it).
    assert prod_run.outputs["url"] == "https://api.example.com"
    assert prod_run.outputs["albDnsName"] == prod_run.one(LB).outputs["dnsName"]


def test_prod_deletion_protection_headers_and_access_logs(prod_run: StackRun) -> None:
    lb = prod_run.one(LB)
    bucket = prod_run.one("aws:s3/bucket:Bucket", "alb-logs")
    assert lb.inputs["enableDeletionProtection"] is True
    assert lb.inputs["dropInvalidHeaderFields"] is True
    assert lb.inputs["accessLogs"] == {"enabled": True, "bucket": bucket.outputs["bucket"], "prefix": "alb"}
    # AWS checks the bucket policy when access logs are turned on: the ALB waits for it.
    assert prod_run.one("aws:s3/bucketPolicy:BucketPolicy", "alb-logs-policy").urn in lb.dependencies


def test_elb_may_write_the_test_file_under_the_albs_prefix(prod_run: StackRun) -> None:
    # When logging is turned on, ELB puts <prefix>/AWSLogs/<account>/ELBAccessLogTestFile in the bucket and
    # the create fails with "Access Denied for bucket" unless the bucket policy grants it (ELB user guide).
    lb = prod_run.one(LB)
    bucket = prod_run.one("aws:s3/bucket:Bucket", "alb-logs")
    policy = json.loads(prod_run.one("aws:s3/bucketPolicy:BucketPolicy", "alb-logs-policy").inputs["policy"])
    logs = lb.inputs["accessLogs"]
    test_file = f"{bucket.outputs['arn']}/{logs['prefix']}/AWSLogs/{ACCOUNT_ID}/ELBAccessLogTestFile"
    grants = [
        resource
        for statement in policy["Statement"]
        if statement["Effect"] == "Allow" and statement["Action"] == "s3:PutObject"
        for resource in (
            [statement["Resource"]] if isinstance(statement["Resource"], str) else statement["Resource"]
        )
    ]
    assert any(fnmatch.fnmatchcase(test_file, grant) for grant in grants), (test_file, grants)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_target_group_targets_pod_ips_with_readiness(stack: str) -> None:
    run = run_stack(stack)
    inputs = run.one(TG, "alb-api").inputs
    assert inputs["targetType"] == "ip"
    assert inputs["port"] == 8080
    assert inputs["protocol"] == "HTTP"
    assert inputs["healthCheck"]["path"] == "/readyz"  # the app's readiness route (app/ops)
    assert inputs["healthCheck"]["matcher"] == "200"
    assert inputs["deregistrationDelay"] == {"dev": 15, "prod": 30}[stack]
    # The only target groups the Load Balancer Controller may register pods in carry this tag.
    assert inputs["tags"] == {"nexus.io/target-group-binding": "enabled"}
    assert inputs["vpcId"] == run.one("aws:ec2/vpc:Vpc").id


def test_security_group_path_from_clients_to_pods(prod_run: StackRun) -> None:
    alb_sg, workload_sg = ids(prod_run)
    ingress = {
        (r.inputs["securityGroupId"], r.inputs["fromPort"]): r.inputs for r in alb_rules(prod_run, INGRESS)
    }
    assert ingress[(alb_sg, 80)]["cidrIpv4"] == "0.0.0.0/0"
    assert ingress[(alb_sg, 443)]["cidrIpv4"] == "0.0.0.0/0"
    to_pods = ingress[(workload_sg, 8080)]
    assert to_pods["referencedSecurityGroupId"] == alb_sg
    assert to_pods["toPort"] == 8080
    assert "cidrIpv4" not in to_pods
    (egress,) = alb_rules(prod_run, EGRESS)
    assert egress.inputs["securityGroupId"] == alb_sg
    assert egress.inputs["referencedSecurityGroupId"] == workload_sg
    assert (egress.inputs["fromPort"], egress.inputs["toPort"]) == (8080, 8080)
    assert len(ingress) == 3


def test_dev_opens_only_the_http_port(dev_run: StackRun) -> None:
    alb_sg, _ = ids(dev_run)
    ports = {
        r.inputs["fromPort"] for r in alb_rules(dev_run, INGRESS) if r.inputs["securityGroupId"] == alb_sg
    }
    assert ports == {80}


def test_allowed_cidrs_become_one_rule_each_and_adding_one_keeps_the_rest(dev_run: StackRun) -> None:
    run = alb_variant("dev", allowedCidrs=["0.0.0.0/0", "2001:db8::/32"])
    alb_sg, _ = ids(run)
    rules = {r.name: r for r in alb_rules(run, INGRESS) if r.inputs["securityGroupId"] == alb_sg}
    # The child name is part of the URN: spelled out, so that a change of the key scheme (which would replace
    # every rule) fails here instead of being followed.
    v6 = rules["nexus-dev-alb-in-80-v6-90c2cbc2"].inputs
    assert v6["cidrIpv6"] == "2001:db8::/32"
    assert "cidrIpv4" not in v6
    before = {r.urn: r.inputs for r in alb_rules(dev_run, INGRESS)}
    after = {r.urn: r.inputs for r in alb_rules(run, INGRESS)}
    assert all(after[urn] == inputs for urn, inputs in before.items())


def test_dev_with_a_certificate_switches_to_https_in_place(dev_run: StackRun) -> None:
    run = alb_variant("dev", certificateArn=PROD_CERT)
    http_before = dev_run.one(LISTENER, "alb-http")
    http_after = run.one(LISTENER, "alb-http")
    assert http_before.urn == http_after.urn  # the same listener now redirects: an update, not a new one
    assert http_after.inputs["defaultActions"][0]["type"] == "redirect"
    assert run.one(LISTENER, "alb-https").inputs["certificateArn"] == PROD_CERT
    assert run.outputs["url"].startswith("https://")
