"""Example values in a stack file: listed by a preview, refused by a real `pulumi up` before any resource."""

from __future__ import annotations

import json

import pytest

from stacks.config.placeholders import find_placeholders
from stacks.program import PLACEHOLDER_WARNING
from tests.support.harness import config_problems, run_stack, run_update, stack_config

pytestmark = pytest.mark.infra

REAL_ACCOUNT = "210987654321"
DIGEST = "sha256:" + "ab" * 32


def _real(stack: str) -> dict[str, object]:
    """The stack file with every example value replaced by a plausible real one."""
    config = stack_config(stack)
    cluster = config["nexus:cluster"]
    cluster["adminRoleArns"] = [f"arn:aws:iam::{REAL_ACCOUNT}:role/nexus-{stack}-deploy"]
    if cluster.get("publicAccessCidrs"):
        cluster["publicAccessCidrs"] = ["81.2.69.0/24"]
    if stack == "prod":
        config["nexus:api"]["image"] = (
            f"{REAL_ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/nexus-prod-images@{DIGEST}"
        )
        config["nexus:alb"]["domainName"] = "api.nexus-platform.net"
        config["nexus:alb"]["certificateArn"] = (
            f"arn:aws:acm:us-east-1:{REAL_ACCOUNT}:certificate/1f2e3d4c-5b6a-4978-8a9b-0c1d2e3f4a5b"
        )
    return config


def _key(line: str) -> str:
    return line.split(": ", 1)[0]


@pytest.mark.unit
def test_each_kind_of_example_value_is_found_with_its_key_path() -> None:
    raw = {
        "aws:region": "us-east-1",
        "nexus:cluster": json.dumps(
            {
                "adminRoleArns": ["arn:aws:iam::123456789012:role/a", "arn:aws:iam::111122223333:role/b"],
                "publicAccessCidrs": ["198.51.100.7/32", "10.0.0.0/16", "0.0.0.0/0"],
                "apiAccess": {"cidrs": ["2001:db8:1::/48"]},
            }
        ),
        "nexus:alb": json.dumps({"domainName": "api.example.org", "other": "svc.test"}),
        "nexus:api": json.dumps({"image": "r.example.net/x@sha256:" + "0" * 64}),
    }
    assert {_key(line) for line in find_placeholders(raw)} == {
        "nexus:cluster.adminRoleArns.0",
        "nexus:cluster.adminRoleArns.1",
        "nexus:cluster.publicAccessCidrs.0",
        "nexus:cluster.apiAccess.cidrs.0",
        "nexus:alb.domainName",
        "nexus:alb.other",
        "nexus:api.image",
    }


@pytest.mark.unit
def test_real_looking_values_are_not_placeholders() -> None:
    raw = {
        "aws:region": "eu-west-1",
        "nexus:cluster": json.dumps(
            {"adminRoleArns": [f"arn:aws:iam::{REAL_ACCOUNT}:role/x"], "publicAccessCidrs": ["0.0.0.0/0"]}
        ),
        "nexus:alb": json.dumps({"domainName": "api.examples.com", "allowedCidrs": ["192.0.3.0/24"]}),
        "nexus:network": json.dumps({"cidr": "10.20.0.0/16"}),
    }
    assert find_placeholders(raw) == []


@pytest.mark.parametrize(
    ("stack", "keys"),
    [
        ("dev", ["nexus:cluster.adminRoleArns.0", "nexus:cluster.publicAccessCidrs.0"]),
        (
            "prod",
            [
                "nexus:alb.certificateArn",
                "nexus:alb.domainName",
                "nexus:api.image",
                "nexus:cluster.adminRoleArns.0",
            ],
        ),
    ],
)
def test_a_real_up_of_a_shipped_stack_file_stops_before_any_resource_naming_each_key(
    stack: str, keys: list[str]
) -> None:
    run = run_update(stack)
    assert run.error is not None
    assert run.error.startswith("stack config still holds example values")
    assert not run.resources, "nothing may be registered before the refusal"
    assert sorted(_key(line.strip()) for line in run.error.splitlines()[1:]) == sorted(keys)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_preview_of_a_shipped_stack_file_lists_them_and_runs(stack: str) -> None:
    run = run_stack(stack)
    assert run.error is None
    warned = [entry.message for entry in run.raw.logs if entry.message.startswith(PLACEHOLDER_WARNING)]
    assert len(warned) == len(run_update(stack).error.splitlines()[1:])  # type: ignore[union-attr]
    from stacks.preview import render_text
    from tests.support.harness import PROJECT_DIR

    text = render_text(run, PROJECT_DIR / f"Pulumi.{stack}.yaml")
    assert "Placeholders (replace before pulumi up" in text
    assert "a real `pulumi up` stops before creating anything" in text


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_a_real_up_with_every_example_replaced_registers_the_stack(stack: str) -> None:
    run = run_update(_real(stack), stack=stack)
    assert run.error is None, run.error
    # An update and a preview of the same config record the same resources with the same inputs.
    preview = run_stack(_real(stack), stack=stack)
    assert sorted((r.urn, repr(dict(r.inputs))) for r in run) == sorted(
        (r.urn, repr(dict(r.inputs))) for r in preview
    )


def test_prod_refuses_an_image_without_a_digest_naming_the_key() -> None:
    config = _real("prod")
    config["nexus:api"]["image"] = f"{REAL_ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/nexus-prod-images:v1.2"  # type: ignore[index]
    (line,) = config_problems(config, stack="prod")
    assert line.startswith("nexus:api.image: prod deploys an image by digest, never by a mutable tag; got ")
    assert "@sha256:<64 hex digits>" in line


def test_dev_may_run_a_tag() -> None:
    config = _real("dev")
    config["nexus:api"]["image"] = "nexus-api:latest"  # type: ignore[index]
    assert run_update(config, stack="dev").error is None


def test_the_url_is_the_certificates_name() -> None:
    run = run_update(_real("prod"), stack="prod")
    assert run.outputs["url"] == "https://api.nexus-platform.net"
    config = _real("prod")
    del config["nexus:alb"]["domainName"]  # type: ignore[attr-defined]
    (line,) = config_problems(config, stack="prod")
    assert line.startswith("nexus:alb.domainName: required with nexus:alb.certificateArn")


def test_a_domain_without_a_certificate_is_refused() -> None:
    config = _real("dev")
    config["nexus:alb"]["domainName"] = "api.nexus-platform.net"  # type: ignore[index]
    (line,) = config_problems(config, stack="dev")
    assert line.startswith("nexus:alb.domainName: the url is https://<domainName>, which needs")
