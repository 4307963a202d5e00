"""Facts about AWS instance classes that the config model and the capacity checks need.

Memory figures are the nominal GiB that AWS publishes per class. RDS computes PostgreSQL's default
``max_connections`` as ``LEAST(DBInstanceClassMemory / 9531392, 5000)``; DBInstanceClassMemory is a little
below the nominal memory (RDS reserves some for the OS), so ``rds_default_max_connections`` is an upper
estimate and the budget check keeps a margin.
"""

from __future__ import annotations

from typing import Final

GIB: Final = 1024**3

# class -> (vCPUs, memory GiB)
RDS_INSTANCE_CLASSES: Final[dict[str, tuple[int, float]]] = {
    "db.t4g.micro": (2, 1),
    "db.t4g.small": (2, 2),
    "db.t4g.medium": (2, 4),
    "db.t4g.large": (2, 8),
    "db.t4g.xlarge": (4, 16),
    "db.t4g.2xlarge": (8, 32),
    "db.t3.micro": (2, 1),
    "db.t3.small": (2, 2),
    "db.t3.medium": (2, 4),
    "db.t3.large": (2, 8),
    "db.t3.xlarge": (4, 16),
    "db.t3.2xlarge": (8, 32),
    **{
        f"db.{family}.{size}": (vcpu, mem)
        for family in ("m6g", "m7g", "m6i", "m7i")
        for size, vcpu, mem in (
            ("large", 2, 8),
            ("xlarge", 4, 16),
            ("2xlarge", 8, 32),
            ("4xlarge", 16, 64),
            ("8xlarge", 32, 128),
            ("12xlarge", 48, 192),
            ("16xlarge", 64, 256),
        )
    },
    **{
        f"db.{family}.{size}": (vcpu, mem)
        for family in ("r6g", "r7g", "r6i", "r7i")
        for size, vcpu, mem in (
            ("large", 2, 16),
            ("xlarge", 4, 32),
            ("2xlarge", 8, 64),
            ("4xlarge", 16, 128),
            ("8xlarge", 32, 256),
            ("12xlarge", 48, 384),
            ("16xlarge", 64, 512),
        )
    },
}

# Classes that cannot use Multi-AZ instance deployments or Performance Insights beyond the free tier are
# still valid; only burstable classes below medium lack Performance Insights support on some engines.
PERFORMANCE_INSIGHTS_UNSUPPORTED: Final = frozenset(
    {"db.t4g.micro", "db.t4g.small", "db.t3.micro", "db.t3.small"}
)

SUPPORTED_POSTGRES_MAJORS: Final = ("14", "15", "16", "17")


def rds_default_max_connections(instance_class: str) -> int:
    """RDS for PostgreSQL's default max_connections for a class (LEAST(memory / 9531392, 5000))."""
    _, mem_gib = RDS_INSTANCE_CLASSES[instance_class]
    return min(int(mem_gib * GIB // 9531392), 5000)
