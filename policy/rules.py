"""Policy rules over the recorded resource graph.

A rule is a plain function from the whole graph (``Graph``: every resource with its type, name, URN, plain
inputs, parent, provider and dependencies) to violations. The tests run every rule over every stack file
(tests/infra/test_policy.py); a Pulumi policy pack wraps the same functions in ``StackValidationPolicy``
objects, building ``PolicyResource`` values from ``StackValidationArgs.resources`` (URNs, props, parent,
provider and property dependencies are all there), so there is one source of rules.

Adding a rule: write ``def _my_rule(graph: Graph) -> Iterator[Violation]`` and append a ``PolicyRule`` to
``RULES``. Decide things from URNs and property dependencies rather than physical ids: during a real preview
ids are unknown, while URNs and dependencies are always known.
"""

from __future__ import annotations

import importlib
import inspect
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal

STACK_TYPE = "pulumi:pulumi:Stack"
PROVIDER_PREFIX = "pulumi:providers:"
REQUIRED_TAGS: tuple[str, ...] = ("Project", "Environment", "ManagedBy")
WORLD_CIDRS: frozenset[str] = frozenset({"0.0.0.0/0", "::/0"})
PUBLIC_WEB_PORTS: frozenset[int] = frozenset({80, 443})
LOAD_BALANCER_TYPES: frozenset[str] = frozenset(
    {"aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer"}
)

Enforcement = Literal["mandatory", "advisory"]


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicyResource:
    """One resource as the rules see it (plain values: secrets already unwrapped)."""

    urn: str
    type: str
    name: str
    inputs: Mapping[str, Any]
    parent: str | None = None
    """Parent URN (the Stack's URN for top-level resources)."""
    provider: str | None = None
    """URN of the explicit provider of a custom resource; None means the default provider."""
    custom: bool = True
    protect: bool = False
    id: str | None = None
    """Physical id when known (offline runs); unknown in a real preview, so rules prefer URNs."""
    dependencies: tuple[str, ...] = ()
    property_dependencies: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def is_provider(self) -> bool:
        """An explicit provider resource."""
        return self.type.startswith(PROVIDER_PREFIX)


@dataclass(frozen=True, slots=True)
class Violation:
    """A rule broken by one resource."""

    rule: str
    urn: str
    message: str

    def __str__(self) -> str:
        return f"[{self.rule}] {self.urn}: {self.message}"


class Graph:
    """The resources of one stack with the lookups rules need."""

    def __init__(self, resources: Iterable[PolicyResource]) -> None:
        self.resources: tuple[PolicyResource, ...] = tuple(sorted(resources, key=lambda r: r.urn))
        self._by_urn = {resource.urn: resource for resource in self.resources}
        self._by_id = {
            resource.id: resource for resource in self.resources if resource.custom and resource.id
        }

    def get(self, urn: str | None) -> PolicyResource | None:
        """The resource with this URN, if recorded."""
        return self._by_urn.get(urn) if urn else None

    def by_type(self, *types: str) -> list[PolicyResource]:
        """Resources of any of these types."""
        return [resource for resource in self.resources if resource.type in types]

    def referenced(self, resource: PolicyResource, prop: str, value: Any = None) -> list[PolicyResource]:
        """Resources an input refers to: by its property dependencies, else by matching physical ids."""
        urns = resource.property_dependencies.get(prop, ())
        found = [self._by_urn[urn] for urn in urns if urn in self._by_urn]
        if found:
            return found
        values = (
            value if isinstance(value, list) else [value if value is not None else resource.inputs.get(prop)]
        )
        return [self._by_id[item] for item in values if isinstance(item, str) and item in self._by_id]


Check = Callable[[Graph], Iterator[Violation]]


@dataclass(frozen=True, slots=True)
class PolicyRule:
    """A named rule with its description (the policy pack shows both) and its check."""

    name: str
    description: str
    check: Check
    enforcement: Enforcement = "mandatory"


# --- required tags ---------------------------------------------------------------------------------------


def _aws_class(type_token: str) -> Any:
    """The pulumi_aws class of a type token (``aws:ec2/vpc:Vpc`` -> ``pulumi_aws.ec2.Vpc``), or None."""
    try:
        _, module_path, class_name = type_token.split(":")
    except ValueError:
        return None
    module = module_path.split("/")[0]
    candidates = ["pulumi_aws"] if module == "index" else [f"pulumi_aws.{module}", f"pulumi_aws.{module}_"]
    for candidate in candidates:
        try:
            found = getattr(importlib.import_module(candidate), class_name, None)
        except ImportError:
            continue
        if found is not None:
            return found
    return None


@cache
def is_taggable(type_token: str) -> bool:
    """Whether an AWS resource type takes ``tags`` (read from the pulumi_aws class, cached)."""
    cls = _aws_class(type_token)
    if cls is None:
        return False
    init = getattr(cls, "_internal_init", cls.__init__)
    return "tags" in inspect.signature(init).parameters


def _json_object(value: Any) -> dict[str, Any]:
    # Provider inputs arrive JSON-encoded (the engine passes provider config as strings).
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return value if isinstance(value, dict) else {}


def effective_tags(graph: Graph, resource: PolicyResource) -> dict[str, Any]:
    """The provider's ``defaultTags`` merged with the resource's own ``tags`` (own tags win, as in AWS)."""
    provider = graph.get(resource.provider)
    defaults = _json_object(_json_object(provider.inputs.get("defaultTags")).get("tags")) if provider else {}
    return {**defaults, **_json_object(resource.inputs.get("tags"))}


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


# --- world-open ingress ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Ingress:
    source: PolicyResource
    group_urns: tuple[str, ...]
    cidrs: tuple[str, ...]
    from_port: int
    to_port: int
    protocol: str


