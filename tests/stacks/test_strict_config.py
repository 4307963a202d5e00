"""Strict stack config (issue 19): each mistake fails with status 1, one line naming the file, line and
column or the key path, and no traceback, in the preview and in the local run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
DEV_TEXT = (ROOT / "Pulumi.dev.yaml").read_text()


def _edited(tmp_path: Path, old: str, new: str) -> Path:
    """Pulumi.dev.yaml with ``old`` (which must occur) replaced once by ``new``, written under tmp_path."""
    assert old in DEV_TEXT
    path = tmp_path / "Pulumi.dev.yaml"
    path.write_text(DEV_TEXT.replace(old, new, 1))
    return path


def _position(path: Path, line_text: str, occurrence: int) -> tuple[int, int]:
    """1-based line and column of the first non-blank character of the n-th line equal to ``line_text``."""
    found = [
        (number, len(line) - len(line.lstrip()) + 1)
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if line.strip() == line_text
    ]
    return found[occurrence]


def _preview(stack_file: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "stacks.preview", "--stack", "dev", "--config-file", str(stack_file)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _local_up(stack_file: Path, workdir: Path) -> subprocess.CompletedProcess[str]:
    """``python -m devstack up`` refuses the stack file before it starts anything (nothing to stop)."""
    return subprocess.run(
        [sys.executable, "-m", "devstack", "up", "--stack-file", str(stack_file), "--workdir", str(workdir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _assert_one_line(result: subprocess.CompletedProcess[str], expected: str) -> None:
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [f"error: {expected}"]


def test_a_second_shard_block_is_refused_with_its_position(tmp_path: Path) -> None:
    # A second `shard-a:` used to replace the first silently: acme and globex vanished from the tenant map.
    path = _edited(tmp_path, "    shard-b:\n", "    shard-a:\n      tenants: [hooli]\n    shard-b:\n")
    first_line, _ = _position(path, "shard-a:", 0)
    line, column = _position(path, "shard-a:", 1)
    expected = f'{path}:{line}:{column}: mapping key "shard-a" already defined at line {first_line}'
    _assert_one_line(_preview(path), expected)
    _assert_one_line(_local_up(path, tmp_path / "local"), expected)


def test_a_duplicate_top_level_key_is_refused_with_its_position(tmp_path: Path) -> None:
    path = _edited(tmp_path, "  nexus:api:\n", "  nexus:defaultShard: shard-a\n  nexus:api:\n")
    first_line, _ = _position(path, "nexus:defaultShard: shard-b", 0)
    line, column = _position(path, "nexus:defaultShard: shard-a", 0)
    key = "nexus:defaultShard"
    expected = f'{path}:{line}:{column}: mapping key "{key}" already defined at line {first_line}'
    _assert_one_line(_preview(path), expected)


def test_a_yaml_syntax_error_is_one_line_with_its_position(tmp_path: Path) -> None:
    path = _edited(tmp_path, "tenants: [initech, umbrella]", "tenants: [initech, umbrella")
    # The flow sequence never closes; the parser stops at the next key's ': ' (the line after it).
    line, _ = _position(path, "tenants: [initech, umbrella", 0)
    next_line = path.read_text().splitlines()[line]  # 0-based index of the following line
    column = next_line.index(": ") + 1  # the key-value indicator, not the namespace separator
    expected = f"{path}:{line + 1}:{column}: expected ',' or ']', but got ':'"
    _assert_one_line(_preview(path), expected)
    _assert_one_line(_local_up(path, tmp_path / "local"), expected)


def test_the_local_run_names_a_missing_stack_file(tmp_path: Path) -> None:
    missing = tmp_path / "Pulumi.nothere.yaml"
    _assert_one_line(_local_up(missing, tmp_path / "local"), f"stack file {missing} not found")


def test_a_config_value_error_in_the_local_run_is_one_line_per_problem(tmp_path: Path) -> None:
    path = _edited(tmp_path, "    numNodes: 1\n", "    numNodes: 0\n")
    result = _local_up(path, tmp_path / "local")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert any(line.startswith("error: nexus:cache.numNodes") for line in result.stderr.splitlines())


def _problem_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[0] == "error: invalid stack config:"
    return [line.strip() for line in lines[1:]]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        pytest.param(
            "  nexus:worker:\n",
            "  nexsu:worker:\n",
            "nexsu:worker: unknown namespace 'nexsu' (this project reads only nexus:*, aws:*, pulumi:* keys)"
            "; did you mean nexus:worker?",
            id="typo'd namespace: the section was ignored and defaults used",
        ),
        pytest.param(
            "  nexus:api:\n",
            "  nexsu:api:\n",
            "nexsu:api: unknown namespace 'nexsu' (this project reads only nexus:*, aws:*, pulumi:* keys)"
            "; did you mean nexus:api?",
            id="typo'd namespace: no misleading replicas error any more",
        ),
        pytest.param(
            "  aws:region: us-east-1\n",
            "  aws:region: us-east-1\n  aws:regoin: us-east-2\n",
            "aws:regoin: unknown key of the AWS provider; did you mean aws:region?",
            id="aws key typo next to aws:region",
        ),
        pytest.param(
            "  nexus:worker:\n",
            "  nexus:workers:\n",
            "nexus:workers: unknown key; valid keys are: nexus:environment, nexus:network, "
            "nexus:shardDefaults, nexus:shards, nexus:defaultShard, nexus:api, nexus:worker, nexus:cluster, "
            "nexus:alb, nexus:cache, nexus:storage, nexus:tags, nexus:allowUnknownTypes, "
            "nexus:waf, nexus:alarms, nexus:logs, nexus:vpcEndpoints, nexus:tenantMoves; "
            "did you mean nexus:worker?",
            id="project key typo",
        ),
        pytest.param(
            "    numNodes: 1\n",
            "    numNodez: 1\n",
            "nexus:cache.numNodez: unknown key; valid keys here are: authTokenVersion, automaticFailover, "
            "engineVersion, maintenanceWindow, memoryAlarmPercent, multiAz, nodeType, numNodes, "
            "snapshotRetentionDays, snapshotWindow; did you mean numNodes?",
            id="key typo inside a section",
        ),
    ],
)
def test_a_typo_in_a_key_or_namespace_says_what_was_meant(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    assert _problem_lines(_preview(_edited(tmp_path, old, new))) == [expected]


def test_an_unknown_aws_key_without_a_close_match_lists_the_provider_keys(tmp_path: Path) -> None:
    path = _edited(tmp_path, "  aws:region: us-east-1\n", "  aws:region: us-east-1\n  aws:flavour: x\n")
    (line,) = _problem_lines(_preview(path))
    assert line.startswith("aws:flavour: unknown key of the AWS provider; valid keys are: aws:accessKey, ")
    # The provider's real settings are among them (pulumi-aws's own config module, not a hand-kept list).
    assert "aws:region" in line
    assert "aws:profile" in line
    assert "aws:defaultTags" in line


def test_an_image_that_is_not_a_reference_is_refused_naming_the_key(tmp_path: Path) -> None:
    path = _edited(tmp_path, "  nexus:api:\n", '  nexus:api:\n    image: "not a valid image ref!!"\n')
    (line,) = _problem_lines(_preview(path))
    assert line.startswith("nexus:api.image: 'not a valid image ref!!' is not an image reference; ")
    assert "[registry/]repository[:tag][@digest]" in line


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("nexus-api:latest", (None, "nexus-api", "latest", None)),
        ("library/ubuntu", (None, "library/ubuntu", None, None)),
        ("localhost:5000/team/api", ("localhost:5000", "team/api", None, None)),
        (
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/nexus-api:1.4.2@sha256:" + "ab" * 32,
            ("123456789012.dkr.ecr.us-east-1.amazonaws.com", "nexus-api", "1.4.2", "sha256:" + "ab" * 32),
        ),
    ],
)
def test_image_references_are_split_into_registry_repository_tag_and_digest(
    text: str, parts: tuple[str | None, ...]
) -> None:
    from stacks.config.images import parse_image_reference

    ref = parse_image_reference(text)
    assert (ref.registry, ref.repository, ref.tag, ref.digest) == parts


@pytest.mark.parametrize(
    "text",
    [
        "Nexus-api:1",  # upper case in the repository
        "nexus-api:",  # empty tag
        "nexus-api@sha256:abc",  # digest shorter than 32 hex digits
        "nexus-api:" + "1" * 129,  # tag longer than 128
        "registry.example.com/" + "a" * 250,  # name longer than 255
    ],
)
def test_malformed_image_references_are_refused(text: str) -> None:
    from stacks.config.images import parse_image_reference

    with pytest.raises(ValueError, match="image"):
        parse_image_reference(text)


def _config_docs(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "stacks.config.docs", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "heading"),
    [(["nexus:network"], "## nexus:network"), (["shards"], "## nexus:shards"), (["--help"], "usage:")],
)
def test_the_config_docs_command_answers_without_a_traceback(args: list[str], heading: str) -> None:
    result = _config_docs(*args)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout.startswith(heading)


def test_the_config_docs_command_names_the_sections_for_an_unknown_one() -> None:
    result = _config_docs("nexus:bogus")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("error: nexus:bogus has no reference table; sections with one: network, ")


def test_every_phony_make_target_has_a_recipe() -> None:
    makefile = (ROOT / "Makefile").read_text()
    phony = next(line for line in makefile.splitlines() if line.startswith(".PHONY:")).split()[1:]
    targets = {line.split(":", 1)[0] for line in makefile.splitlines() if line and not line[0].isspace()}
    assert [name for name in phony if name not in targets] == []
    help_text = subprocess.run(
        ["make", "-s", "help"], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True
    ).stdout
    assert "make test-infra" in help_text


# --- the catalog of regions and node types (infra/catalog.py) ---------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        pytest.param(
            "aws:region: us-east-1",
            "aws:region: us-east-7",
            "aws:region: 'us-east-7' is not an AWS region in the catalog (infra/catalog.py, 2026-12-07); did "
            "you mean us-east-2 or us-east-1 or us-west-2? If it is new, set nexus:allowUnknownTypes: true "
            "to let it through with a warning",
            id="region",
        ),
        pytest.param(
            "nodeType: cache.t4g.small",
            "nodeType: cache.t4g.smal",
            "nexus:cache.nodeType: 'cache.t4g.smal' is not an ElastiCache node type in the catalog "
            "(infra/catalog.py, 2026-12-07); did you mean cache.t4g.small or cache.t3.small or "
            "cache.t4g.micro? If it is new, set nexus:allowUnknownTypes: true to let it through with a "
            "warning",
            id="cache node type",
        ),
    ],
)
def test_a_region_or_node_type_outside_the_catalog_is_refused(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    assert _problem_lines(_preview(_edited(tmp_path, old, new))) == [expected]


def test_allow_unknown_types_lets_a_node_type_through_with_a_warning(tmp_path: Path) -> None:
    path = _edited(tmp_path, "nodeType: cache.t4g.small", "nodeType: cache.t4g.smal")
    path.write_text(
        path.read_text().replace(
            "  nexus:environment: dev\n", "  nexus:environment: dev\n  nexus:allowUnknownTypes: true\n"
        )
    )
    result = _preview(path)
    assert result.returncode == 0, result.stderr
    assert (
        "  warning: stack: nexus:cache.nodeType: 'cache.t4g.smal' is not an ElastiCache node type in the "
        "catalog (infra/catalog.py, 2026-12-07); let through by nexus:allowUnknownTypes, so AWS will be the "
        "judge"
    ) in result.stdout.splitlines()


def test_allow_unknown_types_must_be_a_boolean(tmp_path: Path) -> None:
    # The CLI checks a declared boolean key's value before the program runs (pulumi/pulumi project.go
    # ValidateConfigValue), as the offline engine does.
    path = _edited(
        tmp_path, "  nexus:environment: dev\n", "  nexus:environment: dev\n  nexus:allowUnknownTypes: yes\n"
    )
    _assert_one_line(
        _preview(path),
        "Stack 'dev' with configuration key 'nexus:allowUnknownTypes' must be of type 'boolean'",
    )


def test_the_catalog_names_its_sources_and_holds_what_the_stacks_use() -> None:
    from infra import catalog

    source = Path(catalog.__file__).read_text()
    assert "API_CacheNode.html" in source
    assert "pulumi_aws/_enums.py" in source
    assert catalog.CATALOG_DATE == "2026-12-07"
    assert {"us-east-1", "eu-west-1"} <= catalog.aws_regions()
    assert {"cache.t4g.small", "cache.r7g.large"} <= catalog.ELASTICACHE_NODE_TYPES
