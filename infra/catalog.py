"""Facts about AWS instance classes that the config model and the capacity checks need.

Memory figures are the nominal GiB that AWS publishes per class. RDS computes PostgreSQL's default
``max_connections`` as ``LEAST(DBInstanceClassMemory / 9531392, 5000)``; DBInstanceClassMemory is a little
below the nominal memory (RDS reserves some for the OS), so ``rds_default_max_connections`` is an upper
estimate and the budget check keeps a margin.
"""

from __future__ import annotations

import functools
import importlib.util
import re
from collections.abc import Mapping
from pathlib import Path
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


# --- The catalog of regions and instance types the config is checked against --------------------------------
# One place for every AWS type name a stack file may give (aws:region, nexus:cache.nodeType, the RDS classes
# above, nexus:cluster.nodeGroups.*.instanceTypes). Sources and dates:
# - Regions: the pinned pulumi-aws SDK's own enum (pulumi_aws/_enums.py ``Region``; pulumi-aws 7.51.1,
#   requirements.txt), read from its source text so that the list moves with the pin; read on 2026-12-07.
# - ElastiCache node types: AWS ElastiCache API reference, CacheNode, "The following node types are supported
#   by ElastiCache" (https://docs.aws.amazon.com/AmazonElastiCache/latest/APIReference/API_CacheNode.html),
#   current generation only (previous generations cannot create new clusters); read on 2026-12-07.
# - RDS instance classes: RDS_INSTANCE_CLASSES above; EC2 node types: infra/eks/nodes.py INSTANCE_TYPES. Both
#   are always enforced: the connection-budget and pod-fit checks need each type's size.
# A region or node type the catalog lacks is refused unless the stack sets nexus:allowUnknownTypes: true,
# which lets it through with a warning (docs/configuration.md).
CATALOG_DATE: Final = "2026-12-07"


def _sizes(*sizes: str) -> tuple[str, ...]:
    return sizes


_GRAVITON_SIZES: Final = _sizes("large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge")
_M5_R5_SIZES: Final = _sizes("large", "xlarge", "2xlarge", "4xlarge", "12xlarge", "24xlarge")
ELASTICACHE_NODE_TYPES: Final[frozenset[str]] = frozenset(
    {
        *(f"cache.{family}.{size}" for family in ("m7g", "m6g", "r7g", "r6g") for size in _GRAVITON_SIZES),
        *(f"cache.{family}.{size}" for family in ("m5", "r5") for size in _M5_R5_SIZES),
        *(f"cache.{family}.{size}" for family in ("t4g", "t3") for size in ("micro", "small", "medium")),
    }
)


def _sdk_enum_values(relative: str, enum: str) -> frozenset[str]:
    """The values of one enum class in the installed pulumi-aws SDK's source (read, not imported)."""
    spec = importlib.util.find_spec("pulumi_aws")
    if spec is None or spec.origin is None:
        raise RuntimeError("pulumi-aws (a pinned dependency) is not installed")
    source = (Path(spec.origin).parent / relative).read_text()
    start = source.index(f"class {enum}(")
    end = source.find("\nclass ", start + 1)
    return frozenset(re.findall(r'^\s+\w+ = "([^"]+)"', source[start : end if end > 0 else None], re.M))


@functools.cache
def aws_regions() -> frozenset[str]:
    """The regions pulumi-aws knows (its ``Region`` enum)."""
    return _sdk_enum_values("_enums.py", "Region")
