"""AWS name limits on the auto-named resources the stack name flows into: the ALB and its target group (32
characters) and the ElastiCache replication group (40). The provider refuses a longer name in its Check, so a
long stack name must be refused up front, by the config model, with the stack name and what is valid.

Limits and messages are the Terraform AWS provider's (internal/service/elbv2/validate.go validName and
validTargetGroupName; internal/service/elasticache/replication_group.go validateReplicationGroupID) and
Pulumi's auto-namer (sdk/go/common/resource/resource_id.go NewUniqueName), copied here from those sources.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from offline.cloud import Ctx, EmulationError, emulate, lookup
from stacks.preview import main as preview_main
from tests.support.harness import PROJECT_DIR, config_problems, run_stack, stack_config

pytestmark = pytest.mark.infra

LB = "aws:lb/loadBalancer:LoadBalancer"
TG = "aws:lb/targetGroup:TargetGroup"
RG = "aws:elasticache/replicationGroup:ReplicationGroup"


def _ctx(type_: str, logical: str, **inputs: object) -> Ctx:
    urn = f"urn:pulumi:s::p::{type_}::{logical}"
    return Ctx(type=type_, name=logical, urn=urn, inputs=dict(inputs), region="us-east-1")


def _refusal(type_: str, logical: str, **inputs: object) -> str:
    with pytest.raises(EmulationError) as caught:
        emulate(_ctx(type_, logical, **inputs), lookup(type_))
    return str(caught.value)


def test_a_generated_alb_name_over_32_characters_is_refused_by_terraforms_validname() -> None:
    logical = "nexus-staging-eu1-alb-alb"  # 25 + "-" + 7 random = 33
    refusal = _refusal(LB, logical, loadBalancerType="application")
    assert '"name" cannot be longer than 32 characters: "nexus-staging-eu1-alb-alb-' in refusal
    emulate(_ctx(LB, "nexus-staging-eu-alb-alb", loadBalancerType="application"), lookup(LB))  # 32 fits


def test_a_generated_target_group_name_is_refused_by_the_auto_namer() -> None:
    refusal = _refusal(TG, "nexus-staging-eu1-alb-api", port=8080, protocol="HTTP")
    assert "name 'nexus-staging-eu1-alb-api-' plus 7 random chars is longer than maximum length 32" in refusal


def test_explicit_names_get_the_same_validation() -> None:
    assert '"name" cannot end with a hyphen' in _refusal(TG, "tg", name="api-", port=80, protocol="HTTP")
    assert '"name" cannot begin with "internal-"' in _refusal(LB, "lb", name="internal-api")
    refusal = _refusal(RG, "rg", replicationGroupId="1cache--a", description="x")
    assert "replication_group_id must begin with a letter" in refusal
    assert "replication_group_id cannot contain two consecutive hyphens" in refusal


def test_a_generated_replication_group_id_over_40_characters_is_refused() -> None:
    logical = "nexus-" + "s" * 20 + "-cache"  # 32 + "-" + 7 = 40 fits; one more does not
    emulate(_ctx(RG, logical, description="x"), lookup(RG))
    refusal = _refusal(RG, logical + "x", description="x")
    assert f"name '{logical}x-' plus 7 random chars is longer than maximum length 40" in refusal


def test_the_longest_valid_stack_name_deploys_every_name() -> None:
    run = run_stack(stack_config("dev"), stack="abcdefghij")  # 10 characters
    assert run.error is None, run.error
    for type_, limit in ((LB, 32), (TG, 32), (RG, 40)):
        for resource in run.by_type(type_):
            physical = resource.outputs.get("name") or resource.outputs["replicationGroupId"]
            assert len(physical) <= limit


def test_the_checked_names_are_the_names_the_program_registers() -> None:
    # The config check predicts the logical names; if the program renames them, this fails.
    from stacks.capacity import longest_stack_names

    run = run_stack("dev")
    predicted = {name for name, _ in longest_stack_names("nexus-dev").values()}
    registered = {resource.name for type_ in (LB, TG, RG) for resource in run.by_type(type_)}
    assert predicted == registered


def test_a_stack_name_one_character_too_long_is_refused_up_front() -> None:
    problems = config_problems(stack_config("dev"), stack="staging-eu1")
    assert problems == [
        "stack name 'staging-eu1': 1 character(s) too long: the ALB name 'nexus-staging-eu1-alb-alb' plus "
        "Pulumi's 8-character random suffix exceeds AWS's 32; use at most 10 characters: lowercase letters, "
        "digits and single inner hyphens, starting with a letter"
    ]


@pytest.mark.parametrize("stack", ["Dev", "dev_1", "dev--a", "1dev", "dev-"])
def test_a_stack_name_the_aws_names_cannot_hold_is_refused(stack: str) -> None:
    problems = config_problems(stack_config("dev"), stack=stack)
    assert problems[0].startswith(f"stack name {stack!r}: not valid in the AWS names derived from it")


def test_make_preview_exits_1_naming_the_stack(tmp_path: Path) -> None:
    stack_file = tmp_path / "Pulumi.staging-eu1.yaml"
    stack_file.write_text((PROJECT_DIR / "Pulumi.dev.yaml").read_text())
    out, err = io.StringIO(), io.StringIO()
    code = preview_main(["--stack", "staging-eu1", "--config-file", str(stack_file)], out=out, err=err)
    assert code == 1
    assert "stack name 'staging-eu1': 1 character(s) too long" in err.getvalue()
    assert "Traceback" not in err.getvalue()