def _port(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _ingress_rules(graph: Graph) -> Iterator[_Ingress]:
    for group in graph.by_type(
        "aws:ec2/securityGroup:SecurityGroup", "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
    ):
        for rule in group.inputs.get("ingress") or []:
            cidrs = [*(rule.get("cidrBlocks") or []), *(rule.get("ipv6CidrBlocks") or [])]
            yield _Ingress(
                group,
                (group.urn,),
                tuple(cidrs),
                _port(rule.get("fromPort")),
                _port(rule.get("toPort")),
                str(rule.get("protocol", "")),
            )
    for rule in graph.by_type("aws:ec2/securityGroupRule:SecurityGroupRule"):
        if rule.inputs.get("type") != "ingress":
            continue
        groups = tuple(group.urn for group in graph.referenced(rule, "securityGroupId"))
        cidrs = [*(rule.inputs.get("cidrBlocks") or []), *(rule.inputs.get("ipv6CidrBlocks") or [])]
        yield _Ingress(
            rule,
            groups,
            tuple(cidrs),
            _port(rule.inputs.get("fromPort")),
            _port(rule.inputs.get("toPort")),
            str(rule.inputs.get("protocol", "")),
        )
    for rule in graph.by_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"):
        groups = tuple(group.urn for group in graph.referenced(rule, "securityGroupId"))
        cidrs = [cidr for cidr in (rule.inputs.get("cidrIpv4"), rule.inputs.get("cidrIpv6")) if cidr]
        yield _Ingress(
            rule,
            groups,
            tuple(cidrs),
            _port(rule.inputs.get("fromPort")),
            _port(rule.inputs.get("toPort")),
            str(rule.inputs.get("ipProtocol", "")),
        )


def load_balancer_groups(graph: Graph) -> set[str]:
    """URNs of the security groups attached to a load balancer (its ``securityGroups`` input)."""
    return {
        group.urn
        for balancer in graph.by_type(*LOAD_BALANCER_TYPES)
        for group in graph.referenced(balancer, "securityGroups", balancer.inputs.get("securityGroups") or [])
    }


def _no_world_ingress(graph: Graph) -> Iterator[Violation]:
    balancer_groups = load_balancer_groups(graph)
    for ingress in _ingress_rules(graph):
        world = sorted(set(ingress.cidrs) & WORLD_CIDRS)
        if not world:
            continue
        single_web_port = ingress.from_port == ingress.to_port and ingress.from_port in PUBLIC_WEB_PORTS
        tcp = ingress.protocol.lower() in ("tcp", "6")
        if single_web_port and tcp and ingress.group_urns and set(ingress.group_urns) <= balancer_groups:
            continue
        where = (
            "a load balancer's group"
            if set(ingress.group_urns) & balancer_groups
            else "a non-load-balancer group"
        )
        yield Violation(
            "no-world-ingress",
            ingress.source.urn,
            f"admits {', '.join(world)} on {ingress.protocol} {ingress.from_port}-{ingress.to_port} "
            f"in {where}; only a load balancer's security group may be open to the world, and only on "
            "tcp 80 or 443 (admit a security group instead)",
        )


# --- parents and providers ----------------------------------------------------------------------------------


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


RULES: list[PolicyRule] = [
    PolicyRule(
        "required-tags",
        f"Every taggable AWS resource carries the {', '.join(REQUIRED_TAGS)} tags "
        "(its provider's defaultTags merged with its own tags).",
        _required_tags,
    ),
    PolicyRule(
        "no-world-ingress",
        "No security group admits 0.0.0.0/0 or ::/0, except a load balancer's group on tcp 80/443.",
        _no_world_ingress,
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
]


# --- EKS, nodes, load balancer, IAM (issue 5) ---------------------------------------------------------------

EKS_CLUSTER = "aws:eks/cluster:Cluster"
IAM_POLICY_INPUTS: Mapping[str, tuple[str, ...]] = {
    # type -> inputs holding a policy document (JSON string or object)
    "aws:iam/rolePolicy:RolePolicy": ("policy",),
    "aws:iam/policy:Policy": ("policy",),
    "aws:iam/userPolicy:UserPolicy": ("policy",),
    "aws:iam/groupPolicy:GroupPolicy": ("policy",),
    "aws:s3/bucketPolicy:BucketPolicy": ("policy",),
    "aws:kms/key:Key": ("policy",),
}


def is_prod(graph: Graph, resource: PolicyResource) -> bool:
    """Whether a resource belongs to a prod stack (its effective Environment tag)."""
    return effective_tags(graph, resource).get("Environment") == "prod"


def _eks_endpoint_not_world(graph: Graph) -> Iterator[Violation]:
    for cluster in graph.by_type(EKS_CLUSTER):
        vpc = cluster.inputs.get("vpcConfig") or {}
        if vpc.get("endpointPrivateAccess") is not True:
            yield Violation(
                "eks-endpoint-private",
                cluster.urn,
                "the private API endpoint is off; nodes and pods would reach the API over the internet "
                "(set endpoint_private_access=True)",
            )
        # EKS's own default for a public endpoint is 0.0.0.0/0 and the public endpoint is on by default.
        if vpc.get("endpointPublicAccess", True) is not False:
            cidrs = vpc.get("publicAccessCidrs") or ["0.0.0.0/0"]
            world = sorted(set(cidrs) & WORLD_CIDRS)
            if world:
                yield Violation(
                    "eks-endpoint-private",
                    cluster.urn,
                    f"the public API endpoint admits {', '.join(world)}; list specific CIDRs "
                    "(nexus:cluster.publicAccessCidrs) or turn the public endpoint off",
                )


def _eks_secrets_encrypted_in_prod(graph: Graph) -> Iterator[Violation]:
    for cluster in graph.by_type(EKS_CLUSTER):
        if not is_prod(graph, cluster):
            continue
        encryption = cluster.inputs.get("encryptionConfig") or {}
        # Before the key exists (a first preview) its ARN is unknown; the dependency on a KMS key still shows.
        key = (encryption.get("provider") or {}).get("keyArn") or any(
            dep.type == "aws:kms/key:Key" for dep in graph.referenced(cluster, "encryptionConfig")
        )
        if "secrets" not in (encryption.get("resources") or []) or not key:
            yield Violation(
                "eks-secrets-encrypted-in-prod",
                cluster.urn,
                "a prod cluster envelope-encrypts Secrets with a KMS key (encryption_config with "
                "resources=['secrets']; nexus:cluster.secretsEncryption)",
            )


def _imdsv2_required(graph: Graph) -> Iterator[Violation]:
    for template in graph.by_type("aws:ec2/launchTemplate:LaunchTemplate"):
        metadata = template.inputs.get("metadataOptions") or {}
        hops = _port(metadata.get("httpPutResponseHopLimit"))
        tokens = metadata.get("httpTokens")
        if tokens != "required" or hops != 1:
            yield Violation(
                "imdsv2-required",
                template.urn,
                "launch templates require IMDSv2 tokens with a hop limit of 1 (metadata_options "
                "http_tokens='required', http_put_response_hop_limit=1), so pods cannot read node "
                f"credentials; got httpTokens={tokens!r}, hop limit {hops}",
            )


def _alb_drops_invalid_headers_in_prod(graph: Graph) -> Iterator[Violation]:
    for balancer in graph.by_type(*LOAD_BALANCER_TYPES):
        if balancer.inputs.get("loadBalancerType", "application") != "application":
            continue
        if is_prod(graph, balancer) and balancer.inputs.get("dropInvalidHeaderFields") is not True:
            yield Violation(
                "alb-drops-invalid-headers-in-prod",
                balancer.urn,
                "a prod ALB drops requests with invalid header fields (drop_invalid_header_fields=True)",
            )


def _node_groups_auto_named(graph: Graph) -> Iterator[Violation]:
    for group in graph.by_type("aws:eks/nodeGroup:NodeGroup"):
        # In state (what the policy pack sees) an auto-named group also has its generated name; the prefix,
        # which the provider refuses next to a fixed name, tells the two apart.
        if group.inputs.get("nodeGroupName") and not group.inputs.get("nodeGroupNamePrefix"):
            yield Violation(
                "node-groups-auto-named",
                group.urn,
                f"fixed node group name {group.inputs['nodeGroupName']!r}: a change that replaces the group "
                "(instance types, capacity type, subnets) fails on the name; use node_group_name_prefix",
            )


def policy_statements(resource: PolicyResource) -> Iterator[dict[str, Any]]:
    """The statements of every policy document a resource carries (inline role policies included)."""
    documents = [resource.inputs.get(prop) for prop in IAM_POLICY_INPUTS.get(resource.type, ())]
    if resource.type == "aws:iam/role:Role":
        documents += [inline.get("policy") for inline in resource.inputs.get("inlinePolicies") or []]
    for document in documents:
        statements = _json_object(document).get("Statement") or []
        yield from (
            s for s in ([statements] if isinstance(statements, dict) else statements) if isinstance(s, dict)
        )


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _no_star_on_star(graph: Graph) -> Iterator[Violation]:
    for resource in graph.resources:
        for statement in policy_statements(resource):
            if statement.get("Effect") != "Allow":
                continue
            actions = _as_list(statement.get("Action"))
            resources = _as_list(statement.get("Resource"))
            if any(a in ("*", "*:*") for a in actions) and "*" in resources:
                yield Violation(
                    "iam-no-star-on-star",
                    resource.urn,
                    "a statement allows every action on every resource; name the actions and the resources",
                )


RULES += [
    PolicyRule(
        "eks-endpoint-private",
        "EKS clusters keep the private endpoint on and never open the public one to 0.0.0.0/0 or ::/0.",
        _eks_endpoint_not_world,
    ),
    PolicyRule(
        "eks-secrets-encrypted-in-prod",
        "Prod EKS clusters envelope-encrypt Kubernetes Secrets with a KMS key.",
        _eks_secrets_encrypted_in_prod,
    ),
    PolicyRule(
        "imdsv2-required",
        "Launch templates require IMDSv2 with a hop limit of 1.",
        _imdsv2_required,
    ),
    PolicyRule(
        "alb-drops-invalid-headers-in-prod",
        "Prod application load balancers drop invalid header fields.",
        _alb_drops_invalid_headers_in_prod,
    ),
    PolicyRule(
        "node-groups-auto-named",
        "EKS node groups are auto-named (prefix), so a replacement never collides with the old group's name.",
        _node_groups_auto_named,
    ),
    PolicyRule(
        "iam-no-star-on-star",
        "No IAM or resource policy statement allows every action on every resource.",
        _no_star_on_star,
    ),
]


# --- data stores: Redis, S3, reach from the internet (issue 4) ---------------------------------------------

REPLICATION_GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
S3_BUCKET = "aws:s3/bucket:Bucket"
PUBLIC_ACCESS_FLAGS: tuple[str, ...] = (
    "blockPublicAcls",
    "blockPublicPolicy",
    "ignorePublicAcls",
    "restrictPublicBuckets",
)
SSE_ALGORITHMS: frozenset[str] = frozenset({"AES256", "aws:kms", "aws:kms:dsse"})
# Data stores and the input that lists their security groups.
DATA_STORES: Mapping[str, str] = {
    "aws:rds/instance:Instance": "vpcSecurityGroupIds",
    "aws:rds/cluster:Cluster": "vpcSecurityGroupIds",
    "aws:rds/proxy:Proxy": "vpcSecurityGroupIds",
    REPLICATION_GROUP: "securityGroupIds",
    "aws:elasticache/cluster:Cluster": "securityGroupIds",
    "aws:elasticache/serverlessCache:ServerlessCache": "securityGroupIds",
    "aws:memorydb/cluster:Cluster": "securityGroupIds",
}


def _redis_encrypted_with_auth(graph: Graph) -> Iterator[Violation]:
    for group in graph.by_type(REPLICATION_GROUP):
        inputs = group.inputs
        problems = []
        if inputs.get("atRestEncryptionEnabled") is not True:
            problems.append("atRestEncryptionEnabled is not true")
        if inputs.get("transitEncryptionEnabled") is not True:
            problems.append("transitEncryptionEnabled is not true")
        if inputs.get("transitEncryptionMode", "required") != "required":
            problems.append(
                f"transitEncryptionMode is {inputs.get('transitEncryptionMode')!r}, not 'required'"
            )
        # A write-only token (authTokenWo) never reaches state, which is what the policy pack sees; the
        # provider accepts authTokenWoVersion only together with it, so the version stands for the token.
        auth = ("authToken", "authTokenWo", "authTokenWoVersion", "userGroupIds")
        if not any(inputs.get(key) for key in auth):
            problems.append("no AUTH token (authToken/authTokenWo) and no RBAC user group")
        if problems:
            yield Violation(
                "redis-encrypted-with-auth",
                group.urn,
                "; ".join(problems) + ": ElastiCache must encrypt at rest and in transit (required mode) "
                "and demand AUTH",
            )


def _bucket_parts(graph: Graph, type_: str) -> dict[str, list[PolicyResource]]:
    """Bucket URN -> the resources of ``type_`` that configure it (through their ``bucket`` input)."""
    parts: dict[str, list[PolicyResource]] = {}
    for part in graph.by_type(type_):
        for bucket in graph.referenced(part, "bucket"):
            parts.setdefault(bucket.urn, []).append(part)
    return parts


def _known_document(value: Any) -> dict[str, Any] | None:
    """A policy input as a dict; None when it is not known yet (a preview before the bucket exists)."""
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, str):
        try:
            document = json.loads(value)
        except ValueError:
            return {}
        return document if isinstance(document, dict) else {}
    return None


def _items(value: Any) -> list[Any]:
    """A JSON value as a list: None is empty, a scalar is one item."""
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def denies_insecure_transport(document: Mapping[str, Any]) -> bool:
    """Whether a bucket policy denies every S3 action to everyone when ``aws:SecureTransport`` is false."""
    for statement in _items(document.get("Statement")):
        if not isinstance(statement, Mapping) or statement.get("Effect") != "Deny":
            continue
        principal = statement.get("Principal")
        everyone = principal == "*" or (
            isinstance(principal, Mapping) and _items(principal.get("AWS")) == ["*"]
        )
        all_actions = {"s3:*", "*"} & set(_items(statement.get("Action")))
        resources = _items(statement.get("Resource"))
        covers_objects = any(str(r).endswith("/*") for r in resources) and any(
            not str(r).endswith("/*") for r in resources
        )
        condition = (statement.get("Condition") or {}).get("Bool") or {}
        insecure = str(condition.get("aws:SecureTransport", "")).lower() == "false"
        if everyone and all_actions and covers_objects and insecure:
            return True
    return False


def _bucket_problems(
    blocks: list[PolicyResource],
    encryption: list[PolicyResource],
    versioning: list[PolicyResource],
    policies: list[PolicyResource],
) -> list[str]:
    problems = []
    if not any(all(block.inputs.get(flag) is True for flag in PUBLIC_ACCESS_FLAGS) for block in blocks):
        problems.append("no BucketPublicAccessBlock with all four blocks on")
    algorithms = {
        str(((rule or {}).get("applyServerSideEncryptionByDefault") or {}).get("sseAlgorithm"))
        for part in encryption
        for rule in _items(part.inputs.get("rules"))
    }
    if not algorithms & SSE_ALGORITHMS:
        problems.append("no default server-side encryption (BucketServerSideEncryptionConfiguration)")
    if not any(
        (part.inputs.get("versioningConfiguration") or {}).get("status") == "Enabled" for part in versioning
    ):
        problems.append("versioning is not Enabled (BucketVersioning)")
    documents = [_known_document(part.inputs.get("policy")) for part in policies]
    if not policies:
        problems.append("no bucket policy denying requests without TLS")
    elif all(doc is not None for doc in documents) and not any(
        denies_insecure_transport(doc) for doc in documents if doc is not None
    ):
        problems.append("the bucket policy does not deny requests without TLS (aws:SecureTransport false)")
    return problems


def _s3_bucket_baseline(graph: Graph) -> Iterator[Violation]:
    blocks = _bucket_parts(graph, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    encryption = _bucket_parts(
        graph, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    )
    versioning = _bucket_parts(graph, "aws:s3/bucketVersioning:BucketVersioning")
    policies = _bucket_parts(graph, "aws:s3/bucketPolicy:BucketPolicy")
    for bucket in graph.by_type(S3_BUCKET):
        problems = _bucket_problems(
            blocks.get(bucket.urn, []),
            encryption.get(bucket.urn, []),
            versioning.get(bucket.urn, []),
            policies.get(bucket.urn, []),
        )
        if problems:
            yield Violation("s3-bucket-baseline", bucket.urn, "; ".join(problems))


def _cidrs(cidrs: Iterable[str]) -> str:
    return ", ".join(sorted(set(cidrs)))


def _no_world_data_store(graph: Graph) -> Iterator[Violation]:
    world_groups: dict[str, list[str]] = {}
    for ingress in _ingress_rules(graph):
        world = sorted(set(ingress.cidrs) & WORLD_CIDRS)
        for group_urn in ingress.group_urns if world else ():
            world_groups.setdefault(group_urn, []).extend(world)
    for type_, prop in DATA_STORES.items():
        for store in graph.by_type(type_):
            groups = graph.referenced(store, prop, _items(store.inputs.get(prop)))
            if store.inputs.get("publiclyAccessible") is True:
                yield Violation(
                    "no-world-data-store", store.urn, "publiclyAccessible is true; data stores stay private"
                )
            if not groups:
                yield Violation(
                    "no-world-data-store",
                    store.urn,
                    f"no security group in {prop}: the VPC's default group would apply; give it its own "
                    "group that admits only the workload group",
                )
            for group in groups:
                if group.urn in world_groups:
                    yield Violation(
                        "no-world-data-store",
                        store.urn,
                        f"its security group {group.name} admits {_cidrs(world_groups[group.urn])}; a data "
                        "store admits only security groups (the workload group, the proxy's group)",
                    )


RULES += [
    PolicyRule(
        "redis-encrypted-with-auth",
        "Every ElastiCache replication group encrypts at rest and in transit (required mode) and "
        "demands AUTH.",
        _redis_encrypted_with_auth,
    ),
    PolicyRule(
        "s3-bucket-baseline",
        "Every S3 bucket blocks public access (all four blocks), encrypts by default, is versioned and has a "
        "policy that denies requests without TLS.",
        _s3_bucket_baseline,
    ),
    PolicyRule(
        "no-world-data-store",
        "No data store (RDS, RDS Proxy, ElastiCache, MemoryDB) is publicly accessible, lacks its own "
        "security group, or sits in a group that admits 0.0.0.0/0 or ::/0 on any port.",
        _no_world_data_store,
    ),
]


# --- tenant shards: RDS and RDS Proxy (issue 3) ------------------------------------------------------------

RDS_INSTANCE = "aws:rds/instance:Instance"
RDS_PROXY = "aws:rds/proxy:Proxy"


def _rds_encrypted_private(graph: Graph) -> Iterator[Violation]:
    for instance in graph.by_type(RDS_INSTANCE):
        problems = []
        if instance.inputs.get("storageEncrypted") is not True:
            problems.append("storage is not encrypted (storage_encrypted=True)")
        if instance.inputs.get("publiclyAccessible") is True:
            problems.append("it is publicly accessible (publicly_accessible=False)")
        if instance.inputs.get("manageMasterUserPassword") is True:
            problems.append(
                "its master password is RDS-managed, which forbids read replicas (generate it and keep it "
                "in the shard's own secret)"
            )
        if problems:
            yield Violation("rds-encrypted-private", instance.urn, "; ".join(problems))


def _rds_proxy_requires_tls(graph: Graph) -> Iterator[Violation]:
    for proxy in graph.by_type(RDS_PROXY):
        if proxy.inputs.get("requireTls") is not True:
            yield Violation(
                "rds-proxy-requires-tls",
                proxy.urn,
                "the proxy accepts clients without TLS (require_tls=True); passwords would cross the VPC "
                "in the clear",
            )


def _prod_rds_protected(graph: Graph) -> Iterator[Violation]:
    for instance in graph.by_type(RDS_INSTANCE):
        if effective_tags(graph, instance).get("Environment") != "prod":
            continue
        missing = []
        if not instance.protect:
            missing.append("the protect option")
        if instance.inputs.get("deletionProtection") is not True:
            missing.append("RDS deletion protection (deletion_protection=True)")
        if missing:
            yield Violation(
                "prod-rds-protected",
                instance.urn,
                f"a prod database lacks {' and '.join(missing)}; a removed shard entry or a mistaken "
                "destroy would delete its data",
            )


RULES += [
    PolicyRule(
        "rds-encrypted-private",
        "Every RDS instance is encrypted at rest, not publicly accessible, and has a generated (not "
        "RDS-managed) master password.",
        _rds_encrypted_private,
    ),
    PolicyRule(
        "rds-proxy-requires-tls",
        "Every RDS Proxy requires TLS from its clients.",
        _rds_proxy_requires_tls,
    ),
    PolicyRule(
        "prod-rds-protected",
        "In prod, every RDS instance has protect=True and deletion protection.",
        _prod_rds_protected,
    ),
]


# --- Kubernetes workloads (issue 5, part 2) -----------------------------------------------------------------

K8S_PREFIX = "kubernetes:"
K8S_POD_TYPES: frozenset[str] = frozenset(
    {
        "kubernetes:apps/v1:Deployment",
        "kubernetes:apps/v1:StatefulSet",
        "kubernetes:apps/v1:DaemonSet",
        "kubernetes:batch/v1:Job",
        "kubernetes:batch/v1:CronJob",
    }
)
K8S_CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
K8S_SECRET = "kubernetes:core/v1:Secret"  # noqa: S105 - a type token, not a password
SECRET_SETTING_MARKERS: tuple[str, ...] = (
    "PASSWORD",
    "SECRET",
    "TOKEN",
    "JWT_KEYS",
    "REDIS_URL",
    "PRIVATE_KEY",
)


def _pod_spec_of(resource: PolicyResource) -> Mapping[str, Any]:
    spec: Mapping[str, Any] = resource.inputs.get("spec") or {}
    if resource.type == "kubernetes:batch/v1:CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    return (spec.get("template") or {}).get("spec") or {}


def _containers_hardened(graph: Graph) -> Iterator[Violation]:
    for resource in graph.by_type(*K8S_POD_TYPES):
        pod = _pod_spec_of(resource)
        pod_context = pod.get("securityContext") or {}
        for box in [*(pod.get("initContainers") or []), *(pod.get("containers") or [])]:
            where = f"container {box.get('name')}"
            context = box.get("securityContext") or {}
            requests = (box.get("resources") or {}).get("requests") or {}
            missing = [kind for kind in ("cpu", "memory") if not requests.get(kind)]
            if missing:
                yield Violation(
                    "k8s-containers-hardened",
                    resource.urn,
                    f"{where} has no {' or '.join(missing)} request: the scheduler, the HPA and the capacity "
                    "checks all count on requests",
                )
            if context.get("readOnlyRootFilesystem") is not True:
                yield Violation(
                    "k8s-containers-hardened", resource.urn, f"{where} has a writable root filesystem"
                )
            non_root = context.get("runAsNonRoot", pod_context.get("runAsNonRoot"))
            uid = context.get("runAsUser", pod_context.get("runAsUser"))
            if non_root is not True or uid == 0:
                yield Violation("k8s-containers-hardened", resource.urn, f"{where} may run as root")


def _secret_values(graph: Graph) -> set[str]:
    values: set[str] = set()
    for secret in graph.by_type(K8S_SECRET):
        for field_name in ("stringData", "data"):
            data = secret.inputs.get(field_name) or {}
            values.update(str(value) for value in data.values() if isinstance(value, str) and len(value) >= 8)
    return values


def _no_secret_in_config_map(graph: Graph) -> Iterator[Violation]:
    secrets = _secret_values(graph)
    for config_map in graph.by_type(K8S_CONFIG_MAP):
        for key, value in (config_map.inputs.get("data") or {}).items():
            if any(marker in str(key).upper() for marker in SECRET_SETTING_MARKERS):
                yield Violation(
                    "k8s-no-secret-in-config-map",
                    config_map.urn,
                    f"key {key} names a secret setting; deliver it through a Secret",
                )
            if any(secret in str(value) for secret in secrets):
                yield Violation(
                    "k8s-no-secret-in-config-map",
                    config_map.urn,
                    f"key {key} contains a value of a Secret of the stack",
                )


def _explicit_k8s_provider(graph: Graph) -> Iterator[Violation]:
    for resource in graph.resources:
        if not resource.custom or resource.is_provider or not resource.type.startswith(K8S_PREFIX):
            continue
        provider = graph.get(resource.provider)
        if provider is None or provider.type != f"{PROVIDER_PREFIX}kubernetes":
            yield Violation(
                "explicit-k8s-provider",
                resource.urn,
                "uses the default Kubernetes provider (whatever cluster the ambient kubeconfig points at); "
                "pass the stack's cluster provider",
            )


RULES += [
    PolicyRule(
        "k8s-containers-hardened",
        "Every container of a Kubernetes workload requests CPU and memory, has a read-only root "
        "filesystem and runs as non-root.",
        _containers_hardened,
    ),
    PolicyRule(
        "k8s-no-secret-in-config-map",
        "No ConfigMap holds a secret setting or the value of a Secret; secrets travel in Secrets only.",
        _no_secret_in_config_map,
    ),
    PolicyRule(
        "explicit-k8s-provider",
        "Every Kubernetes object uses an explicit provider built from the stack's cluster.",
        _explicit_k8s_provider,
    ),
]


def check_rule(rule: PolicyRule, resources: Iterable[PolicyResource]) -> list[Violation]:
    """Violations of one rule."""
    return list(rule.check(Graph(resources)))


def check_all(
    resources: Iterable[PolicyResource], rules: Sequence[PolicyRule] | None = None
) -> list[Violation]:
    """Violations of every rule (or of ``rules``)."""
    graph = Graph(resources)
    return [violation for rule in (RULES if rules is None else rules) for violation in rule.check(graph)]


def from_records(records: Iterable[Any]) -> list[PolicyResource]:
    """PolicyResources from the offline engine's recorded resources (``offline.RecordedResource``)."""
    return [
        PolicyResource(
            urn=resource.urn,
            type=resource.type,
            name=resource.name,
            inputs=resource.inputs,
            parent=resource.parent,
            provider=resource.provider,
            custom=resource.record.custom,
            protect=resource.protect,
            id=resource.id,
            dependencies=tuple(resource.dependencies),
            property_dependencies=dict(resource.record.property_dependencies),
        )
        for resource in records
    ]


# --- network ---------------------------------------------------------------------------------------------

VPC_TYPE = "aws:ec2/vpc:Vpc"
SUBNET_TYPE = "aws:ec2/subnet:Subnet"
ROUTE_TABLE_TYPE = "aws:ec2/routeTable:RouteTable"
ROUTE_TYPE = "aws:ec2/route:Route"
ROUTE_TABLE_ASSOCIATION_TYPE = "aws:ec2/routeTableAssociation:RouteTableAssociation"
DEFAULT_SECURITY_GROUP_TYPE = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
FLOW_LOG_TYPE = "aws:ec2/flowLog:FlowLog"
TIER_TAG = "nexus:tier"
_INTERNET_TARGETS = ("gatewayId", "natGatewayId", "egressOnlyGatewayId", "transitGatewayId")


def _network_items(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []


def _internet_route(route: Mapping[str, Any]) -> bool:
    """A route to the world, or through an internet, NAT, egress-only or transit gateway."""
    destinations = {route.get("destinationCidrBlock"), route.get("cidrBlock"), route.get("ipv6CidrBlock")}
    destinations.add(route.get("destinationIpv6CidrBlock"))
    return bool(destinations & WORLD_CIDRS) or any(route.get(target) for target in _INTERNET_TARGETS)


def _isolated_tables(graph: Graph) -> dict[str, list[PolicyResource]]:
    """Route table URN -> the isolated (database) subnets associated with it."""
    isolated = {
        subnet.urn
        for subnet in graph.by_type(SUBNET_TYPE)
        if _json_object(subnet.inputs.get("tags")).get(TIER_TAG) == "isolated"
    }
    tables: dict[str, list[PolicyResource]] = {}
    for association in graph.by_type(ROUTE_TABLE_ASSOCIATION_TYPE):
        subnets = [s for s in graph.referenced(association, "subnetId") if s.urn in isolated]
        for table in graph.referenced(association, "routeTableId") if subnets else ():
            tables.setdefault(table.urn, []).extend(subnets)
    return tables


def _isolated_subnets_offline(graph: Graph) -> Iterator[Violation]:
    routes = graph.by_type(ROUTE_TYPE)
    for table_urn, subnets in sorted(_isolated_tables(graph).items()):
        table = graph.get(table_urn)
        assert table is not None
        inline = [route for route in _network_items(table.inputs.get("routes")) if _internet_route(route)]
        separate = [
            route.name
            for route in routes
            if _internet_route(route.inputs)
            and table_urn in {found.urn for found in graph.referenced(route, "routeTableId")}
        ]
        if inline or separate:
            names = ", ".join(sorted(subnet.name for subnet in subnets))
            yield Violation(
                "isolated-subnets-offline",
                table.urn,
                f"routes to the internet ({', '.join(separate) or 'inline routes'}) from the isolated "
                f"subnets {names}; the database tier keeps only the VPC's local route (and the S3 endpoint)",
            )


def _public_ip_on_launch(graph: Graph) -> Iterator[Violation]:
    for subnet in graph.by_type(SUBNET_TYPE):
        if subnet.inputs.get("mapPublicIpOnLaunch") is True:
            yield Violation(
                "no-public-ip-on-launch",
                subnet.urn,
                "mapPublicIpOnLaunch is true: anything launched here becomes reachable from the internet; "
                "NAT gateways use Elastic IPs and load balancers get their own addresses",
            )


def _default_security_group_closed(graph: Graph) -> Iterator[Violation]:
    adopted: set[str] = set()
    for group in graph.by_type(DEFAULT_SECURITY_GROUP_TYPE):
        adopted.update(vpc.urn for vpc in graph.referenced(group, "vpcId"))
        rules = [kind for kind in ("ingress", "egress") if _network_items(group.inputs.get(kind))]
        if rules:
            yield Violation(
                "default-security-group-closed",
                group.urn,
                f"the VPC's default security group has {' and '.join(rules)} rules; it must have none, so "
                "that nothing launched without its own group can talk or be reached",
            )
    for vpc in graph.by_type(VPC_TYPE):
        if vpc.urn not in adopted:
            yield Violation(
                "default-security-group-closed",
                vpc.urn,
                "the VPC's default security group is not managed (aws.ec2.DefaultSecurityGroup with no "
                "rules), so it keeps AWS's allow-all-within-the-group rules",
            )


def _flow_logs_in_prod(graph: Graph) -> Iterator[Violation]:
    logged = {
        vpc.urn
        for flow_log in graph.by_type(FLOW_LOG_TYPE)
        if flow_log.inputs.get("trafficType") == "ALL"
        for vpc in graph.referenced(flow_log, "vpcId")
    }
    for vpc in graph.by_type(VPC_TYPE):
        if effective_tags(graph, vpc).get("Environment") == "prod" and vpc.urn not in logged:
            yield Violation(
                "vpc-flow-logs-in-prod",
                vpc.urn,
                "a prod VPC needs a flow log of ALL traffic (nexus:network.flowLogs: true)",
            )


RULES += [
    PolicyRule(
        "isolated-subnets-offline",
        "The isolated (database) subnets have no route to the internet: no 0.0.0.0/0 or ::/0 route and no "
        "route through an internet, NAT, egress-only or transit gateway.",
        _isolated_subnets_offline,
    ),
    PolicyRule(
        "no-public-ip-on-launch",
        "No subnet gives instances a public IP address on launch.",
        _public_ip_on_launch,
    ),
    PolicyRule(
        "default-security-group-closed",
        "Every VPC's default security group is managed and has no rules.",
        _default_security_group_closed,
    ),
    PolicyRule(
        "vpc-flow-logs-in-prod",
        "Every prod VPC sends a flow log of all traffic.",
        _flow_logs_in_prod,
    ),
]


# --- delivery: the image repository (issue 7) -------------------------------------------------------------

ECR_REPOSITORY = "aws:ecr/repository:Repository"
ECR_LIFECYCLE_POLICY = "aws:ecr/lifecyclePolicy:LifecyclePolicy"


def _ecr_repository_baseline(graph: Graph) -> Iterator[Violation]:
    with_lifecycle = {
        repository.urn
        for policy in graph.by_type(ECR_LIFECYCLE_POLICY)
        for repository in graph.referenced(policy, "repository")
    }
    for repository in graph.by_type(ECR_REPOSITORY):
        problems = []
        # ECR's default is MUTABLE: a push could then swap the image behind a tag that is already deployed.
        if repository.inputs.get("imageTagMutability") != "IMMUTABLE":
            problems.append("tags are mutable (image_tag_mutability='IMMUTABLE')")
        if (repository.inputs.get("imageScanningConfiguration") or {}).get("scanOnPush") is not True:
            problems.append("images are not scanned on push (image_scanning_configuration scan_on_push)")
        if repository.urn not in with_lifecycle:
            problems.append("no lifecycle policy (aws.ecr.LifecyclePolicy): images would pile up forever")
        if problems:
            yield Violation("ecr-repository-baseline", repository.urn, "; ".join(problems))


RULES += [
    PolicyRule(
        "ecr-repository-baseline",
        "Every ECR repository has immutable tags, scans images on push and has a lifecycle policy.",
        _ecr_repository_baseline,
    ),
]


# --- the security table's remaining rows (issue 9): TLS to the replicas and the ALB, prod data retained -----

RDS_PARAMETER_GROUP = "aws:rds/parameterGroup:ParameterGroup"
ELASTICACHE_GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
S3_BUCKET = "aws:s3/bucket:Bucket"
LB_LISTENER_TYPES: frozenset[str] = frozenset({"aws:lb/listener:Listener", "aws:alb/listener:Listener"})
# ALB policies that refuse TLS 1.0 and 1.1.
MODERN_TLS_POLICY_PREFIXES: tuple[str, ...] = ("ELBSecurityPolicy-TLS13-", "ELBSecurityPolicy-TLS-1-2-")
PROD_MIN_BACKUP_DAYS = 7


def _parameters(group: PolicyResource) -> dict[str, str]:
    return {
        str(item.get("name")): str(item.get("value"))
        for item in _items(group.inputs.get("parameters"))
        if isinstance(item, Mapping)
    }


def _rds_requires_tls(graph: Graph) -> Iterator[Violation]:
    # Reads reach the replicas directly (RDS Proxy can only front the writer of RDS for PostgreSQL), so
    # only the instance's own parameter group can refuse a client without TLS.
    for instance in graph.by_type(RDS_INSTANCE):
        groups = [
            g for g in graph.referenced(instance, "parameterGroupName") if g.type == RDS_PARAMETER_GROUP
        ]
        if not groups:
            yield Violation(
                "rds-requires-tls",
                instance.urn,
                "no parameter group of the stack: set one with rds.force_ssl=1, so that clients reaching "
                "the instance directly (the replicas) must use TLS",
            )
            continue
        for group in groups:
            if _parameters(group).get("rds.force_ssl") != "1":
                yield Violation(
                    "rds-requires-tls",
                    instance.urn,
                    f"its parameter group {group.name} does not set rds.force_ssl=1: clients could connect "
                    "without TLS",
                )


def _alb_tls_in_prod(graph: Graph) -> Iterator[Violation]:
    listeners: dict[str, list[PolicyResource]] = {}
    for listener in graph.by_type(*LB_LISTENER_TYPES):
        for balancer in graph.referenced(listener, "loadBalancerArn"):
            listeners.setdefault(balancer.urn, []).append(listener)
    for balancer in graph.by_type(*LOAD_BALANCER_TYPES):
        if balancer.inputs.get("loadBalancerType", "application") != "application":
            continue
        if not is_prod(graph, balancer):
            continue
        own = listeners.get(balancer.urn, [])
        https = [item for item in own if item.inputs.get("protocol") == "HTTPS"]
        if not https:
            yield Violation("alb-tls-in-prod", balancer.urn, "a prod ALB has no HTTPS listener")
        for listener in https:
            policy = str(listener.inputs.get("sslPolicy") or "")
            if not policy.startswith(MODERN_TLS_POLICY_PREFIXES):
                yield Violation(
                    "alb-tls-in-prod",
                    listener.urn,
                    f"TLS policy {policy or '(the default)'} allows TLS below 1.2; use an "
                    "ELBSecurityPolicy-TLS13-* policy",
                )
        for listener in own:
            if listener.inputs.get("protocol") != "HTTP":
                continue
            actions = _items(listener.inputs.get("defaultActions"))
            redirects = all(
                isinstance(a, Mapping)
                and a.get("type") == "redirect"
                and (a.get("redirect") or {}).get("protocol") == "HTTPS"
                for a in actions
            )
            if not actions or not redirects:
                yield Violation(
                    "alb-tls-in-prod",
                    listener.urn,
                    "a prod HTTP listener serves traffic instead of redirecting it to HTTPS",
                )


def _is_replica(instance: PolicyResource) -> bool:
    return bool(instance.inputs.get("replicateSourceDb")) or bool(
        instance.property_dependencies.get("replicateSourceDb")
    )


def _prod_data_retained(graph: Graph) -> Iterator[Violation]:
    for instance in graph.by_type(RDS_INSTANCE):
        # Replicas are rebuilt from their primary; its backups are the ones that matter. At a first preview
        # the source's identifier is still unknown, so the dependency on it is what marks a replica.
        if not is_prod(graph, instance) or _is_replica(instance):
            continue
        problems = []
        backups = _port(instance.inputs.get("backupRetentionPeriod"))
        if backups < PROD_MIN_BACKUP_DAYS:
            problems.append(f"backups kept {backups} days (at least {PROD_MIN_BACKUP_DAYS})")
        if instance.inputs.get("skipFinalSnapshot") is not False or not instance.inputs.get(
            "finalSnapshotIdentifier"
        ):
            problems.append("no final snapshot on deletion (skip_final_snapshot=False with an identifier)")
        if problems:
            yield Violation("prod-data-retained", instance.urn, "; ".join(problems))
    for group in graph.by_type(ELASTICACHE_GROUP):
        if not is_prod(graph, group):
            continue
        problems = []
        if not group.protect:
            problems.append("the protect option")
        if _port(group.inputs.get("snapshotRetentionLimit")) < 1:
            problems.append("daily snapshots (snapshot_retention_limit >= 1)")
        if not group.inputs.get("finalSnapshotIdentifier"):
            problems.append("a final snapshot (final_snapshot_identifier)")
        if problems:
            lacks = ", ".join(problems)
            yield Violation("prod-data-retained", group.urn, f"a prod Redis group lacks {lacks}")
    for bucket in graph.by_type(S3_BUCKET):
        if not is_prod(graph, bucket):
            continue
        if not bucket.protect or bucket.inputs.get("forceDestroy") is True:
            yield Violation(
                "prod-data-retained",
                bucket.urn,
                "a prod bucket needs the protect option and no force_destroy: a destroy would empty it",
            )


RULES += [
    PolicyRule(
        "rds-requires-tls",
        "Every RDS instance uses a parameter group of the stack with rds.force_ssl=1 (the replicas are "
        "reached directly, not through the proxy).",
        _rds_requires_tls,
    ),
    PolicyRule(
        "alb-tls-in-prod",
        "Every prod ALB serves HTTPS with a TLS 1.2+ policy, and its HTTP listeners only redirect to HTTPS.",
        _alb_tls_in_prod,
    ),
    PolicyRule(
        "prod-data-retained",
        "In prod, RDS primaries keep 7+ days of backups and a final snapshot; Redis groups are protected "
        "with daily and final snapshots; buckets are protected and never force-destroyed.",
        _prod_data_retained,
    ),
]
