"""Rules every resource of the stack obeys, whatever its domain: required tags, explicit providers, parents,
and no IAM or resource policy that allows everything on everything."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from policy.core import (
    PROVIDER_PREFIX,
    STACK_TYPE,
    Graph,
    PolicyResource,
    PolicyRule,
    Violation,
    effective_tags,
    is_taggable,
    json_object,
    waits_for,
)

REQUIRED_TAGS: tuple[str, ...] = ("Project", "Environment", "ManagedBy")
IAM_ROLE = "aws:iam/role:Role"
IAM_POLICY_INPUTS: Mapping[str, tuple[str, ...]] = {
    # type -> inputs holding a policy document (JSON string or object)
    "aws:iam/rolePolicy:RolePolicy": ("policy",),
    "aws:iam/policy:Policy": ("policy",),
    "aws:iam/userPolicy:UserPolicy": ("policy",),
    "aws:iam/groupPolicy:GroupPolicy": ("policy",),
    "aws:s3/bucketPolicy:BucketPolicy": ("policy",),
    "aws:kms/key:Key": ("policy",),
}


def _required_tags(graph: Graph) -> Iterator[Violation]:
    for resource in graph.resources:
        if not resource.custom or resource.is_provider or not resource.type.startswith("aws:"):
            continue
        if not is_taggable(resource.type):
            continue
        tags = effective_tags(graph, resource)
        missing = [tag for tag in REQUIRED_TAGS if not tags.get(tag)]
        if missing:
            yield Violation(
                "required-tags",
                resource.urn,
                f"missing tag(s) {', '.join(missing)}; pass the stack's explicit AWS provider "
                "(its defaultTags carry them) or set them in tags",
            )


def _is_top_level(graph: Graph, resource: PolicyResource) -> bool:
    if resource.parent is None:
        return True
    parent = graph.get(resource.parent)
    if parent is None:  # the Stack itself is not in the graph; its URN names its type
        return resource.parent.split("::")[2] == STACK_TYPE
    return parent.type == STACK_TYPE


def _parented(graph: Graph) -> Iterator[Violation]:
    for resource in graph.resources:
        if resource.type == STACK_TYPE or resource.is_provider or not resource.custom:
            continue
        if _is_top_level(graph, resource):
            yield Violation(
                "parented",
                resource.urn,
                "registered at the top level; only components and explicit providers may be, so create it "
                "inside a component with parent=self",
            )


def _explicit_aws_provider(graph: Graph) -> Iterator[Violation]:
    for resource in graph.resources:
        if not resource.custom or resource.is_provider or not resource.type.startswith("aws:"):
            continue
        provider = graph.get(resource.provider)
        if provider is None or provider.type != f"{PROVIDER_PREFIX}aws":
            yield Violation(
                "explicit-aws-provider",
                resource.urn,
                "uses the default AWS provider (no region pinning, no default tags); pass the stack's "
                "provider through opts to the top-level component so that children inherit it",
            )


def policy_statements(resource: PolicyResource) -> Iterator[dict[str, Any]]:
    """The statements of every policy document a resource carries (inline role policies included)."""
    documents = [resource.inputs.get(prop) for prop in IAM_POLICY_INPUTS.get(resource.type, ())]
    if resource.type == IAM_ROLE:
        documents += [inline.get("policy") for inline in resource.inputs.get("inlinePolicies") or []]
    for document in documents:
        statements = json_object(document).get("Statement") or []
        yield from (
            s for s in ([statements] if isinstance(statements, dict) else statements) if isinstance(s, dict)
        )


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def grants_everything(statement: Mapping[str, Any]) -> bool:
    """Whether an Allow statement grants any action on any resource.

    ``Action: "*"`` (or ``"*:*"``) or a ``NotAction`` on ``Resource: "*"`` or a ``NotResource``. A NotAction
    "explicitly matches everything except the specified list of actions", and with Allow "all of the
    applicable actions or services that are not listed are allowed" (AWS IAM User Guide, "IAM JSON policy
    elements: NotAction"); NotResource likewise matches every resource but the listed ones.
    """
    if statement.get("Effect") != "Allow":
        return False
    any_action = any(a in ("*", "*:*") for a in _as_list(statement.get("Action"))) or "NotAction" in statement
    any_resource = "*" in _as_list(statement.get("Resource")) or "NotResource" in statement
    return any_action and any_resource


def _no_star_on_star(graph: Graph) -> Iterator[Violation]:
    for resource in graph.resources:
        for statement in policy_statements(resource):
            if grants_everything(statement):
                yield Violation(
                    "iam-no-star-on-star",
                    resource.urn,
                    "a statement allows every action on every resource; name the actions and the resources",
                )


# Role policies before the role is used (creation order: see policy.core.waits_for).

ROLE_POLICY_TYPES: frozenset[str] = frozenset(
    {"aws:iam/rolePolicy:RolePolicy", "aws:iam/rolePolicyAttachment:RolePolicyAttachment"}
)
# Resources that hand a role to a service, which uses it at once. pulumi-aws docstrings: rds.Proxy role_arn is
# "the IAM role that the proxy uses to access secrets in AWS Secrets Manager" (the proxy reads its secret when
# it is created); eks.PodIdentityAssociation role_arn: "The EKS Pod Identity agent manages credentials to
# assume this role for applications in the containers in the pods that use this service account".
ROLE_CONSUMERS: Mapping[str, str] = {
    "aws:rds/proxy:Proxy": "roleArn",
    "aws:eks/podIdentityAssociation:PodIdentityAssociation": "roleArn",
}


def _role_users_after_role_policies(graph: Graph) -> Iterator[Violation]:
    policies = [policy for policy in graph.resources if policy.type in ROLE_POLICY_TYPES]
    for type_, prop in sorted(ROLE_CONSUMERS.items()):
        for consumer in graph.by_type(type_):
            roles = {role.urn for role in graph.referenced(consumer, prop) if role.type == IAM_ROLE}
            before = waits_for(graph, consumer)
            for policy in policies:
                if (
                    roles & {role.urn for role in graph.referenced(policy, "role")}
                    and policy.urn not in before
                ):
                    yield Violation(
                        "role-policies-before-use",
                        consumer.urn,
                        f"does not wait for {policy.name}, a policy of the role it uses: the service would "
                        "start with a role that cannot do its job yet (add the policy to depends_on)",
                    )


BASELINE_RULES: list[PolicyRule] = [
    PolicyRule(
        "required-tags",
        f"Every taggable AWS resource carries the {', '.join(REQUIRED_TAGS)} tags "
        "(its provider's defaultTags merged with its own tags).",
        _required_tags,
    ),
    PolicyRule(
        "parented",
        "Only components and explicit providers are registered at the top level.",
        _parented,
    ),
    PolicyRule(
        "explicit-aws-provider",
        "Every AWS resource uses an explicit aws provider (region and default tags pinned), "
        "never the default one.",
        _explicit_aws_provider,
    ),
    PolicyRule(
        "iam-no-star-on-star",
        "No IAM or resource policy statement allows every action on every resource (NotAction and "
        "NotResource included).",
        _no_star_on_star,
    ),
    PolicyRule(
        "role-policies-before-use",
        "An RDS Proxy and a Pod Identity association wait for every inline or attached policy of the role "
        "they hand to the service.",
        _role_users_after_role_policies,
    ),
]
