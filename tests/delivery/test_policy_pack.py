"""The policy pack without the CLI: its policies run on every stack as the engine would describe it.

Each stack file is run by the offline engine and rebuilt as ``AnalyzeStack`` input (engine_view.py), at two
moments: the state after ``pulumi up`` and the first preview of a new stack (computed values unknown). The
pack must be green on both, report exactly what the rules report, and catch broken graphs.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from pulumi_policy import (
    EnforcementLevel,
    PolicyProviderResource,
    PolicyResource,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import (
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_STRING_VALUE,
    UnknownValueError,
    unknown_checking_proxy,
)

from policy import RULES, check_all
from policy_pack.policies import build_policies, plain, rule_resources
from tests.delivery.engine_view import Moment, default_provider_urn, stack_args
from tests.support.harness import PROJECT_DIR, STACK_FILES, run_stack

pytestmark = pytest.mark.infra

STACKS = [path.stem.removeprefix("Pulumi.") for path in STACK_FILES]
MOMENTS: list[Moment] = ["state", "preview"]
RDS_INSTANCE = "aws:rds/instance:Instance"
SSE_CONFIG = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
K8S_SECRET = "kubernetes:core/v1:Secret"
K8S_CONFIG_MAP = "kubernetes:core/v1:ConfigMap"

Report = tuple[str, str, str | None]  # policy name, message, URN


def run_pack(args: StackValidationArgs) -> list[Report]:
    """Every policy of the pack over one stack; what each reported."""
    reports: list[Report] = []
    for policy in build_policies():
        assert isinstance(policy, StackValidationPolicy)

        def report(message: str, urn: str | None = None, name: str = policy.name) -> None:
            reports.append((name, message, urn))

        policy.validate(args, report)
    return reports


def _replace(
    args: StackValidationArgs, match: Callable[[PolicyResource], bool], **props: Any
) -> StackValidationArgs:
    """A copy of the stack where matching resources get some props changed (None removes the prop)."""
    resources = []
    hits = 0
    for resource in args.resources:
        if match(resource):
            hits += 1
            current = plain(resource.props)
            changed = {k: v for k, v in {**current, **props}.items() if v is not None}
            resource = PolicyResource(
                resource.resource_type,
                unknown_checking_proxy(changed),
                resource.urn,
                resource.name,
                resource.opts,
                resource.provider,
                resource.parent,
                resource.dependencies,
                resource.property_dependencies,
            )
        resources.append(resource)
    assert hits, "the edit matched nothing"
    return StackValidationArgs(resources)


def _first(args: StackValidationArgs, type_: str) -> PolicyResource:
    return next(r for r in args.resources if r.resource_type == type_)


# --- the pack is the rules ---------------------------------------------------------------------------------


def test_the_pack_has_one_stack_policy_per_rule_with_its_name_description_and_enforcement() -> None:
    policies = build_policies()
    assert [p.name for p in policies] == [rule.name for rule in RULES]
    for policy, rule in zip(policies, RULES, strict=True):
        assert isinstance(policy, StackValidationPolicy)
        assert policy.description == rule.description
        expected = (
            EnforcementLevel.MANDATORY if rule.enforcement == "mandatory" else EnforcementLevel.ADVISORY
        )
        assert policy.enforcement_level == expected


@pytest.mark.parametrize("moment", MOMENTS)
@pytest.mark.parametrize("stack", STACKS)
def test_the_pack_is_green_on_every_stack(stack: str, moment: Moment) -> None:
    reports = run_pack(stack_args(stack, moment))
    assert reports == [], "\n".join(f"[{name}] {urn}: {message}" for name, message, urn in reports)


@pytest.mark.parametrize("moment", MOMENTS)
def test_the_engine_view_reaches_the_rules_with_the_graph_the_tests_see(moment: Moment) -> None:
    """Same URNs, types, parents, explicit providers and protect flags as the recorded run."""
    converted = {r.urn: r for r in rule_resources(stack_args("prod", moment).resources)}
    run = run_stack("prod")
    for recorded in run:
        resource = converted[recorded.urn]
        assert (resource.type, resource.parent, resource.protect) == (
            recorded.type,
            recorded.parent,
            recorded.protect,
        )
        # Default providers come back as None; so does a remote component's (yaml.v2.ConfigFile): to the
        # engine's policy view it is a component, and the pack reads `custom` from the provider reference.
        assert resource.provider == (None if recorded.record.remote else recorded.provider)
        assert resource.custom == recorded.record.custom
    # The engine adds the Stack and the default providers the program relied on (random's, here).
    extra = set(converted) - {r.urn for r in run}
    assert run.raw.stack_urn in extra
    assert default_provider_urn(run, "random") in extra


def test_a_first_preview_has_unknowns_and_the_pack_still_reads_the_flags() -> None:
    args = stack_args("prod", "preview")
    policy_doc = next(
        r for r in args.resources if r.resource_type == "aws:s3/bucketPolicy:BucketPolicy"
    ).props  # embeds the bucket's ARN, which does not exist yet
    with pytest.raises(UnknownValueError) as unknown:
        _ = policy_doc["policy"]
    assert "can't be known during preview" in unknown.value.message
    rds = rule_resources([_first(args, RDS_INSTANCE)])[0]
    assert "endpoint" not in rds.inputs  # computed: unknown, so dropped
    assert rds.inputs["storageEncrypted"] is True  # config: known


# --- broken graphs are caught ------------------------------------------------------------------------------


@pytest.mark.parametrize("moment", MOMENTS)
def test_a_public_rds_instance_is_caught(moment: Moment) -> None:
    args = stack_args("prod", moment)
    target = _first(args, RDS_INSTANCE)
    broken = _replace(args, lambda r: r.urn == target.urn, publiclyAccessible=True)
    reports = run_pack(broken)
    assert ("rds-encrypted-private", target.urn) in {(name, urn) for name, _, urn in reports}
    assert ("no-world-data-store", target.urn) in {(name, urn) for name, _, urn in reports}
    assert {name for name, _, _ in reports} == {"rds-encrypted-private", "no-world-data-store"}


@pytest.mark.parametrize("moment", MOMENTS)
def test_an_unencrypted_rds_instance_is_caught(moment: Moment) -> None:
    args = stack_args("dev", moment)
    target = _first(args, RDS_INSTANCE)
    reports = run_pack(_replace(args, lambda r: r.urn == target.urn, storageEncrypted=False))
    assert [(name, urn) for name, _, urn in reports] == [("rds-encrypted-private", target.urn)]
    assert "storage is not encrypted" in reports[0][1]


@pytest.mark.parametrize("moment", MOMENTS)
def test_an_unencrypted_bucket_is_caught(moment: Moment) -> None:
    args = stack_args("prod", moment)
    sse = [r for r in args.resources if r.resource_type == SSE_CONFIG]
    dropped = sse[0]
    bucket_urn = dropped.property_dependencies["bucket"][0].urn
    broken = StackValidationArgs([r for r in args.resources if r.urn != dropped.urn])
    reports = run_pack(broken)
    assert [(name, urn) for name, _, urn in reports] == [("s3-bucket-baseline", bucket_urn)]
    assert "no default server-side encryption" in reports[0][1]


def test_a_bucket_whose_encryption_is_turned_off_is_caught() -> None:
    args = stack_args("dev", "state")
    target = next(r for r in args.resources if r.resource_type == SSE_CONFIG)
    broken = _replace(
        args,
        lambda r: r.urn == target.urn,
        rules=[{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "none"}}],
    )
    names = [name for name, _, _ in run_pack(broken)]
    assert names == ["s3-bucket-baseline"]


def test_a_resource_on_the_default_aws_provider_is_caught() -> None:
    args = stack_args("dev", "state")
    run = run_stack("dev")
    vpc = _first(args, "aws:ec2/vpc:Vpc")
    default = PolicyProviderResource(
        "pulumi:providers:aws", {}, default_provider_urn(run, "aws"), "default_7_51_1"
    )
    resources = [
        PolicyResource(
            r.resource_type, r.props, r.urn, r.name, r.opts, default, r.parent, r.dependencies,
            r.property_dependencies,
        )
        if r.urn == vpc.urn
        else r
        for r in args.resources
    ]  # fmt: skip
    reports = run_pack(StackValidationArgs(resources))
    # No explicit provider: no region pinning and none of the provider's default tags either.
    assert {(name, urn) for name, _, urn in reports} == {
        ("explicit-aws-provider", vpc.urn),
        ("required-tags", vpc.urn),
    }


@pytest.mark.parametrize("moment", MOMENTS)
def test_a_root_container_is_caught_by_the_workload_rules_in_the_pack(moment: Moment) -> None:
    args = stack_args("prod", moment)
    worker = next(
        r
        for r in args.resources
        if r.resource_type == DEPLOYMENT and plain(r.props)["metadata"]["name"] == "worker"
    )
    spec = plain(worker.props)["spec"]
    spec["template"]["spec"]["containers"][0]["securityContext"]["runAsUser"] = 0
    reports = run_pack(_replace(args, lambda r: r.urn == worker.urn, spec=spec))
    assert [(name, urn) for name, _, urn in reports] == [("k8s-containers-hardened", worker.urn)]
    assert "runAsUser 0" in reports[0][1]


def test_a_secret_leaked_into_a_config_map_is_caught_in_live_state() -> None:
    """A live Secret carries its values in base64 ``data`` (stringData is never read back); the pack decodes
    them, so a value copied into a ConfigMap is still found."""
    args = stack_args("prod", "state")
    # The app's Secret (the migrations' own holds only the owner passwords).
    secret = next(
        r for r in args.resources if r.resource_type == K8S_SECRET and r.urn.endswith("-workloads-secret")
    )
    string_data = plain(secret.props)["stringData"]
    data = {key: base64.b64encode(value.encode()).decode() for key, value in string_data.items()}
    live = _replace(args, lambda r: r.urn == secret.urn, stringData=None, data=data)
    assert run_pack(live) == []
    config_map = _first(args, K8S_CONFIG_MAP)
    leaked = {**plain(config_map.props)["data"], "CACHE": string_data["NEXUS_REDIS_URL"]}
    reports = run_pack(_replace(live, lambda r: r.urn == config_map.urn, data=leaked))
    assert reports == [
        ("k8s-no-secret-in-config-map", "key CACHE contains a value of a Secret of the stack", config_map.urn)
    ]


@pytest.mark.parametrize("moment", MOMENTS)
def test_the_pack_reports_exactly_what_the_rules_report(moment: Moment) -> None:
    args = stack_args("prod", moment)
    target = _first(args, RDS_INSTANCE)
    broken = _replace(args, lambda r: r.urn == target.urn, publiclyAccessible=True, storageEncrypted=None)
    expected = {(v.rule, v.urn, v.message) for v in check_all(rule_resources(broken.resources))}
    assert expected  # the edit broke something
    assert {(name, urn, message) for name, message, urn in run_pack(broken)} == expected


# --- the translation itself --------------------------------------------------------------------------------


def test_plain_drops_unknown_entries_and_keeps_list_positions() -> None:
    props = unknown_checking_proxy(
        {
            "known": {"flag": True, "later": UNKNOWN_BOOLEAN_VALUE},
            "ids": ["sg-1", UNKNOWN_STRING_VALUE],
            "gone": UNKNOWN_STRING_VALUE,
        }
    )
    assert plain(props) == {"known": {"flag": True}, "ids": ["sg-1", None]}
    assert plain(UNKNOWN_STRING_VALUE) is None
    assert plain({"a": [{"b": UNKNOWN_STRING_VALUE}]}) == {"a": [{}]}


# --- the pack's files ---------------------------------------------------------------------------------------


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if "==" in line:
            name, version = line.split("==")
            pins[name.strip().lower()] = version.strip()
    return pins


def test_the_pack_requirements_pin_what_the_project_pins() -> None:
    pack = _pins(PROJECT_DIR / "policy_pack" / "requirements.txt")
    project = _pins(PROJECT_DIR / "requirements.txt")
    assert set(pack) == {"pulumi", "pulumi-policy", "pulumi-aws"}
    assert {name: project.get(name) for name in pack} == pack


def test_the_pack_runs_in_the_project_venv_with_the_python_runtime() -> None:
    manifest = yaml.safe_load((PROJECT_DIR / "policy_pack" / "PulumiPolicy.yaml").read_text())
    assert manifest["runtime"]["name"] == "python"
    assert (PROJECT_DIR / "policy_pack" / manifest["runtime"]["options"]["virtualenv"]).resolve() == (
        PROJECT_DIR / "venv"
    ).resolve()
