"""checkov's terraform_plan checks, a second opinion no one here wrote, over every stack's plan converted to a
Terraform plan: every failed check is triaged with its reason, and checkov fails a plan broken on purpose."""

from __future__ import annotations

from typing import Any

import pytest

from judges.checkov import TRIAGE
from judges.plan import Plan
from judges.table import TABLE
from judges.terraform import to_plan_json
from judges.triage import Finding, judge, load_triage
from tests.judges.judges_support import (
    BOOTSTRAP_CHECKOV_BREAKS,
    BROKEN_STACK,
    CHECKOV_BREAKS,
    judged_names,
)

pytestmark = pytest.mark.infra


@pytest.mark.parametrize("stack", judged_names())
def test_every_aws_resource_becomes_a_terraform_resource(plans: dict[str, Plan], stack: str) -> None:
    document, gaps = to_plan_json(plans[stack])
    assert gaps == []
    resources = document["planned_values"]["root_module"]["resources"]
    assert len(resources) == len(plans[stack].resources)
    assert len({r["address"] for r in resources}) == len(resources)
    types = {r["type"] for r in resources}
    assert types == {TABLE[resource.type].tf.type for resource in plans[stack]}


def test_terraform_shapes_blocks_maps_and_renamed_attributes(plans: dict[str, Plan]) -> None:
    document, _ = to_plan_json(plans["prod"])
    by_type: dict[str, list[dict[str, Any]]] = {}
    for resource in document["planned_values"]["root_module"]["resources"]:
        by_type.setdefault(resource["type"], []).append(resource["values"])
    sse = by_type["aws_s3_bucket_server_side_encryption_configuration"][0]
    # Pulumi's `rules` is Terraform's `rule` block; a one-item object is a list of one block.
    assert sse["rule"] == [{"apply_server_side_encryption_by_default": [{"sse_algorithm": "AES256"}]}]
    cluster = by_type["aws_eks_cluster"][0]
    assert isinstance(cluster["vpc_config"], list)
    assert cluster["vpc_config"][0]["endpoint_public_access"] is False
    primary = next(v for v in by_type["aws_db_instance"] if v["identifier"] == "nexus-prod-shard-a-primary")
    assert primary["storage_encrypted"] is True
    assert primary["tags_all"]["Stack"] == "prod"  # the provider's default tags merged in
    listener = next(v for v in by_type["aws_lb_listener"] if v["port"] == 80)
    assert listener["default_action"][0]["redirect"][0]["protocol"] == "HTTPS"


def test_references_become_configuration_expressions(plans: dict[str, Plan]) -> None:
    document, _ = to_plan_json(plans["prod"])
    config = {r["address"]: r for r in document["configuration"]["root_module"]["resources"]}
    block = config["aws_s3_bucket_public_access_block.nexus-prod-uploads-public-access"]
    assert "aws_s3_bucket.nexus-prod-uploads" in block["expressions"]["bucket"]["references"]


def test_checkov_failures_on_every_stack_are_triaged(checkov_findings: list[Finding]) -> None:
    findings = [finding for finding in checkov_findings if not finding.stack.startswith(BROKEN_STACK)]
    verdict = judge(findings, load_triage(TRIAGE))
    counts = {stack: sum(1 for f in findings if f.stack == stack) for stack in judged_names()}
    print(f"checkov failed checks per stack: {counts}")
    assert not verdict.new, "new checkov failures (fix them or triage them with a reason):\n" + "\n".join(
        finding.describe() for finding in verdict.new
    )
    assert not verdict.unused, f"stale triage entries (they match nothing): {verdict.unused}"
    assert all(entry.reason and entry.source for entry in load_triage(TRIAGE))


@pytest.mark.parametrize(
    "broken", [*CHECKOV_BREAKS, *BOOTSTRAP_CHECKOV_BREAKS], ids=lambda b: f"{b.base}-{b.rule}"
)
def test_checkov_fails_the_plan_broken_on_purpose(checkov_findings: list[Finding], broken: Any) -> None:
    fired = [
        f
        for f in checkov_findings
        if f.stack == broken.stack and f.rule == broken.rule and f.resource == broken.path
    ]
    assert fired, f"{broken.what}: checkov did not report {broken.rule} on {broken.path}"
    unbroken = [
        f
        for f in checkov_findings
        if f.stack == broken.base and f.rule == broken.rule and f.resource == broken.path
    ]
    assert not unbroken, "fires without the break"
    assert not judge(fired, load_triage(TRIAGE)).accepted, "the triage would hide this break"


def test_the_documented_tfplan_command_writes_a_terraform_plan() -> None:
    """``python -m judges tfplan --stack dev`` (docs/preview.md): the plan on stdout, no gap on stderr."""
    import io
    import json

    from judges.__main__ import main

    out, err = io.StringIO(), io.StringIO()
    assert main(["tfplan", "--stack", "dev"], out=out, err=err) == 0
    document = json.loads(out.getvalue())
    assert document["format_version"].startswith("1.")
    types = {r["type"] for r in document["planned_values"]["root_module"]["resources"]}
    assert {"aws_db_instance", "aws_s3_bucket_public_access_block", "aws_eks_cluster"} <= types
    assert err.getvalue() == ""
