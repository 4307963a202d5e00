"""cfn-lint, AWS's own resource schemas, over every stack's plan as CloudFormation: every finding is fixed
or triaged with a reason and a source, the conversion drops nothing silently, and the judge fails on a plan
broken on purpose."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from judges.cfnlint import TRIAGE
from judges.cloudformation import Coverage, logical_id, to_template
from judges.plan import Plan
from judges.shapes import snake
from judges.table import TABLE, Drop
from judges.triage import Entry, Finding, TriageError, judge, load_triage
from tests.judges.judges_support import BROKEN_STACK, CFN_BREAKS, judged_names

pytestmark = pytest.mark.infra


@pytest.mark.parametrize("stack", judged_names())
def test_every_aws_type_and_input_is_mapped_or_dropped_with_a_reason(
    plans: dict[str, Plan], stack: str
) -> None:
    template, coverage = to_template(plans[stack])
    print(coverage.line(f"CloudFormation ({stack})"))
    assert coverage.unmapped == [], "inputs or types without a mapping and without a listed reason"
    assert all(reason.strip() for reason in coverage.props_dropped.values())
    aws_types = {resource.type for resource in plans[stack]}
    assert aws_types == coverage.types_mapped | set(coverage.types_dropped)
    # Every resource of the plan is in the template, on its own or merged into its parent.
    urns = {body["Metadata"]["PulumiUrn"] for body in template["Resources"].values() if "Metadata" in body}
    urns |= {
        urn
        for body in template["Resources"].values()
        for urn in body.get("Metadata", {}).get("MergedPulumiUrns", [])
    }
    dropped_types = set(coverage.types_dropped)
    assert urns == {resource.urn for resource in plans[stack] if resource.type not in dropped_types}


def test_physical_names_are_the_ones_pulumi_creates(plans: dict[str, Plan]) -> None:
    template, _ = to_template(plans["prod"])
    params = next(
        r
        for r in plans["prod"].by_type("aws:rds/parameterGroup:ParameterGroup")
        if r.name.endswith("shard-a-params")
    )
    body = next(b for b in template["Resources"].values() if b["Metadata"]["PulumiUrn"] == params.urn)
    name = body["Properties"]["DBParameterGroupName"]
    # The logical name plus the provider's 7-character random suffix (the program sets no name).
    assert "name" not in params.inputs
    assert name.startswith(params.name + "-")
    assert len(name) == len(params.name) + 8
    # A name the program sets is the one CloudFormation gets (the instances: their log groups need it).
    primary = next(
        r for r in plans["prod"].by_type("aws:rds/instance:Instance") if r.name.endswith("shard-a-primary")
    )
    body = next(b for b in template["Resources"].values() if b["Metadata"]["PulumiUrn"] == primary.urn)
    assert body["Properties"]["DBInstanceIdentifier"] == primary.inputs["identifier"] == primary.name


def test_merged_resources_land_inside_their_parent(plans: dict[str, Plan]) -> None:
    template, _ = to_template(plans["prod"])
    buckets = [b for b in template["Resources"].values() if b["Type"] == "AWS::S3::Bucket"]
    assert len(buckets) == len(plans["prod"].by_type("aws:s3/bucket:Bucket"))
    for bucket in buckets:
        props = bucket["Properties"]
        assert props["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }
        assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    alb = next(b for b in template["Resources"].values() if b["Type"].endswith("::LoadBalancer"))
    attributes = {a["Key"]: a["Value"] for a in alb["Properties"]["LoadBalancerAttributes"]}
    assert attributes["access_logs.s3.enabled"] == "true"
    assert attributes["access_logs.s3.bucket"].startswith("nexus-prod-alb-logs-")


def test_every_type_row_names_real_sdk_inputs() -> None:
    """The table's Pulumi input names are the installed pulumi-aws SDK's own (no guessed names)."""
    import importlib

    from pulumi._types import input_type_py_to_pulumi_names

    for type_, row in TABLE.items():
        _, module, cls = type_.split(":")
        package, resource_module = module.split("/")
        # The package's class first: importing pulumi-aws's submodule before its lazily loaded package leaves
        # the package without the class (``pulumi_aws.ecr.Repository`` then fails in every later run).
        getattr(importlib.import_module(f"pulumi_aws.{package}"), cls)
        sdk_module = importlib.import_module(f"pulumi_aws.{package}.{snake(resource_module)}")
        # pulumi-aws names a resource's args class ``<Class>InitArgs`` where ``<Class>Args`` is taken.
        args = getattr(sdk_module, f"{cls}InitArgs", None) or getattr(sdk_module, f"{cls}Args")
        names = set(input_type_py_to_pulumi_names(args).values())
        unknown = set(row.cfn.props) - names
        assert not unknown, f"{type_}: {sorted(unknown)} are not inputs of {args.__name__}"
        if "tags" in names and row.cfn.type is not None and row.cfn.merge is None:
            assert row.cfn.tags is not None or "tags" in row.cfn.props, (
                f"{type_}: tags are neither mapped nor dropped"
            )


def test_logical_ids_are_alphanumeric_and_unique() -> None:
    taken: dict[str, Any] = {}
    for name in ("nexus-prod-alb", "nexus.prod_alb", "nexus-prod-alb"):
        taken[logical_id(name, taken)] = True
    assert list(taken) == ["NexusProdAlb", "NexusProdAlb2", "NexusProdAlb3"]


def test_every_triage_entry_has_a_reason_and_a_source(tmp_path: Path) -> None:
    entries = load_triage(TRIAGE)
    assert entries, "the triage file is empty"
    unreasoned = tmp_path / "triage.yaml"
    unreasoned.write_text("- {rule: W1, type: AWS::S3::Bucket, path: BucketName, source: somewhere}\n")
    with pytest.raises(TriageError, match="missing reason"):
        load_triage(unreasoned)


def test_triage_splits_new_accepted_and_stale() -> None:
    entry = Entry(rule="W3010", type="AWS::EC2::Subnet", path="AvailabilityZone", reason="r", source="s")
    stale = Entry(rule="E9999", type="AWS::EC2::Subnet", path="*", reason="r", source="s")
    covered = Finding("dev", "W3010", "AWS::EC2::Subnet", "A", "AvailabilityZone", "hardcoded")
    new = Finding("dev", "W3010", "AWS::EC2::Subnet", "A", "CidrBlock", "other")
    verdict = judge([covered, new], [entry, stale])
    assert verdict.accepted == [(covered, entry)]
    assert verdict.new == [new]
    assert verdict.unused == [stale]
    assert not verdict.ok


def test_cfn_lint_findings_on_every_stack_are_triaged(cfn_findings: list[Finding]) -> None:
    findings = [finding for finding in cfn_findings if not finding.stack.startswith(BROKEN_STACK)]
    verdict = judge(findings, load_triage(TRIAGE))
    counts = {stack: sum(1 for f in findings if f.stack == stack) for stack in judged_names()}
    print(f"cfn-lint findings per stack: {counts}")
    assert not verdict.new, (
        "new cfn-lint findings (fix them or triage them with a reason and a source):\n"
        + "\n".join(finding.describe() for finding in verdict.new)
    )
    assert not verdict.unused, f"stale triage entries (they match nothing): {verdict.unused}"


@pytest.mark.parametrize("broken", CFN_BREAKS, ids=lambda b: b.rule)
def test_cfn_lint_fails_the_plan_broken_on_purpose(
    cfn_findings: list[Finding], plans: dict[str, Plan], broken: Any
) -> None:
    resource = next(r for r in plans["prod"].by_type(broken.type) if r.name.endswith(broken.name_suffix))
    on_it = [f for f in cfn_findings if f.urn == resource.urn]
    fired = [f for f in on_it if f.stack == BROKEN_STACK and f.rule == broken.rule and f.path == broken.path]
    assert fired, f"{broken.what}: cfn-lint said {[(f.stack, f.rule, f.path) for f in on_it]}"
    assert not [f for f in on_it if f.stack == "prod" and f.rule == broken.rule], "fires without the break"
    assert not judge(fired, load_triage(TRIAGE)).accepted, "the triage would hide this break"


def test_dropped_inputs_all_carry_reasons() -> None:
    for type_, row in TABLE.items():
        for key, rule in row.cfn.props.items():
            if isinstance(rule, Drop):
                assert len(rule.reason) > 20, f"{type_}.{key}: give the reason"
        if row.cfn.type is None:
            assert row.cfn.reason, f"{type_}: no CloudFormation type and no reason"


def test_coverage_line_counts() -> None:
    coverage = Coverage(types_mapped={"a"}, props_mapped={("a", "x")}, props_dropped={("a", "y"): "because"})
    assert coverage.line("X") == (
        "X coverage: 1 types mapped, 0 dropped with a reason; 1 inputs mapped, 1 dropped with a reason; "
        "0 unmapped"
    )


def test_the_documented_template_command_writes_a_stack_template() -> None:
    """``python -m judges template --stack dev`` (README): the template on stdout, the coverage on stderr."""
    import io
    import json

    from judges.__main__ import main

    out, err = io.StringIO(), io.StringIO()
    assert main(["template", "--stack", "dev"], out=out, err=err) == 0
    template = json.loads(out.getvalue())
    assert template["AWSTemplateFormatVersion"] == "2010-09-09"
    assert any(body["Type"] == "AWS::RDS::DBInstance" for body in template["Resources"].values())
    assert err.getvalue().startswith("CloudFormation coverage: ")
    assert "0 unmapped" in err.getvalue()


@pytest.mark.parametrize("judge_name", ["cfn-lint", "checkov"])
def test_make_targets_pass_and_print_the_counts_last(
    cfn_findings: Any, checkov_findings: Any, judge_name: str
) -> None:
    """``make cfn-lint`` / ``make checkov`` (``python -m judges <judge>``): exit 0, the finding counts last.

    The session's judge runs (fixtures) fill the per-document cache, so this reuses their results."""
    import io

    from judges.__main__ import main

    out, err = io.StringIO(), io.StringIO()
    status = main([judge_name], out=out, err=err)
    lines = out.getvalue().splitlines()
    assert status == 0, out.getvalue()
    counts = re.fullmatch(
        rf"{judge_name}: \d+ findings \(([a-z, :0-9-]+)\); \d+ triaged, 0 new, 0 stale triage entries",
        lines[-1],
    )
    assert counts, lines[-1]
    # Only stacks with findings are counted; the main stacks have some under both judges.
    assert {"dev", "prod"} <= {part.split(":")[0] for part in counts.group(1).split(", ")}


