"""Config values AWS refuses that cfn-lint found (make cfn-lint over plans of varied configs), refused
where the user makes the mistake: in the stack config, naming the key and what would be valid, before any
resource is registered (stacks/config/aws_values.py)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.harness import config_problems, run_stack, stack_config

pytestmark = pytest.mark.infra


def _dev_config() -> dict[str, Any]:
    return stack_config("dev")


def _with(key: str, path: tuple[str, ...], value: Any) -> dict[str, Any]:
    config = _dev_config()
    node = config.setdefault(key, {})
    for part in path[:-1]:
        node = node.setdefault(part, {})
    if path:
        node[path[-1]] = value
    else:
        config[key] = value
    return config


@pytest.mark.parametrize(
    ("key", "path", "value", "expected"),
    [
        (
            "nexus:network",
            ("flowLogRetentionDays",),
            42,
            "nexus:network.flowLogRetentionDays: 42 is not a retention",
        ),
        (
            "nexus:cluster",
            ("logRetentionDays",),
            100,
            "nexus:cluster.logRetentionDays: 100 is not a retention",
        ),
        ("nexus:tags", (), {"aws:owner": "x"}, "nexus:tags.aws:owner: the tag key starts with 'aws:'"),
        ("nexus:tags", (), {"owner": "AWS:me"}, "nexus:tags.owner: the tag value starts with 'aws:'"),
        (
            "nexus:tags",
            (),
            {"owner": "a#b"},
            "nexus:tags.owner: the tag value 'a#b' has characters AWS refuses",
        ),
        ("nexus:tags", (), {"k" * 129: "x"}, "a tag key has 1 to 128 characters, this one 129"),
        ("nexus:tags", (), {"owner": "v" * 257}, "a tag value has at most 256 characters, this one 257"),
    ],
)
def test_values_aws_refuses_are_refused_by_the_config(
    key: str, path: tuple[str, ...], value: Any, expected: str
) -> None:
    problems = config_problems(_with(key, path, value), stack="qa1")
    assert len(problems) == 1
    assert expected in problems[0]
    if "retention" in expected:
        assert "use one of 1, 3, 5, 7, 14, 30, 60, 90" in problems[0]


@pytest.mark.parametrize(
    ("key", "path", "value"),
    [
        ("nexus:network", ("flowLogRetentionDays",), 3653),
        ("nexus:cluster", ("logRetentionDays",), 1),
        ("nexus:tags", (), {"cost-center": "team a/b: +1 = x@y.z_w", "Ünïcode": "日本"}),
    ],
)
def test_values_aws_takes_still_run(key: str, path: tuple[str, ...], value: Any) -> None:
    assert run_stack(_with(key, path, value), stack="qa1").error is None
