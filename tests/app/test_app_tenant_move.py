"""Moving a tenant to another shard online (issue 20), on the session's local stack.

acme moves shard-a -> shard-b while writers and readers run against acme and against globex (the other
tenant of shard-a); every test moves acme back afterwards, so the rest of the suite finds it on shard-a.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from app_support import api_with_tenant_map

from app.core.settings import build_settings
from app.tenants.move import MoveAbortedError, Mover
from devstack import LocalStack
from devstack.appenv import migration_environment
from tests.support.clients import User

REPO = Path(__file__).resolve().parents[2]
SEED_DOCUMENTS = 10_000


class Killed(BaseException):
    """What a kill -9 at a checkpoint looks like to the code after it: nothing more runs."""


def _mover(stack: LocalStack, **kwargs: Any) -> Mover:
    env = stack.app_env | migration_environment(stack.topology, stack.secrets)
    return Mover(build_settings(env, signs_tokens=False, owner=True), say=print, **kwargs)


def _states(stack: LocalStack, tenant: str) -> dict[str, str]:
    found = {}
    for shard in ("shard-a", "shard-b"):
        sql = f"SELECT state FROM shard_tenants WHERE tenant = '{tenant}'"  # noqa: S608
        out = stack.psql(shard, sql).strip()
        if out:
            found[shard] = out
    return found


def _rows(stack: LocalStack, shard: str, tenant: str) -> dict[str, int]:
    counts = {}
    for table in ("users", "documents", "attachments"):
        sql = f"SELECT count(*) FROM {table} WHERE tenant_id = '{tenant}'"  # noqa: S608
        counts[table] = int(stack.psql(shard, sql).strip())
    return counts


@pytest.fixture
def acme_home(local_stack: LocalStack) -> Iterator[None]:
    """acme is active on shard-a before and after the test (moved back, and shard-b's copy deleted)."""
    assert _states(local_stack, "acme").get("shard-a") == "active"
    yield
    mover = _mover(local_stack)
    try:
        if _states(local_stack, "acme").get("shard-a") != "active":
            mover.move("acme", "shard-a")
        mover.cleanup("acme", grace_seconds=0)
    finally:
        mover.close()
    assert _states(local_stack, "acme")["shard-a"] == "active"
    time.sleep(1)  # every API process has seen it


class Traffic:
    """A writer and a reader per user, recording every answer, until stopped."""

    def __init__(self, base_url: str, users: list[User]) -> None:
        self.base_url = base_url
        self.stop = threading.Event()
        self.acked: dict[str, list[str]] = {u.tenant: [] for u in users}
        self.refused: dict[str, list[str]] = {u.tenant: [] for u in users}
        self.errors: dict[str, Counter[str]] = {u.tenant: Counter() for u in users}
        self.reads: Counter[str] = Counter()
        self.threads = [threading.Thread(target=self._write, args=(u,)) for u in users]
        self.threads += [threading.Thread(target=self._read, args=(u,)) for u in users]

    def __enter__(self) -> Traffic:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=60)

    def _note(self, tenant: str, response: httpx.Response) -> None:
        code = response.json().get("error", {}).get("code", "?") if response.status_code >= 400 else ""
        self.errors[tenant][f"{response.status_code} {code}"] += 1

    def _write(self, user: User) -> None:
        with httpx.Client(base_url=self.base_url, timeout=30, headers=user.headers) as client:
            while not self.stop.is_set():
                title = f"move-{secrets.token_hex(8)}"
                response = client.post("/v1/documents", json={"title": title, "body": "b"})
                if response.status_code == 201:
                    self.acked[user.tenant].append(title)
                else:
                    self.refused[user.tenant].append(title)
                    self._note(user.tenant, response)

    def _read(self, user: User) -> None:
        with httpx.Client(base_url=self.base_url, timeout=30, headers=user.headers) as client:
            while not self.stop.is_set():
                response = client.get("/v1/documents", params={"limit": 5})
                if response.status_code == 200:
                    self.reads[user.tenant] += 1
                else:
                    self._note(user.tenant, response)


def _titles(stack: LocalStack, shard: str, tenant: str) -> Counter[str]:
    sql = f"SELECT title FROM documents WHERE tenant_id = '{tenant}' AND title LIKE 'move-%'"  # noqa: S608
    return Counter(line.strip() for line in stack.psql(shard, sql).splitlines() if line.strip())


