"""Graph-wide policy rules: one source, run by the tests over every stack and wrapped by the policy pack."""

from policy.rules import RULES, PolicyResource, PolicyRule, Violation, check_all, check_rule, from_records

__all__ = ["RULES", "PolicyResource", "PolicyRule", "Violation", "check_all", "check_rule", "from_records"]
