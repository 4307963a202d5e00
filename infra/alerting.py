"""The stack's alarm topic: one SNS topic, encrypted with its own KMS key, and the subscribers from config.

Every CloudWatch alarm of the stack names this topic in ``alarm_actions`` and ``ok_actions``. The topic is
encrypted with a customer-managed key because CloudWatch cannot publish to a topic under the AWS managed
``aws/sns`` key: that key's policy cannot be changed to admit the CloudWatch service principal (SNS developer
guide, sns-key-management.html, "Enable compatibility between event sources from AWS services and encrypted
topics").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from infra.kms import cloudwatch_alarms_usage, key_policy


@dataclass(frozen=True, kw_only=True)
class AlertTopicArgs:
    """Inputs of an AlertTopic."""

    admin_role_arns: Sequence[str]
    """Administrators of the topic's key (the deploy role first)."""
    account_id: pulumi.Input[str]
    """This account: CloudWatch may use the key on behalf of this account's alarms only."""
    emails: Sequence[str] = field(default_factory=tuple)
    """E-mail subscribers (each confirms from the mail SNS sends)."""
    https_endpoints: Sequence[str] = field(default_factory=tuple)
    """HTTPS subscribers (pager or chat webhooks; each confirms the subscription URL SNS posts)."""


def subscription_key(endpoint: str) -> str:
    """A stable child-name key for a subscriber: its endpoint, lower-cased, with every run of characters
    that a name should not carry made one hyphen."""
    out, dash = [], False
    for char in endpoint.lower():
        if char.isalnum():
            out.append(char)
            dash = False
        elif not dash:
            out.append("-")
            dash = True
    return "".join(out).strip("-")


class AlertTopic(pulumi.ComponentResource):
    """SNS topic (KMS-encrypted, with an explicit key policy) and its subscriptions."""

    topic_arn: pulumi.Output[str]
    """ARN of the topic: every alarm's action."""
    key_arn: pulumi.Output[str]
    """ARN of the topic's key."""

    def __init__(self, name: str, args: AlertTopicArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("nexus:alerting:AlertTopic", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        admins = tuple(args.admin_role_arns)
        key = aws.kms.Key(
            f"{name}-key",
            description=f"{name}: encrypts alarm notifications (CloudWatch publishes with it)",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=pulumi.Output.from_input(args.account_id).apply(
                lambda account: key_policy(admins, [cloudwatch_alarms_usage(account)])
            ),
            opts=child,
        )
        topic = aws.sns.Topic(
            f"{name}-topic",
            kms_master_key_id=key.arn,
            opts=child,
        )
        for email in args.emails:
            aws.sns.TopicSubscription(
                f"{name}-email-{subscription_key(email)}",
                topic=topic.arn,
                protocol="email",
                endpoint=email,
                opts=child,
            )
        for url in args.https_endpoints:
            aws.sns.TopicSubscription(
                f"{name}-https-{subscription_key(url.removeprefix('https://'))}",
                topic=topic.arn,
                protocol="https",
                endpoint=url,
                # The webhook's receiver answers the confirmation itself (SubscribeURL), so retries matter.
                endpoint_auto_confirms=True,
                opts=child,
            )
        self.topic_arn = topic.arn
        self.key_arn = key.arn
        self.register_outputs({"topicArn": self.topic_arn, "keyArn": self.key_arn})
