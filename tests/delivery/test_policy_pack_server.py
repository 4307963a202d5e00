"""The policy pack as the Pulumi CLI runs it: a process serving the analyzer protocol over gRPC.

The CLI starts a Python pack with ``python -u -m pulumi.policy <engine> <pack dir>`` from the pack's
directory, in the virtualenv named by PulumiPolicy.yaml, reads the port from the first line of stdout, then
calls ``GetAnalyzerInfo`` and, at the end of a preview or update, ``AnalyzeStack``. This test does the same
with the stack's resources as the engine would marshal them (engine_view.py), so ``pulumi preview
--policy-pack policy_pack`` is exercised up to the wire, without the CLI.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
import yaml
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc
from pulumi.runtime.proto.plugin_pb2 import PluginInfo

from policy import RULES
from tests.delivery.engine_view import Moment, analyze_stack_request
from tests.support.harness import PROJECT_DIR, run_stack

pytestmark = pytest.mark.infra

PACK_DIR = PROJECT_DIR / "policy_pack"
START_TIMEOUT = 120  # seconds: the pack imports the rules (and pulumi_aws lazily) on a loaded machine


def _pack_python() -> Path:
    """The interpreter the CLI would use: PulumiPolicy.yaml's virtualenv, relative to the pack."""
    options = yaml.safe_load((PACK_DIR / "PulumiPolicy.yaml").read_text())["runtime"]["options"]
    venv = (PACK_DIR / options["virtualenv"]).resolve()
    assert venv == Path(sys.executable).parent.parent.resolve(), "the pack runs in the project's venv"
    return venv / "bin" / "python"


@pytest.fixture(scope="module")
def analyzer() -> Iterator[Any]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PULUMI_")}
    process = subprocess.Popen(
        [str(_pack_python()), "-u", "-m", "pulumi.policy", "127.0.0.1:1", str(PACK_DIR)],
        cwd=PACK_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        port = _first_line(process)
        channel = grpc.insecure_channel(
            f"127.0.0.1:{port}", options=[("grpc.max_receive_message_length", -1)]
        )
        grpc.channel_ready_future(channel).result(timeout=START_TIMEOUT)
        yield analyzer_pb2_grpc.AnalyzerStub(channel)
        channel.close()
    finally:
        process.kill()
        process.communicate(timeout=30)  # reaps the process and closes its pipes


def _first_line(process: subprocess.Popen[str]) -> int:
    import selectors

    assert process.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    if not selector.select(timeout=START_TIMEOUT):
        process.kill()
        _, err = process.communicate(timeout=30)
        pytest.fail(f"the pack printed no port within {START_TIMEOUT}s:\n{err}")
    line = process.stdout.readline().strip()
    if not line.isdigit():
        process.kill()
        _, err = process.communicate(timeout=30)
        pytest.fail(f"the pack did not start: {line!r}\n{err}")
    return int(line)


def test_the_served_pack_lists_every_rule_as_a_mandatory_stack_policy(analyzer: Any) -> None:
    from google.protobuf.empty_pb2 import Empty

    info = analyzer.GetAnalyzerInfo(Empty(), timeout=60)
    assert info.name == "nexus-api"
    assert [p.name for p in info.policies] == [rule.name for rule in RULES]
    assert {p.policy_type for p in info.policies} == {analyzer_pb2.PolicyType.POLICY_TYPE_STACK}
    assert {p.enforcementLevel for p in info.policies} == {analyzer_pb2.MANDATORY}
    assert isinstance(analyzer.GetPluginInfo(Empty(), timeout=60), PluginInfo)


# Every stack at both moments is covered in-process (test_policy_pack.py); over the wire one of each will do:
# the server deserializes the request once per policy, which makes each call cost seconds.
@pytest.mark.parametrize(("stack", "moment"), [("dev", "state"), ("prod", "preview")])
def test_analyze_stack_over_grpc_is_green(analyzer: Any, stack: str, moment: Moment) -> None:
    response = analyzer.AnalyzeStack(analyze_stack_request(run_stack(stack), moment), timeout=120)
    assert [(d.policyName, d.urn, d.message) for d in response.diagnostics] == []


def test_analyze_stack_over_grpc_reports_a_public_rds_instance(analyzer: Any) -> None:
    run = run_stack("prod")
    instance = run.by_type("aws:rds/instance:Instance")[0]
    request = analyze_stack_request(run, "preview", edit={instance.urn: {"publiclyAccessible": True}})
    response = analyzer.AnalyzeStack(request, timeout=120)
    found = {(d.policyName, d.urn) for d in response.diagnostics}
    assert found == {("rds-encrypted-private", instance.urn), ("no-world-data-store", instance.urn)}
    assert {d.enforcementLevel for d in response.diagnostics} == {analyzer_pb2.MANDATORY}
    assert any("publicly accessible" in d.message for d in response.diagnostics)
