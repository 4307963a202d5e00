"""nexus:tenantMoves (stacks/config/tenant_moves.py) and the change view's guard on tenant moves
(policy/tenancy.py): a prod config that moves a tenant without acknowledging the move is refused."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from policy.tenancy import tenant_move_refusals, tenant_moves
from stacks.config import ConfigError, load
from stacks.preview import main
from tests.support.harness import PROJECT_DIR, raw_stack_config


def _raw(**extra: Any) -> dict[str, str]:
    """The dev stack's config with acme on shard-b, globex on shard-a, plus `extra` keys."""
    raw = raw_stack_config("dev")
    raw["nexus:shards"] = json.dumps({"shard-a": {"tenants": ["globex"]}, "shard-b": {"tenants": ["acme"]}})
    raw |= {key: json.dumps(value) for key, value in extra.items()}
    return raw


@pytest.mark.unit
def test_an_acknowledged_move_is_loaded() -> None:
    config = load(_raw(**{"nexus:tenantMoves": {"acme": {"from": "shard-a", "to": "shard-b"}}}), stack="t")
    move = config.tenant_moves["acme"]
    assert (move.source, move.target) == ("shard-a", "shard-b")
    assert load(_raw(), stack="t").tenant_moves == {}


@pytest.mark.unit
@pytest.mark.parametrize(
    ("moves", "problem"),
    [
        ([], "nexus:tenantMoves: expected a map of tenant id to {from: shard id, to: shard id}, got list []"),
        (
            {"acme": "shard-b"},
            'nexus:tenantMoves.acme: expected {from: shard id, to: shard id}, got "shard-b"',
        ),
        ({"acme": {"from": "A!", "to": "shard-b"}}, 'nexus:tenantMoves.acme.from: "A!" is not a shard id'),
        (
            {"acme": {"from": "shard-b", "to": "shard-b"}},
            "nexus:tenantMoves.acme: from and to are both 'shard-b'; a move names two shards",
        ),
        (
            {"hooli": {"from": "shard-a", "to": "shard-b"}},
            "nexus:tenantMoves.hooli: 'hooli' is no tenant of nexus:shards; remove the entry",
        ),
        (
            {"acme": {"from": "shard-b", "to": "shard-a"}},
            "nexus:tenantMoves.acme.to: 'shard-a', but nexus:shards puts acme on 'shard-b'; acknowledge the "
            "move the config makes (to: shard-b)",
        ),
    ],
)
def test_a_bad_entry_is_refused_naming_its_key(moves: Any, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load(_raw(**{"nexus:tenantMoves": moves}), stack="t")
    assert caught.value.problems == [problem]


@pytest.mark.unit
def test_the_rule_refuses_unacknowledged_moves_in_prod_only() -> None:
    old = {"acme": "shard-a", "globex": "shard-a", "initech": "shard-b"}
    new = {"acme": "shard-b", "globex": "shard-b", "initech": "shard-b"}
    assert tenant_moves(old, new) == {"acme": ("shard-a", "shard-b"), "globex": ("shard-a", "shard-b")}
    acknowledged = {"acme": ("shard-a", "shard-b"), "globex": ("shard-c", "shard-b")}
    refusals = tenant_move_refusals(old, new, acknowledged, prod=True)
    assert len(refusals) == 1
    assert refusals[0].startswith(
        "[tenant-move-acknowledged] nexus:tenantMoves.globex: tenant globex moves from shard-a to shard-b"
    )
    assert tenant_move_refusals(old, new, {}, prod=False) == []


def _edited_prod(tmp_path: Path, moves: dict[str, Any] | None) -> Path:
    edited = yaml.safe_load((PROJECT_DIR / "Pulumi.prod.yaml").read_text())
    shards = edited["config"]["nexus:shards"]
    shards["shard-a"]["tenants"].remove("globex")
    shards["shard-b"]["tenants"].append("globex")
    if moves is not None:
        edited["config"]["nexus:tenantMoves"] = moves
    path = tmp_path / "Pulumi.prod.yaml"
    path.write_text(yaml.safe_dump(edited))
    return path


@pytest.mark.infra
def test_the_prod_change_view_refuses_a_move_until_it_is_acknowledged(tmp_path: Path) -> None:
    base = ["--stack", "prod", "--against", str(PROJECT_DIR / "Pulumi.prod.yaml")]
    out, err = io.StringIO(), io.StringIO()
    assert main([*base, "--config-file", str(_edited_prod(tmp_path, None))], out=out, err=err) == 1
    lines = out.getvalue().splitlines()
    assert lines[2] == "REFUSED: fix the config first"
    assert lines[3].startswith(
        "  xx [tenant-move-acknowledged] nexus:tenantMoves.globex: tenant globex moves"
    )
    assert "  !! tenant globex moves from shard-a to shard-b: run the move first, see docs/shards.md" in lines
    assert "run `python -m app.tenants move globex --to shard-b` first" in err.getvalue()

    out, err = io.StringIO(), io.StringIO()
    acknowledged = _edited_prod(tmp_path, {"globex": {"from": "shard-a", "to": "shard-b"}})
    assert main([*base, "--config-file", str(acknowledged)], out=out, err=err) == 0, err.getvalue()
    assert "REFUSED" not in out.getvalue()
    assert "  !! tenant globex moves from shard-a to shard-b: run the move first, see docs/shards.md" in (
        out.getvalue().splitlines()
    )
