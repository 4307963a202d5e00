"""Facts about AWS instance classes that the config model and the capacity checks need.

Memory figures are the nominal GiB that AWS publishes per class. RDS computes PostgreSQL's default
``max_connections`` as ``LEAST(DBInstanceClassMemory / 9531392, 5000)``; DBInstanceClassMemory is a little
below the nominal memory (RDS reserves some for the OS), so ``rds_default_max_connections`` is an upper
estimate and the budget check keeps a margin.
"""

from __future__ import annotations

from collections.abc import Mapping
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

# Instance classes on which RDS does not support Performance Insights, per engine (rds.Instance ``engine``).
# Source: AWS RDS user guide, "Amazon RDS DB engine, Region, and instance class support for Performance
# Insights" (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_PerfInsights.Overview.Engines.html):
# RDS for MariaDB and MySQL exclude db.t2, db.t3 and db.t4g micro and small; RDS for PostgreSQL (this
# project's engine), SQL Server and Oracle list no instance-class restriction. RDS refuses the others with
# "InvalidParameterCombination: Performance Insights not supported for this configuration".
_SMALL_BURSTABLE: Final = frozenset(
    {"db.t2.micro", "db.t2.small", "db.t3.micro", "db.t3.small", "db.t4g.micro", "db.t4g.small"}
)
PERFORMANCE_INSIGHTS_UNSUPPORTED: Final[Mapping[str, frozenset[str]]] = {
    "mariadb": _SMALL_BURSTABLE,
    "mysql": _SMALL_BURSTABLE,
    "postgres": frozenset(),
}


def performance_insights_supported(engine: str, instance_class: str) -> bool:
    """Whether RDS supports Performance Insights for this engine on this instance class."""
    return instance_class not in PERFORMANCE_INSIGHTS_UNSUPPORTED.get(engine, frozenset())


SUPPORTED_POSTGRES_MAJORS: Final = ("14", "15", "16", "17")


def rds_default_max_connections(instance_class: str) -> int:
    """RDS for PostgreSQL's default max_connections for a class (LEAST(memory / 9531392, 5000))."""
    _, mem_gib = RDS_INSTANCE_CLASSES[instance_class]
    return min(int(mem_gib * GIB // 9531392), 5000)