def test_the_bootstrap_is_judged_by_default_and_its_template_holds_what_it_creates(
    plans: dict[str, Plan],
) -> None:
    """``make cfn-lint``/``make checkov`` judge bootstrap/Pulumi.<stack>.yaml as ``bootstrap-<stack>``; the
    state bucket's configuration and the runner's webhook land inside their CloudFormation parents."""
    import io
    import json

    from judges.__main__ import main, stacks_of

    assert {"dev", "prod", "bootstrap-dev", "bootstrap-prod"} <= set(stacks_of(None))
    out, err = io.StringIO(), io.StringIO()
    assert main(["template", "--stack", "bootstrap-prod"], out=out, err=err) == 0
    assert "0 unmapped" in err.getvalue()
    resources = json.loads(out.getvalue())["Resources"].values()
    (bucket,) = [r["Properties"] for r in resources if r["Type"] == "AWS::S3::Bucket"]
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    (key,) = [r["Properties"] for r in resources if r["Type"] == "AWS::KMS::Key"]
    assert key["EnableKeyRotation"] is True
    assert key["KeySpec"] == "SYMMETRIC_DEFAULT"
    (provider,) = [r["Properties"] for r in resources if r["Type"] == "AWS::IAM::OIDCProvider"]
    assert provider["Url"] == "https://token.actions.githubusercontent.com"
    template, _ = to_template(plans["bootstrap-prod-runner"])
    (project,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::CodeBuild::Project"]
    assert project["Properties"]["Triggers"] == {
        "Webhook": True,
        "BuildType": "BUILD",
        "FilterGroups": [[{"Type": "EVENT", "Pattern": "WORKFLOW_JOB_QUEUED"}]],
    }
    assert len(project["Metadata"]["MergedPulumiUrns"]) == 1  # the webhook
    (group,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::EC2::SecurityGroup"]
    assert group["Properties"]["SecurityGroupEgress"] == [
        {
            "IpProtocol": "tcp",
            "FromPort": 443,
            "ToPort": 443,
            "Description": "GitHub, PyPI, AWS APIs and the EKS endpoint",
            "CidrIp": "0.0.0.0/0",
        }
    ]