def _post(stack: LocalStack, user: User) -> httpx.Response:
    return httpx.post(f"{stack.url}/v1/documents", json={"title": "t", "body": "b"}, headers=user.headers)


def _seed(stack: LocalStack, user: User, count: int) -> None:
    """`count` documents of the user, inserted straight into shard-a (as the API would, with ids)."""
    stack.psql(
        "shard-a",
        "INSERT INTO documents (id, tenant_id, author_id, title, body)"  # noqa: S608
        f" SELECT gen_random_uuid(), '{user.tenant}', '{user.user_id}', 'seed-' || g, repeat('x', 200)"
        f" FROM generate_series(1, {count}) g",
    )


def test_move_under_load_loses_nothing_and_other_tenants_see_nothing(
    local_stack: LocalStack, new_user: Any, acme_home: None
) -> None:
    acme, globex = new_user("acme"), new_user("globex")
    _seed(local_stack, acme, SEED_DOCUMENTS)
    before = _rows(local_stack, "shard-a", "acme")
    mover = _mover(local_stack)
    try:
        with Traffic(local_stack.url, [acme, globex]) as traffic:
            time.sleep(1.5)
            result = mover.move("acme", "shard-b")
            time.sleep(1.5)  # the writers go on against the target
    finally:
        mover.close()
    assert _states(local_stack, "acme") == {"shard-a": "retired", "shard-b": "active"}
    # Every acknowledged write is on the target, once; none of the refused ones is anywhere.
    on_target = _titles(local_stack, "shard-b", "acme")
    assert set(traffic.acked["acme"]) <= set(on_target), "an acknowledged write is missing on the target"
    assert max(on_target.values()) == 1
    assert not set(traffic.refused["acme"]) & set(on_target)
    left_behind = set(_titles(local_stack, "shard-a", "acme")) - set(on_target)
    assert not left_behind, "a write landed on the source after the copy"
    after = _rows(local_stack, "shard-b", "acme")
    assert after["documents"] == before["documents"] + len(traffic.acked["acme"])
    assert after["users"] == before["users"]
    # The moving tenant saw only 503 tenant_moving; the other tenant saw no error at all.
    assert set(traffic.errors["acme"]) <= {"503 tenant_moving"}, traffic.errors["acme"]
    assert not traffic.errors["globex"], traffic.errors["globex"]
    assert traffic.acked["globex"]
    assert traffic.reads["globex"]
    assert traffic.reads["acme"]
    assert result.freeze_seconds is not None
    docs = next(c for c in result.copied if c.table == "documents")
    print(
        f"\nmove of {result.rows} rows ({docs.rows} documents): writes refused {result.freeze_seconds:.2f}s, "
        f"copy {result.copy_seconds:.2f}s = {result.rows / result.copy_seconds:.0f} rows/s; "
        f"acme writes acked {len(traffic.acked['acme'])}, refused {len(traffic.refused['acme'])}"
    )


CHECKPOINTS = [
    "frozen",
    "prepared",
    "copied:documents",
    "copied:attachments",
    "verified",
    "target-active",
    "routed",
    "retired",
]


@pytest.mark.parametrize("step", CHECKPOINTS)
def test_a_move_killed_at_each_step_ends_consistent_when_run_again(
    local_stack: LocalStack, new_user: Any, acme_home: None, step: str
) -> None:
    acme = new_user("acme")
    acme_doc = httpx.post(
        f"{local_stack.url}/v1/documents", json={"title": "kept", "body": step}, headers=acme.headers
    )
    assert acme_doc.status_code == 201, acme_doc.text
    before = _rows(local_stack, "shard-a", "acme")

    def kill_at(name: str) -> None:
        if name == step:
            raise Killed(name)

    mover = _mover(local_stack, checkpoint=kill_at)
    with pytest.raises(Killed):
        mover.move("acme", "shard-b")
    mover.close()
    # Killed: the tenant is frozen or switched, never served from two places, never writable on both.
    states = _states(local_stack, "acme")
    assert list(states.values()).count("active") <= 1, states
    time.sleep(1)
    read = httpx.get(f"{local_stack.url}/v1/documents/{acme_doc.json()['id']}", headers=acme.headers)
    assert read.status_code in (200, 503), read.text
    if read.status_code == 503:
        assert read.json()["error"]["code"] == "tenant_moving"

    mover = _mover(local_stack)
    try:
        mover.move("acme", "shard-b")
    finally:
        mover.close()
    assert _states(local_stack, "acme") == {"shard-a": "retired", "shard-b": "active"}
    assert _rows(local_stack, "shard-b", "acme") == before
    time.sleep(1)
    read = httpx.get(f"{local_stack.url}/v1/documents/{acme_doc.json()['id']}", headers=acme.headers)
    assert read.status_code == 200
    assert read.json()["body"] == step
    write = httpx.post(
        f"{local_stack.url}/v1/documents", json={"title": "t", "body": "b"}, headers=acme.headers
    )
    assert write.status_code == 201, write.text


