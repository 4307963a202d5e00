"""The offline engine's own faithfulness, on a tiny throwaway program and on the real project."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from offline import DuplicateUrnError, EmulationError, ProgramCrashError, StackRun, run_config
from stacks.preview import main as preview_main
from tests.support.harness import PROJECT_DIR, PROJECT_NAME, config_problems, run_stack

pytestmark = pytest.mark.infra

TINY_LIB = '''
"""A component library for the tiny program (imported from the project directory, as the host would)."""
import pulumi
import pulumi_aws as aws
import pulumi_random as random


class Inner(pulumi.ComponentResource):
    def __init__(self, name, opts=None):
        super().__init__("tiny:lib:Inner", name, None, opts)
        self.bucket = aws.s3.Bucket(f"{name}-bucket", opts=pulumi.ResourceOptions(parent=self))
        self.register_outputs({"bucket": self.bucket.bucket})


class Outer(pulumi.ComponentResource):
    def __init__(self, name, opts=None):
        super().__init__("tiny:lib:Outer", name, None, opts)
        self.inner = Inner(f"{name}-inner", opts=pulumi.ResourceOptions(parent=self))
        self.register_outputs({})
'''

TINY_MAIN = """
import json
import pulumi
import pulumi_aws as aws
import pulumi_random as random
import tinylib

config = pulumi.Config("tiny")
mode = config.get("mode") or "ok"
if mode == "refuse":
    raise pulumi.RunError("invalid stack config:\\n  tiny:mode: refuse is refused")

provider = aws.Provider("aws", region="us-west-2",
                        default_tags=aws.ProviderDefaultTagsArgs(tags={"Project": "tiny"}))
top = aws.s3.Bucket("top", opts=pulumi.ResourceOptions(provider=provider))
named = aws.s3.Bucket("named", bucket="my-exact-bucket", opts=pulumi.ResourceOptions(provider=provider))
outer = tinylib.Outer("outer", opts=pulumi.ResourceOptions(providers=[provider]))
password = random.RandomPassword("pw", length=20, special=False)
db = aws.rds.Instance(
    "primary-db",
    engine="postgres",
    instance_class="db.t4g.micro",
    allocated_storage=20,
    password=password.result,
    opts=pulumi.ResourceOptions(
        provider=provider,
        protect=True,
        ignore_changes=["engineVersion"],
        aliases=[pulumi.Alias(name="old-db")],
        depends_on=[top],
        delete_before_replace=True,
        retain_on_delete=True,
        replace_on_changes=["instanceClass"],
        custom_timeouts=pulumi.CustomTimeouts(create="40m"),
    ),
)
zones = aws.get_availability_zones_output(opts=pulumi.InvokeOutputOptions(provider=provider))
identity = aws.get_caller_identity_output()
if mode == "duplicate":
    aws.s3.Bucket("top", opts=pulumi.ResourceOptions(provider=provider))
if mode == "unmocked":
    aws.ec2.get_vpc_output(default=True, opts=pulumi.InvokeOutputOptions(provider=provider))
if mode == "stack-transform":
    pulumi.runtime.register_resource_transform(lambda args: None)
if mode == "apply-fails":

    def explode(arn):
        raise ValueError(f"boom on {arn}")

    pulumi.export("exploded", top.arn.apply(explode))
if mode == "warns":
    pulumi.log.warn("the tiny program warns", resource=top)
if mode == "none-input":
    # bucketPrefix was not given and the cloud computes none: it resolves to None and the SDK drops the input.
    aws.rds.ProxyTarget("target", db_proxy_name=top.bucket_prefix, target_group_name="default",
                        db_instance_identifier=db.identifier, opts=pulumi.ResourceOptions(provider=provider))
if mode == "upper-case-db":
    aws.rds.Instance("Upper-DB", engine="postgres", instance_class="db.t4g.micro", allocated_storage=20,
                     opts=pulumi.ResourceOptions(provider=provider))
if mode == "long-name":
    aws.lb.LoadBalancer("a-load-balancer-with-a-long-name", opts=pulumi.ResourceOptions(provider=provider))

