"""pytest fixtures running the local stack once per test session.

Register with ``-p devstack.pytest_plugin`` (pyproject addopts). Fixtures:

- ``data_stack``: Postgres shards with replicas, PgBouncer, Redis and S3 (no app processes);
- ``local_stack``: the same stack plus migrations, two API instances, the worker and nginx.

Both share one :class:`~devstack.LocalStack` in a temporary work directory on free ports; asking for
``local_stack`` after ``data_stack`` only adds the app on top. Set ``NEXUS_DEVSTACK_KEEP=1`` to keep the
work directory (logs, data) after the session.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.layout import DEFAULT_STACK_FILE
from devstack.stack import LocalStack
from devstack.topology import free_port_plan, load_topology

API_INSTANCES = 2


class _SessionStack:
    """Starts the data services, then the app, each at most once, on first demand."""

    def __init__(self, workdir: Path) -> None:
        topology = load_topology(DEFAULT_STACK_FILE)
        self.stack = LocalStack(
            workdir,
            DEFAULT_STACK_FILE,
            ports=free_port_plan(topology, api_instances=API_INSTANCES),
            api_instances=API_INSTANCES,
            # One worker process per instance keeps the suite light on a 2-core machine.
            api_workers=1,
            log=lambda message: print(f"devstack: {message}", file=sys.stderr),
        )
        self.data_started = False
        self.app_started = False

    def data(self) -> LocalStack:
        if not self.data_started:
            self.stack.start(data_only=True)
            self.data_started = True
        return self.stack

    def app(self) -> LocalStack:
        self.data()
        if not self.app_started:
            self.stack.start_app()
            self.app_started = True
        return self.stack


@pytest.fixture(scope="session")
def devstack_session() -> Iterator[_SessionStack]:
    """The session's (not yet started) stack; use ``data_stack`` or ``local_stack`` instead."""
    # Not pytest's tmp_path: its directories are private to the current user (0700), and as root the
    # servers run as an unprivileged user who must reach the work directory.
    workdir = Path(tempfile.mkdtemp(prefix="nexus-devstack-"))
    workdir.chmod(0o755)
    session = _SessionStack(workdir)
    try:
        yield session
    finally:
        session.stack.stop()
        if os.environ.get("NEXUS_DEVSTACK_KEEP") == "1":
            print(f"devstack: kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def data_stack(devstack_session: _SessionStack) -> LocalStack:
    """Postgres primaries and replicas, PgBouncer, Redis and S3, started once per session."""
    return devstack_session.data()


@pytest.fixture(scope="session")
def local_stack(devstack_session: _SessionStack) -> LocalStack:
    """The whole local stack (data services, migrations, API instances, worker, nginx)."""
    return devstack_session.app()