def test_a_checksum_mismatch_aborts_and_unfreezes(
    local_stack: LocalStack, new_user: Any, acme_home: None
) -> None:
    acme = new_user("acme")
    before = _rows(local_stack, "shard-a", "acme")

    def corrupt(name: str) -> None:
        if name == "copied:attachments":  # the last table: a stray row appears on the target
            local_stack.psql(
                "shard-b",
                "INSERT INTO documents (id, tenant_id, author_id, title, body)"  # noqa: S608
                f" VALUES (gen_random_uuid(), 'acme', '{acme.user_id}', 'stray', 'x')",
            )

    mover = _mover(local_stack, checkpoint=corrupt)
    try:
        with pytest.raises(MoveAbortedError, match="documents"):
            mover.move("acme", "shard-b")
    finally:
        mover.close()
    assert _states(local_stack, "acme") == {"shard-a": "active"}
    assert _rows(local_stack, "shard-b", "acme") == dict.fromkeys(before, 0)
    assert _rows(local_stack, "shard-a", "acme") == before
    time.sleep(1)
    write = httpx.post(
        f"{local_stack.url}/v1/documents", json={"title": "t", "body": "b"}, headers=acme.headers
    )
    assert write.status_code == 201, write.text


def test_a_config_edit_without_a_move_is_503_tenant_not_on_shard(
    local_stack: LocalStack, new_user: Any, tmp_path: Path
) -> None:
    """An API whose map names shard-a for umbrella (whose rows are on shard-b): never empty, never written."""
    umbrella = new_user("umbrella")
    tenant_map = local_stack.tenant_map
    tenant_map["tenants"]["umbrella"] = "shard-a"
    with api_with_tenant_map(local_stack, tenant_map, tmp_path) as base:
        for response in (
            httpx.get(f"{base}/v1/documents", headers=umbrella.headers, timeout=10),
            httpx.post(f"{base}/v1/documents", json={"title": "t", "body": "b"}, headers=umbrella.headers),
        ):
            assert response.status_code == 503, response.text
            assert response.headers["retry-after"] == "1"
            assert response.json()["error"]["code"] == "tenant_not_on_shard"
        # The other tenants of the edited map are served as before.
        acme = new_user("acme")
        assert httpx.get(f"{base}/v1/documents", headers=acme.headers, timeout=10).status_code == 200
    assert (
        int(local_stack.psql("shard-a", "SELECT count(*) FROM documents WHERE tenant_id = 'umbrella'")) == 0
    )


def test_the_command_line_reports_states_and_refuses_to_empty_an_owning_shard(
    local_stack: LocalStack,
) -> None:
    """`python -m app.tenants` as `make tenant-move` runs it (devstack.tenants' environment)."""
    from devstack.tenants import tenants_environment

    env = dict(os.environ) | tenants_environment(local_stack.workdir, local_stack.stack_file)
    env["PYTHONPATH"] = str(REPO)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-m", "app.tenants", *args]
        return subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True, timeout=60, check=False)

    status = run("status", "globex")
    assert status.returncode == 0, status.stderr
    assert status.stdout.strip() == "shard-a: active"
    owning = run("shard", "shard-a")
    assert owning.returncode == 1
    assert "still owns" in owning.stdout
    assert "(blocks removal)" in owning.stdout
    refused = run("move", "globex")
    assert refused.returncode == 2  # argparse: --to is missing
    assert "give either TENANT --to SHARD, or --cleanup TENANT" in refused.stderr
    unknown = run("move", "globex", "--to", "shard-z")
    assert unknown.returncode == 1
    assert "unknown shard 'shard-z'" in unknown.stderr
    assert _states(local_stack, "globex") == {"shard-a": "active"}
