"""Whole-stack runs of every ``Pulumi.*.yaml`` (a new stack file is covered by the glob automatically)."""

from __future__ import annotations

import re

import pytest

from offline import known_types
from offline.values import iter_leaves
from tests.support.harness import PROJECT_NAME, STACK_FILES, StackRun, run_stack

pytestmark = pytest.mark.infra

# Text that only appears when a None, an unknown or an Output object was formatted into a string.
_LEAKED = re.compile(r"\bNone\b|Calling __str__ on an Output|<pulumi\.output\.|\[unknown\]")


def test_every_stack_file_is_found() -> None:
    names = {path.name for path in STACK_FILES}
    assert {"Pulumi.dev.yaml", "Pulumi.prod.yaml"} <= names


def test_stack_runs_to_completion(stack_run: StackRun) -> None:
    assert stack_run.error is None
    assert len(stack_run) > 0
    stack = stack_run.stack
    assert (
        stack_run.raw.stack_urn
        == f"urn:pulumi:{stack}::{PROJECT_NAME}::pulumi:pulumi:Stack::{PROJECT_NAME}-{stack}"
    )


def test_exports_are_present_and_known(stack_run: StackRun) -> None:
    assert stack_run.outputs, "the stack exports nothing"
    for name, value in stack_run.outputs.items():
        assert value is not None, f"export {name} is None"
        leaked = [
            (path, leaf)
            for path, leaf in iter_leaves(value)
            if leaf is None or (isinstance(leaf, str) and _LEAKED.search(leaf))
        ]
        assert not leaked, f"export {name} carries unknown or None values: {leaked}"


def test_no_unknown_reaches_a_provider(stack_run: StackRun) -> None:
    # In an update every input is known; an unknown here means an output the program read was never computed.
    assert stack_run.unknown_inputs() == []


def test_no_required_input_went_missing(stack_run: StackRun) -> None:
    # The SDK drops an input whose Output resolved to None; a required one missing means the program read an
    # output the cloud (here: the emulation) never computed.
    assert stack_run.missing_required_inputs() == []


def _leaks(values: dict[str, object]) -> list[tuple[str, str]]:
    return [
        (path, leaf)
        for path, leaf in iter_leaves(values)
        if isinstance(leaf, str)
        and _LEAKED.search(leaf)
        and not path.endswith("clusterIP")  # headless: "None"
    ]


def test_no_none_formatted_into_an_input_an_output_or_an_id(stack_run: StackRun) -> None:
    leaked = [
        (resource.urn, path, leaf)
        for resource in stack_run
        for path, leaf in _leaks(
            {"inputs": dict(resource.inputs), "outputs": dict(resource.outputs), "id": resource.id}
        )
    ]
    assert leaked == []


def test_every_custom_type_is_emulated(stack_run: StackRun) -> None:
    # A type the emulated cloud does not know echoes only its inputs: whatever AWS computes for it would read
    # as None downstream. Register it in offline/aws/ (or other_types.py).
    assert stack_run.raw.unemulated_types == frozenset(), sorted(
        stack_run.raw.unemulated_types - known_types()
    )


def test_the_program_logs_no_warning_or_error(stack_run: StackRun) -> None:
    # pulumi up prints these (deprecated properties, provider hints): fix them rather than scroll past them.
    # The one exception is by design: a preview warns once per example value of the shipped stack file
    # (stacks/config/placeholders.py), which a real update refuses.
    from stacks.program import PLACEHOLDER_WARNING

    assert [
        (e.severity, e.urn, e.message)
        for e in stack_run.raw.logs
        if e.severity in ("warning", "error") and not e.message.startswith(PLACEHOLDER_WARNING)
    ] == []


def test_runs_are_deterministic(stack_run: StackRun) -> None:
    again = run_stack(f"Pulumi.{stack_run.stack}.yaml", cache=False)
    assert [(r.urn, r.inputs, r.outputs, r.id) for r in again] == [
        (r.urn, r.inputs, r.outputs, r.id) for r in stack_run
    ]
    assert again.outputs == stack_run.outputs
