"""The region and the ElastiCache node type checked against the catalog (infra/catalog.py).

A value the catalog lacks is refused, naming the key and the closest known values; with
``nexus:allowUnknownTypes: true`` it is let through and reported as a warning instead (a type AWS launched
after the catalog's date, or a region the pinned SDK does not list yet). The RDS classes and the EC2 node
types are checked by their sections' models and are not relaxed: the budget checks need their sizes.
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING

from infra.catalog import CATALOG_DATE, ELASTICACHE_NODE_TYPES, aws_regions

if TYPE_CHECKING:
    from stacks.config.model import StackConfig


def _unknown(config: StackConfig) -> list[tuple[str, str, frozenset[str], str]]:
    """(key, value, catalog, what) for each checked value the catalog lacks."""
    checks = [
        ("aws:region", config.region, aws_regions(), "an AWS region"),
        ("nexus:cache.nodeType", config.cache.node_type, ELASTICACHE_NODE_TYPES, "an ElastiCache node type"),
    ]
    return [check for check in checks if check[1] not in check[2]]


def catalog_problems(config: StackConfig) -> list[str]:
    """The unknown values as errors, unless nexus:allowUnknownTypes is set."""
    if config.allow_unknown_types:
        return []
    problems = []
    for key, value, known, what in _unknown(config):
        close = difflib.get_close_matches(value, sorted(known), n=3)
        hint = f"; did you mean {' or '.join(close)}?" if close else ""
        problems.append(
            f"{key}: {value!r} is not {what} in the catalog (infra/catalog.py, {CATALOG_DATE}){hint} "
            "If it is new, set nexus:allowUnknownTypes: true to let it through with a warning"
        )
    return problems


def catalog_warnings(config: StackConfig) -> list[str]:
    """The unknown values let through by nexus:allowUnknownTypes, as warnings."""
    if not config.allow_unknown_types:
        return []
    return [
        f"{key}: {value!r} is not {what} in the catalog (infra/catalog.py, {CATALOG_DATE}); let through by "
        "nexus:allowUnknownTypes, so AWS will be the judge"
        for key, value, _known, what in _unknown(config)
    ]
