"""Pure parts of the offline engine: value helpers, auto-names, emulated outputs, invokes, stack files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from offline import cloud, invokes
from offline.cloud import AutoName, Ctx, EmulationError, auto_name, emulate, lookup
from offline.monitor import RecordingMonitor, from_wire, to_wire
from offline.project import SECURE_PLACEHOLDER, read_project, read_stack
from offline.values import (
    mask_secrets,
    normalize_numbers,
    secret_paths,
    unwrap_secrets,
    wrap_secret,
)

pytestmark = pytest.mark.unit

URN = "urn:pulumi:dev::p::nexus:x:X$aws:rds/instance:Instance::db"


def _ctx(type_: str, logical: str = "db", **inputs: object) -> Ctx:
    urn = f"urn:pulumi:dev::p::{type_}::{logical}"
    return Ctx(type=type_, name=logical, urn=urn, inputs=dict(inputs), region="eu-west-1")


def test_secrets_are_masked_unwrapped_and_located() -> None:
    value = {"a": wrap_secret("pw"), "b": [1.0, wrap_secret({"k": 2.0})], "c": "plain"}
    assert mask_secrets(value) == {"a": "[secret]", "b": [1.0, "[secret]"], "c": "plain"}
    assert unwrap_secrets(value) == {"a": "pw", "b": [1.0, {"k": 2.0}], "c": "plain"}
    assert secret_paths(value) == {"a", "b.1"}


@settings(max_examples=60)
@given(
    st.recursive(
        st.floats(allow_nan=False) | st.text() | st.booleans(),
        lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
    )
)
def test_normalize_numbers_only_turns_integral_floats_into_ints(value: object) -> None:
    # Leaf by leaf against the drawn value: comparing the two through JSON (1 == 1.0 in Python) held even for
    # a normalize_numbers that changed nothing, so the property could not catch the bug it is named after.
    def check(original: object, normalized: object) -> None:
        if isinstance(original, float) and original.is_integer():
            assert type(normalized) is int, (original, normalized)
            assert normalized == original
        elif isinstance(original, dict):
            assert isinstance(normalized, dict)
            assert list(normalized) == list(original)
            for key in original:
                check(original[key], normalized[key])
        elif isinstance(original, list):
            assert isinstance(normalized, list)
            assert len(normalized) == len(original)
            for before, after in zip(original, normalized, strict=True):
                check(before, after)
        else:
            assert type(normalized) is type(original), (original, normalized)
            assert normalized == original

    check(value, normalize_numbers(value))
    assert json.dumps(normalize_numbers([100.0, 2.5])) == "[100, 2.5]"


def test_wire_round_trip_keeps_secrets_and_unknowns() -> None:
    from pulumi.output import Unknown

    value = {"s": wrap_secret("x"), "n": 3.0, "u": Unknown(), "l": [wrap_secret(1.0)]}
    back = from_wire(to_wire(value))
    assert back["s"] == wrap_secret("x")
    assert isinstance(back["u"], Unknown)
    assert back["n"] == 3.0
    assert back["l"] == [wrap_secret(1.0)]


def test_autoname_shape_and_determinism() -> None:
    ctx = _ctx("aws:s3/bucket:Bucket", "Uploads")
    name = auto_name(ctx, AutoName("bucket", maxlen=63, lower=True))
    assert name.startswith("uploads-")
    assert len(name) == len("uploads-") + 7
    assert name == auto_name(
        _ctx("aws:s3/bucket:Bucket", "Uploads"), AutoName("bucket", maxlen=63, lower=True)
    )
    assert name != auto_name(_ctx("aws:s3/bucket:Bucket", "Other"), AutoName("bucket", maxlen=63, lower=True))


def test_autoname_with_a_prefix_input_and_the_length_limit() -> None:
    prefixed = auto_name(
        _ctx("aws:eks/nodeGroup:NodeGroup", nodeGroupNamePrefix="general-"),
        AutoName("nodeGroupName", maxlen=63, prefix_prop="nodeGroupNamePrefix"),
    )
    assert prefixed.startswith("general-")
    assert len(prefixed) == len("general-") + 26
    assert prefixed[len("general-") :].isdigit()
    with pytest.raises(EmulationError, match="plus 7 random chars is longer than maximum length 32"):
        auto_name(_ctx("aws:lb/loadBalancer:LoadBalancer", "x" * 25), AutoName("name", maxlen=32))


def test_autonames_fill_only_absent_inputs() -> None:
    emulation = lookup("aws:rds/instance:Instance")
    _, state = emulate(_ctx("aws:rds/instance:Instance", engine="postgres", identifier="given"), emulation)
    assert "identifier" not in state
    assert state["address"].startswith("given.")
    _, state = emulate(_ctx("aws:rds/instance:Instance", "main", engine="postgres"), emulation)
    assert state["identifier"].startswith("main-")
    with pytest.raises(EmulationError, match="refused by the provider"):
        emulate(_ctx("aws:rds/instance:Instance", "Main", engine="postgres"), emulation)


def test_kms_alias_names_carry_the_alias_prefix() -> None:
    _, state = emulate(_ctx("aws:kms/alias:Alias", "uploads", targetKeyId="k"), lookup("aws:kms/alias:Alias"))
    assert state["name"].startswith("alias/uploads-")
    _, state = emulate(_ctx("aws:kms/alias:Alias", "x", name="alias/given"), lookup("aws:kms/alias:Alias"))
    assert "name" not in state


def test_rds_instance_and_proxy_outputs() -> None:
    physical_id, state = emulate(
        _ctx("aws:rds/instance:Instance", engine="postgres", identifier="db1"),
        lookup("aws:rds/instance:Instance"),
    )
    assert physical_id == state["resourceId"]
    assert physical_id.startswith("db-")
    assert state["endpoint"] == f"{state['address']}:5432"
    assert state["arn"] == "arn:aws:rds:eu-west-1:123456789012:db:db1"
    _, proxy = emulate(_ctx("aws:rds/proxy:Proxy", name="px"), lookup("aws:rds/proxy:Proxy"))
    assert proxy["endpoint"].startswith("px.proxy-")
    assert proxy["endpoint"].endswith(".eu-west-1.rds.amazonaws.com")


def test_eks_cluster_outputs() -> None:
    _, state = emulate(
        _ctx("aws:eks/cluster:Cluster", name="c", vpcConfig={"subnetIds": ["s"]}),
        lookup("aws:eks/cluster:Cluster"),
    )
    assert state["endpoint"].startswith("https://")
    assert state["identities"][0]["oidcs"][0]["issuer"].startswith(
        "https://oidc.eks.eu-west-1.amazonaws.com/id/"
    )
    assert state["vpcConfig"]["subnetIds"] == ["s"]
    assert state["vpcConfig"]["clusterSecurityGroupId"].startswith("sg-")
    assert (
        "BEGIN CERTIFICATE" in __import__("base64").b64decode(state["certificateAuthority"]["data"]).decode()
    )


def test_kubernetes_objects_get_a_name_only_when_missing() -> None:
    emulation = lookup("kubernetes:apps/v1:Deployment")
    physical_id, state = emulate(
        _ctx("kubernetes:apps/v1:Deployment", "api", metadata={"namespace": "nexus"}), emulation
    )
    assert state["metadata"]["name"].startswith("api-")
    assert len(state["metadata"]["name"]) == len("api-") + 8
    assert physical_id == f"nexus/{state['metadata']['name']}"
    _, state = emulate(_ctx("kubernetes:core/v1:Namespace", "ns", metadata={"name": "nexus"}), emulation)
    assert state["metadata"]["name"] == "nexus"


def test_random_password_respects_length_and_classes() -> None:
    _, state = emulate(
        _ctx("random:index/randomPassword:RandomPassword", length=24, special=False),
        lookup("random:index/randomPassword:RandomPassword"),
    )
    assert len(state["result"]) == 24
    assert state["result"].isalnum()


def test_unknown_types_are_reported_not_guessed() -> None:
    assert lookup("aws:nosuch/thing:Thing") is None
    assert "aws:ec2/vpc:Vpc" in cloud.known_types()


def test_invokes() -> None:
    zones = invokes.answer("aws:index/getAvailabilityZones:getAvailabilityZones", {}, "us-east-1")
    assert len(zones["names"]) >= 3
    # Zone filters and Local Zones: tests/offline/test_offline_cluster_rules.py.
    assert "use1-az1" in zones["zoneIds"]
    document = invokes.answer(
        "aws:iam/getPolicyDocument:getPolicyDocument",
        {
            "statements": [
                {
                    "actions": ["s3:GetObject"],
                    "resources": ["arn:aws:s3:::b/*"],
                    "principals": [{"type": "Service", "identifiers": ["eks.amazonaws.com"]}],
                    "conditions": [
                        {"test": "StringEquals", "variable": "aws:SourceAccount", "values": ["1"]}
                    ],
                }
            ]
        },
        "us-east-1",
    )
    statement = json.loads(document["json"])["Statement"][0]
    assert statement == {
        "Effect": "Allow",
        "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::b/*",
        "Principal": {"Service": "eks.amazonaws.com"},
        "Condition": {"StringEquals": {"aws:SourceAccount": "1"}},
    }
    with pytest.raises(EmulationError, match="aws:ec2/getVpc:getVpc"):
        invokes.answer("aws:ec2/getVpc:getVpc", {}, "us-east-1")


def test_urns_carry_the_whole_parent_chain() -> None:
    monitor = RecordingMonitor(project="p", stack="s", default_region="us-east-1")
    stack = monitor.make_urn("", "pulumi:pulumi:Stack", "p-s")
    outer = monitor.make_urn(stack, "a:b:Outer", "o")
    inner = monitor.make_urn(outer, "a:b:Inner", "i")
    leaf = monitor.make_urn(inner, "aws:s3/bucket:Bucket", "b")
    assert outer == "urn:pulumi:s::p::a:b:Outer::o"
    assert leaf == "urn:pulumi:s::p::a:b:Outer$a:b:Inner$aws:s3/bucket:Bucket::b"


def test_stack_files_mark_secure_values_secret(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.yaml").write_text("name: demo\nruntime: python\nconfig:\n  size:\n    default: 3\n")
    (tmp_path / "Pulumi.x.yaml").write_text(
        "config:\n  aws:region: us-east-1\n  demo:token:\n    secure: AAABADxyz\n"
        "  flag: true\n  nexus:map: {a: 1}\n"
    )
    stack = read_stack(tmp_path / "Pulumi.x.yaml", read_project(tmp_path))
    assert stack.stack == "x"
    assert stack.secret_keys == ("demo:token",)
    assert stack.config == {
        "aws:region": "us-east-1",
        "demo:token": SECURE_PLACEHOLDER,
        "demo:flag": "true",
        "demo:size": "3",
        "nexus:map": '{"a": 1}',
    }
