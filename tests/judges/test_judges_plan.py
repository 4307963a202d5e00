"""The plan both judges read: secrets keep their length but not their content, unknowns get a valid form."""

from __future__ import annotations

import pytest
from pulumi.output import Unknown

from judges.plan import SECRET_FILL, _clean, placeholder
from offline.values import wrap_secret

pytestmark = pytest.mark.unit


def test_secrets_keep_their_length_not_their_content() -> None:
    cleaned = _clean(
        {"passwordWo": wrap_secret("t+8apv8SGndn"), "port": 5432.0, "nested": [wrap_secret(7.0)]}
    )
    assert cleaned == {"passwordWo": SECRET_FILL * 12, "port": 5432, "nested": [7]}


def test_unknowns_become_placeholders_of_a_valid_form() -> None:
    cleaned = _clean({"roleArn": Unknown(), "vpcId": Unknown(), "subnetIds": [Unknown()], "name": Unknown()})
    assert cleaned["roleArn"].startswith("arn:aws:iam::123456789012:")
    assert cleaned["vpcId"] == placeholder("vpcId")
    assert cleaned["subnetIds"] == [placeholder("subnetIds")]
    assert cleaned["name"] == "placeholder"
