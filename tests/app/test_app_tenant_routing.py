"""Tenant -> shard resolution (app.core.tenantroute) and the migration job's tenant registration, as pure
functions: override before map, the shard's state decides, new tenants only where no shard knows them."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from app_support import tenant_map_doc

from app.core.errors import TenantUnavailableError
from app.core.tenantmap import parse_tenant_map
from app.core.tenantroute import RECENT_RETIREMENT_SECONDS, TenantRouter, TenantState, parse_overrides
from app.tenants.registry import Entry, new_tenants

pytestmark = pytest.mark.unit


class FakeShard:
    def __init__(self, shard_id: str) -> None:
        self.shard_id = shard_id

    def writer_error(self) -> Exception:
        return RuntimeError(f"{self.shard_id} down")


def _router(states: dict[str, dict[str, str]], overrides: dict[str, str] | None = None) -> TenantRouter:
    shards: Any = {sid: FakeShard(sid) for sid in ("shard-a", "shard-b")}
    router = TenantRouter(parse_tenant_map(json.dumps(tenant_map_doc())), shards, None)
    router.states = {
        sid: {t: TenantState(s, time.time()) for t, s in tenants.items()} for sid, tenants in states.items()
    }
    router.overrides = dict(overrides or {})
    return router


def _code(router: TenantRouter, tenant: str, *, write: bool) -> str:
    with pytest.raises(TenantUnavailableError) as caught:
        router.resolve(tenant, write=write)
    assert caught.value.status == 503
    assert caught.value.headers == {"Retry-After": "1"}
    return caught.value.code


def test_active_on_the_mapped_shard_is_served() -> None:
    router = _router({"shard-a": {"acme": "active"}, "shard-b": {}})
    shard = router.resolve("acme", write=True)
    assert shard is not None
    assert shard.shard_id == "shard-a"
    assert router.resolve("nobody", write=False) is None


def test_frozen_tenant_reads_go_on_and_writes_are_tenant_moving() -> None:
    router = _router({"shard-a": {"acme": "moving_out"}, "shard-b": {"acme": "moving_in"}})
    shard = router.resolve("acme", write=False)
    assert shard is not None
    assert shard.shard_id == "shard-a"
    assert _code(router, "acme", write=True) == "tenant_moving"


def test_the_override_wins_over_the_map() -> None:
    router = _router({"shard-a": {"acme": "retired"}, "shard-b": {"acme": "active"}}, {"acme": "shard-b"})
    shard = router.resolve("acme", write=True)
    assert shard is not None
    assert shard.shard_id == "shard-b"
    # Before the override arrives, the retired source answers tenant_moving (never its stale rows).
    router.overrides = {}
    assert _code(router, "acme", write=False) == "tenant_moving"
    router.states["shard-a"]["acme"] = TenantState("retired", time.time() - RECENT_RETIREMENT_SECONDS - 1)
    assert _code(router, "acme", write=False) == "tenant_not_on_shard"


def test_an_override_the_shards_no_longer_back_gives_way_to_the_map() -> None:
    # The move was aborted (or the tenant moved back) after an override to shard-b was published, and this
    # process has not re-read the overrides yet: shard-b has no record of acme, its mapped shard has it.
    router = _router({"shard-a": {"acme": "active"}, "shard-b": {}}, {"acme": "shard-b"})
    shard = router.resolve("acme", write=True)
    assert shard is not None
    assert shard.shard_id == "shard-a"
    # Neither backs it: the override's shard is named.
    router.states["shard-a"] = {}
    assert _code(router, "acme", write=False) == "tenant_not_on_shard"


def test_a_retired_row_points_to_where_the_tenant_went() -> None:
    # No override yet, the map still names shard-a: the retired row's pointer leads to shard-b.
    router = _router({"shard-a": {}, "shard-b": {"acme": "active"}})
    router.states["shard-a"]["acme"] = TenantState("retired", time.time(), "shard-b")
    shard = router.resolve("acme", write=True)
    assert shard is not None
    assert shard.shard_id == "shard-b"
    # Mid-switch (the target not active yet) it is tenant_moving, never the retired rows.
    router.states["shard-b"]["acme"] = TenantState("moving_in", time.time(), "shard-a")
    assert _code(router, "acme", write=False) == "tenant_moving"
    # A pointer to a shard with no record of the tenant: moving for a while, then not on the shard.
    del router.states["shard-b"]["acme"]
    assert _code(router, "acme", write=False) == "tenant_moving"
    router.states["shard-a"]["acme"] = TenantState("retired", time.time() - 3600, "shard-b")
    assert _code(router, "acme", write=False) == "tenant_not_on_shard"


def test_a_shard_without_the_tenant_is_tenant_not_on_shard() -> None:
    # globex is mapped to shard-b, whose registry does not have it: a config edit without a move.
    router = _router({"shard-a": {"globex": "active"}, "shard-b": {}})
    assert _code(router, "globex", write=False) == "tenant_not_on_shard"
    assert _code(router, "globex", write=True) == "tenant_not_on_shard"


def test_a_shard_never_read_is_its_503() -> None:
    router = _router({"shard-b": {}})
    with pytest.raises(RuntimeError, match="shard-a down"):
        router.resolve("acme", write=False)


def test_overrides_expire_and_malformed_ones_are_skipped() -> None:
    now = 1_000.0
    raw = {
        b"acme": json.dumps({"shard": "shard-b", "expires_at": now + 5}).encode(),
        b"old": json.dumps({"shard": "shard-b", "expires_at": now - 5}).encode(),
        b"bad": b"not json",
    }
    assert parse_overrides(raw, now) == {"acme": "shard-b"}


def test_new_tenants_are_registered_only_where_no_shard_knows_them() -> None:
    known = {
        "shard-a": {"acme": Entry("active", None), "initech": Entry("retired", "shard-b")},
        "shard-b": {"initech": Entry("active", "shard-a")},
    }
    register, warnings = new_tenants({"acme": "shard-b", "initech": "shard-b", "hooli": "shard-a"}, known)
    # hooli is new; acme's map entry moved without a move: it is not created empty on shard-b.
    assert register == {"hooli": "shard-a"}
    assert len(warnings) == 1
    assert warnings[0].startswith("tenant acme: the map names shard-b, which does not have it active")
    assert "python -m app.tenants move acme --to shard-b" in warnings[0]


def test_the_config_edit_moves_the_tenant_and_acknowledges_the_move() -> None:
    from types import SimpleNamespace
    from typing import cast

    from app.core.settings import Settings
    from app.tenants.move import MoveResult, config_edit

    tmap = parse_tenant_map(json.dumps(tenant_map_doc(tenants={"acme": "shard-a", "globex": "shard-a"})))
    settings = cast(Settings, SimpleNamespace(tenant_map=tmap))
    lines = config_edit(settings, MoveResult("acme", "shard-a", "shard-b"), "prod")
    assert lines == [
        "pulumi config rm --stack prod --path 'nexus:shards.shard-a.tenants'",
        "pulumi config set --stack prod --path 'nexus:shards.shard-a.tenants[0]' globex",
        "pulumi config rm --stack prod --path 'nexus:shards.shard-b.tenants'",
        "pulumi config set --stack prod --path 'nexus:shards.shard-b.tenants[0]' acme",
        "pulumi config set --stack prod --path 'nexus:tenantMoves.acme.from' shard-a",
        "pulumi config set --stack prod --path 'nexus:tenantMoves.acme.to' shard-b",
    ]
    # The last tenant off a shard: the shard leaves the config (a shard needs a tenant there).
    alone = parse_tenant_map(json.dumps(tenant_map_doc(tenants={"acme": "shard-a", "globex": "shard-b"})))
    emptied = config_edit(
        cast(Settings, SimpleNamespace(tenant_map=alone)), MoveResult("acme", "shard-a", "shard-b"), None
    )
    assert emptied[:4] == [
        "pulumi config rm --path 'nexus:shards.shard-a'",
        "pulumi config rm --path 'nexus:shards.shard-b.tenants'",
        "pulumi config set --path 'nexus:shards.shard-b.tenants[0]' acme",
        "pulumi config set --path 'nexus:shards.shard-b.tenants[1]' globex",
    ]
