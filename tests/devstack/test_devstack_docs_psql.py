"""docs/local.md's psql example, run as written (ports and password of the session's stack) against the
local stack: it shows the tenant's rows, and the same query without `app.tenant_id` shows none (RLS)."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
from collections.abc import Callable

import httpx
import pytest

from devstack import LocalStack
from devstack.stack import REPO_ROOT
from tests.support.clients import User

pytestmark = pytest.mark.integration


def _documented_command() -> str:
    """The psql command of docs/local.md that sets app.tenant_id (with its continuation line)."""
    text = (REPO_ROOT / "docs" / "local.md").read_text()
    pattern = r'^psql "postgresql://nexus_app:[^\n]*\\\n[^\n]*SET LOCAL app\.tenant_id[^\n]*$'
    match = re.search(pattern, text, re.MULTILINE)
    assert match is not None, "docs/local.md shows psql with SET LOCAL app.tenant_id"
    return match.group(0)


def _run(command: str, stack: LocalStack) -> subprocess.CompletedProcess[str]:
    # The documented defaults (port base 25400) become the session stack's port.
    command = command.replace("@127.0.0.1:25400/", f"@127.0.0.1:{stack.ports.pgbouncer}/")
    env = dict(os.environ, **stack.app_env)
    return subprocess.run(
        ["bash", "-c", command], capture_output=True, text=True, timeout=60, env=env, check=False
    )


def test_the_documented_psql_command_shows_the_tenants_rows(
    local_stack: LocalStack, api: httpx.Client, new_user: Callable[[str], User]
) -> None:
    command = _documented_command()
    tenant = re.search(r"SET LOCAL app\.tenant_id = '([a-z0-9-]+)'", command)
    assert tenant is not None
    assert local_stack.tenant_map["tenants"][tenant.group(1)] == "shard-a"
    user = new_user(tenant.group(1))
    title = f"psql docs {secrets.token_hex(4)}"
    created = api.post(
        "/v1/documents",
        json={"title": title, "body": "seen through psql"},
        headers=user.headers,
    )
    assert created.status_code == 201, created.text

    shown = _run(command, local_stack)
    assert shown.returncode == 0, shown.stderr
    assert title in shown.stdout

    # Without app.tenant_id, row-level security hides every row: the reason the docs set it.
    count = "SELECT count(*) FROM documents"
    bare = command.split(" \\\n", 1)[0] + f' -At -c "{count}"'
    hidden = _run(bare, local_stack)
    assert hidden.returncode == 0, hidden.stderr
    assert hidden.stdout.strip() == "0"
