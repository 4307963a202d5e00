"""Pulumi.yaml and the stack files pass the Pulumi CLI's validation, and the offline engine refuses what the
CLI refuses with the CLI's own message (pulumi/pulumi sdk/go/common/workspace/project.go ``Project.Validate``
and ``ValidateConfigValue``, pkg/workspace/config.go ``mergeConfig`` and ``validateStackConfigValue``). The
expected messages below are copied from the Go source, not from offline/project.py."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
import yaml

from offline import ProjectError, read_project, read_stack
from offline.project import config_value_is_valid, merge_config, parse_project
from stacks.config import load, read_stack_file
from stacks.config.loader import KNOWN_KEYS, NAMESPACE, PROJECT
from stacks.preview import main as preview_main

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
STACK_FILES = sorted(ROOT.glob("Pulumi.*.yaml"))
HEAD = "name: {name}\nruntime: python\nconfig:\n"


def _refusal(text: str) -> str:
    with pytest.raises(ProjectError) as caught:
        parse_project(text, ROOT)
    return str(caught.value)


def test_pulumi_yaml_passes_the_cli_validation_and_names_the_config_namespace() -> None:
    project = read_project(ROOT)
    assert project.name == yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["name"]
    assert project.name == PROJECT == NAMESPACE
    assert set(project.config) == {f"{project.name}:{key}" for key in KNOWN_KEYS}


@pytest.mark.parametrize("key", ["aws:region", "nexus:environment"])
def test_the_former_pulumi_yaml_would_have_been_refused(key: str) -> None:
    # The project was named nexus-api while its keys lived in nexus: (and aws:), each with a description only:
    # outside the project's namespace the CLI demands a `value`, so every CLI command stopped here.
    text = HEAD.format(name="nexus-api") + f"  {key}:\n    description: a key with a description only\n"
    assert _refusal(text) == (
        "could not unmarshal 'Pulumi.yaml': "
        f"Configuration key '{key}' is namespaced and must provide an attribute 'value'"
    )


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            "  aws:region:\n    type: string\n    value: us-east-1\n",
            "Configuration key 'aws:region' is not namespaced by the project and should not define a type",
        ),
        (
            "  aws:region:\n    default: us-east-1\n",
            "Configuration key 'aws:region' is not namespaced by the project and should not define a default "
            "value. Did you mean to use the 'value' attribute instead of 'default'?",
        ),
        (
            "  nexus:environment:\n    default: dev\n    value: prod\n",
            "project config 'nexus:environment' cannot have both a 'default' and 'value' attribute",
        ),
        (
            "  nexus:azs:\n    type: array\n    default: [a]\n",
            "The configuration key 'nexus:azs' declares an array but does not specify the underlying type "
            "via the 'items' attribute",
        ),
        (
            "  nexus:network:\n    type: object\n    default: 10.0.0.0/16\n",
            "The default value specified for configuration key 'nexus:network' is not of the expected type "
            "'object'",
        ),
        (
            "  nexus:azs:\n    type: array\n    items: {type: integer}\n    default: [a]\n",
            "The default value specified for configuration key 'nexus:azs' is not of the expected type "
            "'array<integer>'",
        ),
        (
            "  count:\n    type: integer\n    default: 2.5\n",
            "The default value specified for configuration key 'count' is not of the expected type 'integer'",
        ),
    ],
)
def test_each_invalid_declaration_is_refused_with_the_cli_message(config: str, message: str) -> None:
    assert _refusal(HEAD.format(name="nexus") + config) == f"could not unmarshal 'Pulumi.yaml': {message}"


@pytest.mark.parametrize(
    ("config", "location"),
    [
        ("  nexus:network:\n    type: map\n", "#/config/nexus:network"),  # not a SimpleConfigType
        ("  nexus:network:\n    type: object\n    required: true\n", "#/config/nexus:network"),
    ],
)
def test_the_project_json_schema_refuses_what_it_does_not_allow(config: str, location: str) -> None:
    refusal = _refusal(HEAD.format(name="nexus") + config)
    assert refusal.startswith(f"could not validate 'Pulumi.yaml': {location}: "), refusal


def test_a_project_without_a_name_is_refused() -> None:
    assert (
        _refusal("runtime: python\n")
        == "could not validate 'Pulumi.yaml': project is missing a 'name' attribute"
    )


def test_shorthand_values_become_a_default_inside_and_a_value_outside_the_namespace() -> None:
    project = parse_project(HEAD.format(name="demo") + "  size: 3\n  aws:region: eu-west-1\n", ROOT)
    assert (project.config["size"].default, project.config["size"].value) == (3, None)
    assert (project.config["aws:region"].default, project.config["aws:region"].value) == (None, "eu-west-1")
    assert project.defaults == {"demo:size": "3", "aws:region": "eu-west-1"}


@pytest.mark.parametrize(
    ("type_name", "items", "value", "valid"),
    [
        # Top-level stack scalars reach ValidateConfigValue as text.
        ("string", None, "5", True),
        ("integer", None, "5", True),
        ("integer", None, "-12", True),
        ("integer", None, "5.5", False),
        ("integer", None, "five", False),
        ("boolean", None, "true", True),
        ("boolean", None, "True", False),
        ("boolean", None, "yes", False),
        # Nested values come from JSON: numbers are float64, whole ones pass as integers.
        ("integer", None, 3.0, True),
        ("integer", None, 3.5, False),
        ("object", None, {}, True),
        ("object", None, [], False),
        ("array", {"type": "string"}, ["a", "b"], True),
        ("array", {"type": "string"}, ["a", 1.0], False),
        ("array", None, ["a"], False),
        ("string", None, {"a": "b"}, False),
    ],
)
def test_values_are_checked_against_declared_types_as_the_cli_does(
    type_name: str, items: dict[str, Any] | None, value: Any, valid: bool
) -> None:
    assert config_value_is_valid(type_name, items, value) is valid


def _dev_values() -> dict[str, Any]:
    return dict(yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())["config"])


@pytest.mark.parametrize(
    ("key", "value", "type_name"),
    [
        ("nexus:network", "10.0.0.0/16", "object"),
        ("nexus:shards", ["shard-a"], "object"),
        ("nexus:cluster", True, "object"),
        ("nexus:environment", {"name": "dev"}, "string"),
        ("nexus:defaultShard", ["shard-a"], "string"),
        ("nexus:tags", "Team=api", "object"),
    ],
)
def test_a_stack_value_of_the_wrong_declared_type_is_refused(key: str, value: Any, type_name: str) -> None:
    values = {**_dev_values(), key: value}
    with pytest.raises(ProjectError) as caught:
        merge_config(read_project(ROOT), "dev", values)
    assert str(caught.value) == f"Stack 'dev' with configuration key '{key}' must be of type '{type_name}'"


def test_a_stack_without_a_required_key_is_refused() -> None:
    values = {key: value for key, value in _dev_values().items() if key != "nexus:shards"}
    with pytest.raises(ProjectError) as caught:
        merge_config(read_project(ROOT), "dev", values)
    assert str(caught.value) == "Stack 'dev' is missing configuration value 'nexus:shards'"


def test_a_secret_declaration_needs_a_secure_stack_value(tmp_path: Path) -> None:
    project = parse_project(
        HEAD.format(name="demo") + "  token:\n    type: string\n    secret: true\n", tmp_path
    )
    with pytest.raises(ProjectError) as caught:
        merge_config(project, "x", {"token": "plain"})
    assert str(caught.value) == "Stack 'x' with configuration key 'token' must be encrypted as it's secret"
    assert merge_config(project, "x", {"token": {"secure": "AAAB"}}, frozenset({"demo:token"}))


def test_make_preview_refuses_a_wrongly_typed_stack_value_with_the_cli_message(tmp_path: Path) -> None:
    stack_file = tmp_path / "Pulumi.typo.yaml"
    stack_file.write_text(yaml.safe_dump({"config": {**_dev_values(), "nexus:network": "10.0.0.0/16"}}))
    out, err = io.StringIO(), io.StringIO()
    code = preview_main(["--stack", "typo", "--config-file", str(stack_file)], out=out, err=err)
    assert code == 1
    assert err.getvalue() == (
        "error: Stack 'typo' with configuration key 'nexus:network' must be of type 'object'\n"
    )
    assert out.getvalue() == ""


@pytest.mark.parametrize("stack_file", STACK_FILES, ids=lambda path: path.name)
def test_project_defaults_change_nothing_the_config_model_sees(stack_file: Path) -> None:
    # Under the CLI the program also receives Pulumi.yaml's defaults for the keys a stack leaves out; the
    # local run reads the stack file alone. Both must give the same model.
    stack = read_stack(stack_file, read_project(ROOT))
    assert set(stack.config) - set(read_stack_file(stack_file)), "this stack leaves no key to the defaults"
    with_defaults = load(stack.config, stack=stack.stack)
    alone = load(read_stack_file(stack_file), stack=stack.stack)
    assert with_defaults == alone
