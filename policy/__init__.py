"""Graph-wide policy rules: one source, run by the tests over every stack and wrapped by the policy pack.

The rules live in one module per domain (``policy.network``, ``data``, ``compute``, ``workloads``,
``delivery``, ``hardening``; ``baseline`` for what every resource obeys) over the shared types of
``policy.core``;
``RULES`` below is the one list that the tests and the policy pack both run.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from policy.baseline import BASELINE_RULES
from policy.compute import COMPUTE_RULES
from policy.core import Graph, PolicyResource, PolicyRule, Violation, check_rule, from_records
from policy.data import DATA_RULES
from policy.delivery import DELIVERY_RULES
from policy.hardening import HARDENING_RULES
from policy.network import NETWORK_RULES
from policy.workloads import WORKLOAD_RULES

RULES: list[PolicyRule] = [
    *BASELINE_RULES,
    *NETWORK_RULES,
    *DATA_RULES,
    *COMPUTE_RULES,
    *WORKLOAD_RULES,
    *DELIVERY_RULES,
    *HARDENING_RULES,
]


def check_all(
    resources: Iterable[PolicyResource], rules: Sequence[PolicyRule] | None = None
) -> list[Violation]:
    """Violations of every rule (or of ``rules``)."""
    graph = Graph(resources)
    return [violation for rule in (RULES if rules is None else rules) for violation in rule.check(graph)]


__all__ = [
    "RULES",
    "Graph",
    "PolicyResource",
    "PolicyRule",
    "Violation",
    "check_all",
    "check_rule",
    "from_records",
]
