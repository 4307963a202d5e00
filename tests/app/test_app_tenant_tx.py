"""The tenant transaction's first message: BEGIN and the tenant setting in one round trip, with the tenant
inlined as a literal, so only a well-formed tenant id may ever reach it."""

from __future__ import annotations

import pytest

from app.core.db import begin_sql

pytestmark = pytest.mark.unit


def test_writer_and_reader_transactions() -> None:
    assert begin_sql("acme", readonly=False) == (
        "BEGIN; SELECT set_config('app.tenant_id', 'acme', true); SELECT nexus_tenant_guard('acme')"
    )
    assert (
        begin_sql("a-1", readonly=True) == "BEGIN READ ONLY; SELECT set_config('app.tenant_id', 'a-1', true)"
    )


@pytest.mark.parametrize(
    "tenant",
    ["", "acme'; DROP TABLE documents; --", "acme\n", "ACME", "-acme", "a b", "acme\\", "a" * 64, "acmé"],
)
def test_anything_but_a_tenant_id_is_refused(tenant: str) -> None:
    with pytest.raises(ValueError, match="not a tenant id"):
        begin_sql(tenant, readonly=False)
