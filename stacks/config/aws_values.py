"""Config values that the config model's types accept but AWS refuses: found by running cfn-lint (AWS's
own resource schemas) over plans of varied stack configs, and refused here first, naming the key and what is
valid.

Each check is its own function in ``CROSS_CHECKS``; sources are cited next to each rule.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from stacks.config.model import StackConfig

# CloudWatch Logs takes only these retentions (PutRetentionPolicy); pulumi_aws/cloudwatch/log_group.py,
# docstring of retention_in_days: "Possible values are: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400,
# 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653, and 0" (0 keeps logs forever; not offered here).
# cfn-lint E3030 on AWS::Logs::LogGroup.RetentionInDays found nexus:*RetentionDays: 42 passing the config.
LOG_RETENTION_DAYS: Final = (
    *(1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365),
    *(400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653),
)


def log_retention_problems(config: StackConfig) -> list[str]:
    """Log group retentions CloudWatch Logs would refuse."""
    keys = {
        "nexus:network.flowLogRetentionDays": config.network.flow_log_retention_days,
        "nexus:cluster.logRetentionDays": config.cluster.log_retention_days,
    }
    valid = ", ".join(str(days) for days in LOG_RETENTION_DAYS)
    return [
        f"{key}: {days} is not a retention CloudWatch Logs accepts; use one of {valid}"
        for key, days in keys.items()
        if days not in LOG_RETENTION_DAYS
    ]


# Tags go on every taggable resource, across services (RDS, IAM, ElastiCache, EKS, ...). AWS's tag rules: keys
# 1-128 and values 0-256 characters, "aws:" reserved in keys and values
# (https://docs.aws.amazon.com/awsaccountbilling/latest/aboutv2/allocation-tag-restrictions.html), and the set
# of characters all tagging services take: letters, digits, spaces and _ . : / = + - @
# (https://docs.aws.amazon.com/personalize/latest/dg/personalize-managing-tags.html). cfn-lint E3024 found
# an "aws:" key passing the config.
TAG_SYMBOLS: Final = "_.:/=+-@"


def _tag_text_ok(text: str) -> bool:
    return all(char.isalnum() or char.isspace() or char in TAG_SYMBOLS for char in text)


def tag_problems(config: StackConfig) -> list[str]:
    """``nexus:tags`` entries AWS would refuse on the resources they are applied to."""
    problems: list[str] = []
    allowed = f"letters, digits, spaces and {' '.join(TAG_SYMBOLS)}"
    for key, value in config.tags.items():
        path = f"nexus:tags.{key}"
        if not 1 <= len(key) <= 128:
            problems.append(f"{path}: a tag key has 1 to 128 characters, this one {len(key)}")
        if len(value) > 256:
            problems.append(f"{path}: a tag value has at most 256 characters, this one {len(value)}")
        for what, text in (("key", key), ("value", value)):
            if text.lower().startswith("aws:"):
                problems.append(f"{path}: the tag {what} starts with 'aws:', which AWS reserves; rename it")
            elif not _tag_text_ok(text):
                problems.append(f"{path}: the tag {what} {text!r} has characters AWS refuses; use {allowed}")
    return problems
