"""The local stack of real services (Postgres shards with replicas, PgBouncer, Redis, S3, API, nginx).

``python -m devstack up`` runs it in the foreground; tests use :class:`LocalStack` or the fixtures of
``devstack.pytest_plugin``. See docs/local.md.
"""

from devstack.configs import PoolSettings
from devstack.lock import clean, down
from devstack.procs import StartError
from devstack.stack import LocalStack
from devstack.topology import PortPlan, Topology, free_port_plan, load_topology

__all__ = [
    "LocalStack",
    "PoolSettings",
    "PortPlan",
    "StartError",
    "Topology",
    "clean",
    "down",
    "free_port_plan",
    "load_topology",
]