pulumi.export("endpoint", db.endpoint)
pulumi.export("address", db.address)
pulumi.export("identifier", db.identifier)
pulumi.export("zones", zones.names)
pulumi.export("account", identity.account_id)
pulumi.export("password", password.result)
pulumi.export("token", config.get_secret("token"))
pulumi.export("innerBucket", outer.inner.bucket.bucket)
pulumi.export("topArn", top.arn)
"""


@pytest.fixture(scope="session")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tiny")
    (root / "Pulumi.yaml").write_text("name: tiny\nruntime: python\nmain: .\n")
    (root / "__main__.py").write_text(textwrap.dedent(TINY_MAIN))
    (root / "tinylib.py").write_text(textwrap.dedent(TINY_LIB))
    return root


def _run(tiny: Path, mode: str = "ok", **extra: Any) -> StackRun:
    return run_config({"tiny:mode": mode, **extra}, project_dir=tiny, stack="t")


@pytest.fixture(scope="session")
def tiny_run(tiny: Path) -> StackRun:
    return run_config(
        {"tiny:mode": "ok", "tiny:token": "s3cr3t"}, project_dir=tiny, stack="t", secret_keys=("tiny:token",)
    )


def test_urns_follow_the_engine(tiny_run: StackRun) -> None:
    top = tiny_run.one("aws:s3/bucket:Bucket", "top")
    assert top.urn == "urn:pulumi:t::tiny::aws:s3/bucket:Bucket::top"  # no pulumi:pulumi:Stack$ prefix
    inner_bucket = tiny_run.one("aws:s3/bucket:Bucket", "outer-inner-bucket")
    # Three levels deep: the whole chain of parent types, not only the last one.
    assert (
        inner_bucket.urn
        == "urn:pulumi:t::tiny::tiny:lib:Outer$tiny:lib:Inner$aws:s3/bucket:Bucket::outer-inner-bucket"
    )
    inner = tiny_run.one("tiny:lib:Inner")
    assert inner_bucket.parent == inner.urn
    assert top.parent == tiny_run.raw.stack_urn == "urn:pulumi:t::tiny::pulumi:pulumi:Stack::tiny-t"
    assert [r.urn for r in tiny_run] == sorted(r.urn for r in tiny_run)


def test_children_inherit_the_component_provider(tiny_run: StackRun) -> None:
    provider = tiny_run.one("pulumi:providers:aws")
    assert tiny_run.one("aws:s3/bucket:Bucket", "outer-inner-bucket").provider == provider.urn
    assert tiny_run.one("tiny:lib:Outer").record.providers == {"aws": provider.urn}
    assert tiny_run.one("random:index/randomPassword:RandomPassword").provider is None


def test_options_are_recorded(tiny_run: StackRun) -> None:
    db = tiny_run.one("aws:rds/instance:Instance")
    top = tiny_run.one("aws:s3/bucket:Bucket", "top")
    assert db.protect is True
    assert top.protect is False
    assert db.ignore_changes == ("engineVersion",)
    assert db.record.replace_on_changes == ("instanceClass",)
    assert db.record.delete_before_replace is True
    assert top.record.delete_before_replace is None
    assert db.record.retain_on_delete is True
    assert db.record.custom_timeouts == {"create": "40m"}
    assert top.urn in db.dependencies
    password = tiny_run.one("random:index/randomPassword:RandomPassword")
    assert db.record.property_dependencies["password"] == (password.urn,)
    assert [alias.get("spec", {}).get("name") for alias in db.aliases] == ["old-db"]


def test_secrets_stay_secret(tiny_run: StackRun) -> None:
    password = tiny_run.one("random:index/randomPassword:RandomPassword")
    assert "result" in password.record.additional_secret_outputs
    assert "result" in password.secret_outputs  # additionalSecretOutputs honoured
    db = tiny_run.one("aws:rds/instance:Instance")
    assert db.secret_input("password")
    assert db.inputs["password"] == password.outputs["result"]
    assert len(db.inputs["password"]) == 20
    assert {"password", "token"} <= tiny_run.secret_outputs  # secure config keys are secret too
    assert tiny_run.outputs["token"] == "s3cr3t"
    assert tiny_run.masked_outputs["password"] == "[secret]"
    assert tiny_run.masked_outputs["token"] == "[secret]"


def test_cloud_values_are_emulated(tiny_run: StackRun) -> None:
    out = tiny_run.outputs
    identifier = out["identifier"]
    assert identifier.startswith("primary-db-")
    assert len(identifier) == len("primary-db-") + 7
    assert out["address"].startswith(f"{identifier}.")
    assert out["address"].endswith(".us-west-2.rds.amazonaws.com")
    assert out["endpoint"] == f"{out['address']}:5432"
    # Region from the provider; unfiltered, AWS lists the account's opted-in Local Zone with the AZs.
    assert out["zones"] == [
        "us-west-2-lax-1a",
        "us-west-2a",
        "us-west-2b",
        "us-west-2c",
        "us-west-2d",
    ]
    assert out["account"] == "123456789012"
    top = tiny_run.one("aws:s3/bucket:Bucket", "top")
    assert out["topArn"] == f"arn:aws:s3:::{top.outputs['bucket']}"


def test_autonames_only_when_not_given(tiny_run: StackRun) -> None:
    top = tiny_run.one("aws:s3/bucket:Bucket", "top")
    named = tiny_run.one("aws:s3/bucket:Bucket", "named")
    assert "bucket" not in top.inputs
    assert top.outputs["bucket"].startswith("top-")
    assert len(top.outputs["bucket"]) == len("top-") + 7
    assert named.outputs["bucket"] == "my-exact-bucket"


def test_an_autoname_that_cannot_fit_fails_like_the_provider(tiny: Path) -> None:
    # The provider's auto-name for aws_lb has no limit of its own; Terraform's validName refuses the result.
    with pytest.raises(EmulationError, match='"name" cannot be longer than 32 characters'):
        _run(tiny, "long-name")


def test_an_identifier_the_provider_refuses_fails_the_run(tiny: Path) -> None:
    # pulumi-aws auto-names RDS identifiers without lower-casing them; the provider then refuses upper case.
    with pytest.raises(EmulationError, match=r"identifier 'Upper-DB-[0-9a-f]{7}' is refused by the provider"):
        _run(tiny, "upper-case-db")


def test_a_required_input_fed_none_is_detected(tiny: Path) -> None:
    run = _run(tiny, "none-input")
    target = run.one("aws:rds/proxyTarget:ProxyTarget")
    assert "dbProxyName" not in target.inputs  # what the SDK does with a None: the input vanishes
    assert run.missing_required_inputs() == [(target.urn, "dbProxyName")]
    assert target.id is not None
    assert target.id.startswith("None/")  # and the whole-stack scan for "None" in ids would see it too


def test_program_warnings_are_recorded(tiny: Path) -> None:
    run = _run(tiny, "warns")
    top = run.one("aws:s3/bucket:Bucket", "top")
    assert [(e.severity, e.urn, e.message) for e in run.raw.logs if e.severity == "warning"] == [
        ("warning", top.urn, "the tiny program warns")
    ]


def test_duplicate_urns_are_rejected(tiny: Path) -> None:
    with pytest.raises(
        DuplicateUrnError, match=r"Duplicate resource URN 'urn:pulumi:t::tiny::aws:s3/bucket:Bucket::top'"
    ):
        _run(tiny, "duplicate")


def test_an_unmocked_invoke_fails_loudly(tiny: Path) -> None:
    with pytest.raises(EmulationError, match=r"does not emulate the invoke 'aws:ec2/getVpc:getVpc'"):
        _run(tiny, "unmocked")


def test_stack_transforms_are_refused_not_silently_skipped(tiny: Path) -> None:
    with pytest.raises(EmulationError, match="stack transforms are not run by the offline engine"):
        _run(tiny, "stack-transform")


def test_an_exception_in_an_apply_fails_the_run(tiny: Path) -> None:
    with pytest.raises(ProgramCrashError) as caught:
        _run(tiny, "apply-fails")
    assert isinstance(caught.value.__cause__, ValueError)
    assert "boom on arn:aws:s3:::top-" in str(caught.value.__cause__)


def test_the_linear_wait_records_what_the_sdk_loop_records(monkeypatch: pytest.MonkeyPatch) -> None:
    # The runner swaps the SDK's quadratic quiescence loop for a linear one (offline/runner.py).
    linear = run_stack("dev")
    monkeypatch.setenv("NEXUS_OFFLINE_STOCK_WAIT", "1")
    stock = run_stack("dev", cache=False)
    assert [(r.urn, r.inputs, r.outputs, r.record.dependencies) for r in stock] == [
        (r.urn, r.inputs, r.outputs, r.record.dependencies) for r in linear
    ]
    assert stock.outputs == linear.outputs


def test_run_error_surfaces_as_the_message_with_nothing_registered(tiny: Path) -> None:
    run = _run(tiny, "refuse")
    assert run.error == "invalid stack config:\n  tiny:mode: refuse is refused"
    assert run.resources == ()


def test_repeated_runs_are_identical_and_forget_program_modules(tiny: Path, tiny_run: StackRun) -> None:
    again = run_config(
        {"tiny:mode": "ok", "tiny:token": "s3cr3t"}, project_dir=tiny, stack="t", secret_keys=("tiny:token",)
    )
    assert [(r.urn, r.inputs, r.outputs) for r in again] == [(r.urn, r.inputs, r.outputs) for r in tiny_run]
    assert "tinylib" not in sys.modules


def test_a_bad_project_config_fails_before_any_resource() -> None:
    problems = config_problems({"aws:region": "us-east-1", "nexus:shards": {"Bad_Id": {"tenants": ["a"]}}})
    assert any(line.startswith("nexus:shards.Bad_Id:") for line in problems)


def test_program_runs_as_the_language_host_runs_it(tmp_path: Path) -> None:
    # -I: no PYTHONPATH, no cwd on sys.path. Only runpy's insertion of the project directory makes `infra` and
    # `stacks` importable, as under `pulumi up`. The engine package is loaded by path under another name.
    script = textwrap.dedent(
        f"""
        import importlib.util, sys
        assert importlib.util.find_spec("infra") is None and importlib.util.find_spec("stacks") is None
        spec = importlib.util.spec_from_file_location(
            "offline_engine", {str(PROJECT_DIR / "offline/__init__.py")!r},
            submodule_search_locations=[{str(PROJECT_DIR / "offline")!r}])
        engine = importlib.util.module_from_spec(spec)
        sys.modules["offline_engine"] = engine
        spec.loader.exec_module(engine)
        project = engine.read_project({str(PROJECT_DIR)!r})
        stack = engine.read_stack({str(PROJECT_DIR / "Pulumi.dev.yaml")!r}, project)
        run = engine.run_program(project.directory, project=project.name, stack=stack.stack,
                                 config=stack.config, secret_keys=stack.secret_keys, main=project.main,
                                 dry_run=True)
        assert run.error is None, run.error
        assert "{PROJECT_DIR}" not in sys.path, "the project must be on sys.path only during the run"
        print(len(run.resources), sorted(run.outputs))
        """
    )
    result = subprocess.run(
        [sys.executable, "-I", "-W", "ignore::DeprecationWarning", "-c", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    count = int(result.stdout.split()[0])
    assert count == len(run_stack("dev"))


def _preview(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = preview_main(list(args), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_preview_json_document_is_stable_and_masked() -> None:
    code, first, _ = _preview("--stack", "dev", "--json")
    assert code == 0
    assert _preview("--stack", "dev", "--json")[1] == first  # byte-identical
    document = json.loads(first)
    assert set(document) == {"project", "stack", "resources", "outputs"}
    assert (document["project"], document["stack"]) == (PROJECT_NAME, "dev")
    urns = [resource["urn"] for resource in document["resources"]]
    assert urns == sorted(urns)
    for resource in document["resources"]:
        assert set(resource) == {
            "urn",
            "type",
            "name",
            "parent",
            "protect",
            "dependencies",
            "ignoreChanges",
            "inputs",
        }
        assert resource["ignoreChanges"] == sorted(resource["ignoreChanges"])
        assert isinstance(resource["protect"], bool)
        assert resource["parent"] is None or resource["parent"] in urns
        assert resource["dependencies"] == sorted(resource["dependencies"])
        assert set(resource["dependencies"]) <= set(urns)
    top_level = [r for r in document["resources"] if r["parent"] is None]
    assert top_level, "components and providers sit at the top"
    assert all(not r["type"].startswith("aws:") for r in top_level)
    passwords = [
        r for r in document["resources"] if r["type"] == "random:index/randomPassword:RandomPassword"
    ]
    consumers = [r for r in document["resources"] if "[secret]" in json.dumps(r["inputs"])]
    assert passwords, "dev generates database passwords"
    assert consumers, "the generated passwords reach some inputs, masked"
    assert ".0," not in first
    assert ".0\n" not in first


def test_preview_json_dependencies_are_what_the_engine_recorded() -> None:
    code, out, _ = _preview("--stack", "prod", "--json")
    assert code == 0
    listed = {resource["urn"]: resource["dependencies"] for resource in json.loads(out)["resources"]}
    run = run_stack("prod")
    assert listed == {resource.urn: sorted(resource.record.dependencies) for resource in run}
    # An input Output is a dependency: the replica's source ARN comes from the primary.
    replica = run.one("aws:rds/instance:Instance", "shard-a-replica-0")
    primary = run.one("aws:rds/instance:Instance", "shard-a-primary")
    assert primary.urn in listed[replica.urn]
    # An explicit depends_on is one too: the proxy waits for its secret's value and its role's policy.
    proxy = run.one("aws:rds/proxy:Proxy", "shard-a-proxy")
    assert run.one("aws:iam/rolePolicy:RolePolicy", "shard-a-proxy-secret-access").urn in listed[proxy.urn]
    assert (
        run.one("aws:secretsmanager/secretVersion:SecretVersion", "shard-a-master-secret-value").urn
        in (listed[proxy.urn])
    )


def test_preview_text_shows_the_plan() -> None:
    code, text, _ = _preview("--stack", "prod")
    assert code == 0
    for heading in (
        "Resources to create:",
        "Component tree",
        "Tenant -> shard map",
        "Stack outputs (secrets masked)",
    ):
        assert heading in text
    assert "acme" in text
    assert "shard-a" in text


def test_preview_text_shows_iam_documents_parsed_and_json_keeps_the_string() -> None:
    code, text, _ = _preview("--stack", "dev")
    assert code == 0
    outputs = text.split("Stack outputs (secrets masked)", 1)[1]
    assert '\\"' not in outputs, "no output is shown as one line of escaped JSON"
    lines = outputs.splitlines()
    start = lines.index("  apiPolicyDocument: (a JSON string, shown parsed)")
    end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("  ") and lines[i][2] != " ")
    shown = json.loads("\n".join(lines[start + 1 : end]))
    code, document, _ = _preview("--stack", "dev", "--json")
    kept = json.loads(document)["outputs"]["apiPolicyDocument"]
    assert isinstance(kept, str), "the --json document is unchanged: the output is the string AWS takes"
    assert shown == json.loads(kept)
    assert {statement["Sid"] for statement in shown["Statement"]} >= {"TenantObjects", "ReadDatabaseSecrets"}


def test_output_lines_parse_only_json_documents() -> None:
    from stacks.preview import output_lines

    assert output_lines("name", "nexus-dev-eks") == ['  name: "nexus-dev-eks"']
    assert output_lines("secret", "[secret]") == ['  secret: "[secret]"']
    assert output_lines("count", "3") == ['  count: "3"']
    assert output_lines("broken", "{not json") == ['  broken: "{not json"']
    assert output_lines("doc", '{"b": 1, "a": [2]}') == [
        "  doc: (a JSON string, shown parsed)",
        '    {\n      "b": 1,\n      "a": [\n        2\n      ]\n    }',
    ]


def test_preview_refuses_a_bad_config_without_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "Pulumi.bad.yaml"
    bad.write_text("config:\n  aws:region: us-east-1\n  nexus:shards:\n    shard-a:\n      tenants: [a, a]\n")
    result = subprocess.run(
        [sys.executable, "-m", "stacks.preview", "--stack", "bad", "--config-file", str(bad)],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    assert "nexus:shards.shard-a.tenants: tenant 'a' is twice in this shard" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
