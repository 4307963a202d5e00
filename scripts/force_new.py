"""Extract the inputs that force a replacement from the providers' Go source: stacks/force_new.json.

pulumi-aws bridges the Terraform AWS provider: an input whose Terraform schema says ``ForceNew: true``
(terraform-plugin-sdk v2, ``schema.Schema``) or whose plan modifiers call ``RequiresReplace()``
(terraform-plugin-framework) makes ``pulumi preview`` show a replacement when it changes. This script reads
those schemas from the provider's source files and writes the table the change view uses
(stacks/changes.py): per Pulumi type token, the camelCase input paths that force a replacement, and where
each type's rules came from (file and commit).

    venv/bin/python scripts/force_new.py --source DIR --commit SHA [--check]

``DIR`` holds the provider's files at their repository paths (internal/service/<service>/<file>.go), e.g.
a sparse checkout (docs/preview.md, "Where the replacement rules come from"):

    git clone --filter=blob:none --no-checkout https://github.com/hashicorp/terraform-provider-aws DIR
    git -C DIR sparse-checkout set --no-cone $(venv/bin/python scripts/force_new.py --list-files)
    git -C DIR checkout <tag matching pulumi-aws's upstream>

Terraform attribute names map to Pulumi input names as the bridge maps them (snake_case -> camelCase);
each top-level name is checked against the installed pulumi-aws SDK's own input classes
(``@pulumi.getter(name=...)`` in pulumi_aws/<module>/<resource>.py) and an unknown one is reported.

The Kubernetes rules are pulumi-kubernetes's own ``forceNewProperties`` table
(provider/pkg/provider/diff.go at commit cafe8c4ac4de156415093291bffc63b6e1c97d1e, the v4 provider): every
kind replaces on ``.metadata.name``/``.metadata.namespace``; Deployment on ``.spec.selector``; Job on
``.spec.completions``, ``.spec.parallelism``, ``.spec.selector`` and ``.spec.template``; Service on
``.spec.clusterIP``; a Secret on ``.type``, ``.stringData`` and ``.data`` and a ConfigMap on ``.data`` and
``.binaryData`` unless the provider enables ``enableSecretMutable``/``enableConfigMapMutable`` (this
program's provider does not).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
TABLE = PROJECT_DIR / "stacks" / "force_new.json"
UPSTREAM = "hashicorp/terraform-provider-aws"

# Pulumi type token -> the provider file that defines its schema (internal/service/...).
AWS_FILES: dict[str, str] = {
    "aws:ec2/securityGroup:SecurityGroup": "internal/service/ec2/vpc_security_group.go",
    "aws:ec2/subnet:Subnet": "internal/service/ec2/vpc_subnet.go",
    "aws:eks/podIdentityAssociation:PodIdentityAssociation": (
        "internal/service/eks/pod_identity_association.go"
    ),
    "aws:iam/role:Role": "internal/service/iam/role.go",
    "aws:iam/rolePolicy:RolePolicy": "internal/service/iam/role_policy.go",
    "aws:lb/targetGroup:TargetGroup": "internal/service/elbv2/target_group.go",
    "aws:rds/proxyTarget:ProxyTarget": "internal/service/rds/proxy_target.go",
    "aws:rds/subnetGroup:SubnetGroup": "internal/service/rds/subnet_group.go",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": (
        "internal/service/ec2/vpc_security_group_ingress_rule.go"
    ),
    "aws:eks/addon:Addon": "internal/service/eks/addon.go",
    "aws:eks/cluster:Cluster": "internal/service/eks/cluster.go",
    "aws:eks/nodeGroup:NodeGroup": "internal/service/eks/node_group.go",
    "aws:elasticache/parameterGroup:ParameterGroup": "internal/service/elasticache/parameter_group.go",
    "aws:elasticache/replicationGroup:ReplicationGroup": "internal/service/elasticache/replication_group.go",
    "aws:rds/instance:Instance": "internal/service/rds/instance.go",
    "aws:rds/parameterGroup:ParameterGroup": "internal/service/rds/parameter_group.go",
    "aws:rds/proxy:Proxy": "internal/service/rds/proxy.go",
    "aws:secretsmanager/secret:Secret": "internal/service/secretsmanager/secret.go",
    "aws:secretsmanager/secretVersion:SecretVersion": "internal/service/secretsmanager/secret_version.go",
    "aws:cloudwatch/logGroup:LogGroup": "internal/service/logs/group.go",
    "aws:cloudwatch/metricAlarm:MetricAlarm": "internal/service/cloudwatch/metric_alarm.go",
    "aws:ec2/vpcEndpoint:VpcEndpoint": "internal/service/ec2/vpc_endpoint.go",
    "aws:eks/accessEntry:AccessEntry": "internal/service/eks/access_entry.go",
    "aws:eks/accessPolicyAssociation:AccessPolicyAssociation": (
        "internal/service/eks/access_policy_association.go"
    ),
    "aws:elasticache/subnetGroup:SubnetGroup": "internal/service/elasticache/subnet_group.go",
    "aws:kms/alias:Alias": "internal/service/kms/alias.go",
    "aws:kms/key:Key": "internal/service/kms/key.go",
    "aws:rds/proxyDefaultTargetGroup:ProxyDefaultTargetGroup": (
        "internal/service/rds/proxy_default_target_group.go"
    ),
    "aws:s3/bucket:Bucket": "internal/service/s3/bucket.go",
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": (
        "internal/service/s3/bucket_lifecycle_configuration.go"
    ),
    "aws:s3/bucketLogging:BucketLogging": "internal/service/s3/bucket_logging.go",
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": (
        "internal/service/s3/bucket_ownership_controls.go"
    ),
    "aws:s3/bucketPolicy:BucketPolicy": "internal/service/s3/bucket_policy.go",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": (
        "internal/service/s3/bucket_public_access_block.go"
    ),
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": (
        "internal/service/s3/bucket_server_side_encryption_configuration.go"
    ),
    "aws:s3/bucketVersioning:BucketVersioning": "internal/service/s3/bucket_versioning.go",
    "aws:sns/topic:Topic": "internal/service/sns/topic.go",
    "aws:sns/topicSubscription:TopicSubscription": "internal/service/sns/topic_subscription.go",
    # The egress rule embeds resourceSecurityGroupRule, whose schema (security_group_id RequiresReplace) is
    # written once in the ingress rule's file; vpc_security_group_egress_rule.go holds no schema of its own.
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": (
        "internal/service/ec2/vpc_security_group_ingress_rule.go"
    ),
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": (
        "internal/service/ec2/vpc_default_security_group.go"
    ),
    "aws:ec2/eip:Eip": "internal/service/ec2/ec2_eip.go",
    "aws:ec2/flowLog:FlowLog": "internal/service/ec2/vpc_flow_log.go",
    "aws:ec2/launchTemplate:LaunchTemplate": "internal/service/ec2/ec2_launch_template.go",
    "aws:ec2/internetGateway:InternetGateway": "internal/service/ec2/vpc_internet_gateway.go",
    "aws:ec2/natGateway:NatGateway": "internal/service/ec2/vpc_nat_gateway.go",
    "aws:ec2/route:Route": "internal/service/ec2/vpc_route.go",
    "aws:ec2/routeTable:RouteTable": "internal/service/ec2/vpc_route_table.go",
    "aws:ec2/routeTableAssociation:RouteTableAssociation": (
        "internal/service/ec2/vpc_route_table_association.go"
    ),
    "aws:ec2/vpc:Vpc": "internal/service/ec2/vpc_.go",
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": "internal/service/iam/role_policy_attachment.go",
    "aws:lb/listener:Listener": "internal/service/elbv2/listener.go",
    "aws:lb/loadBalancer:LoadBalancer": "internal/service/elbv2/load_balancer.go",
    "aws:wafv2/webAcl:WebAcl": "internal/service/wafv2/web_acl.go",
    "aws:wafv2/webAclAssociation:WebAclAssociation": "internal/service/wafv2/web_acl_association.go",
    "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration": (
        "internal/service/wafv2/web_acl_logging_configuration.go"
    ),
}
"""The types whose inputs the stack config drives (shards, cache, node groups, cluster, network), then the
log groups and alarms, KMS keys, the VPC and its network, the load balancer, the S3 buckets'
sub-resources, SNS and WAFv2. The program's other AWS types are listed in the table's ``notExtracted``:
the change view says so when one of them changes, rather than calling it an in-place update with
certainty."""

# Terraform attributes pulumi-aws renames (tfbridge.SchemaInfo Fields in pulumi/pulumi-aws
# provider/resources.go): the metric alarm's alarm_name is AutoName("name", ...); the subscription's
# topic_arn is the SDK's ``topic`` ("ARN of the SNS topic to subscribe to",
# pulumi_aws/sns/topic_subscription.py).
RENAMED: dict[tuple[str, str], str] = {
    ("aws:cloudwatch/metricAlarm:MetricAlarm", "alarm_name"): "name",
    ("aws:sns/topicSubscription:TopicSubscription", "topic_arn"): "topic",
}

_METADATA = ["metadata.name", "metadata.namespace"]
KUBERNETES: dict[str, list[str]] = {
    "kubernetes:apps/v1:Deployment": [*_METADATA, "spec.selector"],
    "kubernetes:batch/v1:Job": [
        *_METADATA,
        "spec.completions",
        "spec.parallelism",
        "spec.selector",
        "spec.template",
    ],
    "kubernetes:core/v1:ConfigMap": [*_METADATA, "binaryData", "data"],
    "kubernetes:core/v1:Secret": [*_METADATA, "data", "stringData", "type"],
    "kubernetes:core/v1:Service": [*_METADATA, "spec.clusterIP"],
    "kubernetes:*": _METADATA,
}
KUBERNETES_SOURCE = (
    "pulumi/pulumi-kubernetes provider/pkg/provider/diff.go@cafe8c4ac4de156415093291bffc63b6e1c97d1e"
)


# --- Go source, just enough of it ------------------------------------------------------------------------


def strip_go(text: str) -> str:
    """The source with comments removed and every string literal's braces and commas neutralised, so that
    brace matching sees only code. String literals keep their quotes and letters (keys are read from them)."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 2
        elif char in "\"`'":
            j = i + 1
            while j < n and text[j] != char:
                j += 2 if char != "`" and text[j] == "\\" else 1
            literal = text[i : j + 1]
            out.append(literal.translate(str.maketrans("{}(),", "     ")))
            i = j + 1
        else:
            out.append(char)
            i += 1
    return "".join(out)


def _closing(text: str, open_at: int) -> int:
    """Index of the bracket closing the one at ``open_at`` (``{`` or ``(``)."""
    pairs = {"{": "}", "(": ")", "[": "]"}
    stack = [pairs[text[open_at]]]
    for index in range(open_at + 1, len(text)):
        char = text[index]
        if char in pairs:
            stack.append(pairs[char])
        elif char in ")}]":
            if char != stack.pop():
                raise ValueError(f"unbalanced {char!r} at {index}")
            if not stack:
                return index
    raise ValueError("unclosed bracket")


def _entries(text: str, open_at: int) -> list[tuple[str, str]]:
    """The ``key: value`` entries of the composite literal whose ``{`` is at ``open_at``."""
    end = _closing(text, open_at)
    body = text[open_at + 1 : end]
    entries: list[tuple[str, str]] = []
    depth, start = 0, 0
    for index, char in enumerate(body + ","):
        if char in "{([":
            depth += 1
        elif char in "})]":
            depth -= 1
        elif char == "," and depth == 0:
            item = body[start:index].strip()
            start = index + 1
            key, colon, value = item.partition(":")
            if colon and key.strip():
                entries.append((key.strip(), value.strip()))
    return entries


def _own_level(value: str) -> str:
    """A value's text with every nested bracket's content removed: what is said of the attribute itself."""
    brace = value.find("{")
    if brace < 0:
        return value
    body = value[brace + 1 : _closing(value, brace)]
    out, depth = [], 0
    for char in body:
        if char in "{([":
            depth += 1
        elif char in "})]":
            depth -= 1
        elif depth == 0:
            out.append(char)
    return "".join(out)


# A schema map literal, not the body of ``SchemaFunc: func() map[string]*schema.Schema {``.
_SDK_MAP = re.compile(r"(?<!func\(\) )map\[string\]\*schema\.Schema\s*{")
# Both plugin-framework spellings: schema.Attribute (current) and tfsdk.Attribute (before framework 0.17).
_FRAMEWORK_MAP = re.compile(r"map\[string\](?:schema|tfsdk)\.Attribute\s*{")
_KEY = re.compile(r'^"(\w+)"$|^names\.Attr(\w+)$')


def _key_name(key: str, names: dict[str, str]) -> str | None:
    match = _KEY.match(key)
    if not match:
        return None
    if match.group(1):
        return match.group(1)
    return names.get(match.group(2))


def sdk_force_new(text: str, open_at: int, names: dict[str, str], prefix: str = "") -> list[str]:
    """Paths of the ``ForceNew: true`` attributes of the SDK v2 schema map at ``open_at``, nested blocks
    (``Elem: &schema.Resource{Schema: ...}``) included as ``parent.child``."""
    found: list[str] = []
    for key, value in _entries(text, open_at):
        name = _key_name(key, names)
        if name is None or "{" not in value:
            continue  # e.g. "tags": tftags.TagsSchema(): a shared helper, never ForceNew
        path = f"{prefix}{name}"
        if re.search(r"\bForceNew\s*:\s*true\b", _own_level(value)):
            found.append(path)
        nested = re.search(r"Elem\s*:\s*&schema\.Resource\s*{", value)
        if nested:
            inner = _SDK_MAP.search(value, nested.end())
            if inner:
                found += sdk_force_new(value, inner.end() - 1, names, f"{path}.")
    return found


def framework_requires_replace(text: str, open_at: int, names: dict[str, str]) -> list[str]:
    """Paths of the attributes of a plugin-framework schema whose plan modifiers call RequiresReplace()."""
    found: list[str] = []
    for key, value in _entries(text, open_at):
        name = _key_name(key, names)
        if name is not None and re.search(r"\b(?:\w+planmodifier|resource)\.RequiresReplace\(\s*\)", value):
            found.append(name)
    return found


def extract(source: str, names: dict[str, str] | None = None) -> list[str]:
    """The replacing attributes of the resource schema in one Go file (SDK v2 or plugin framework)."""
    text = strip_go(source)
    names = names or {}
    sdk = _SDK_MAP.search(text)
    if sdk:
        return sorted(set(sdk_force_new(text, sdk.end() - 1, names)))
    framework = _FRAMEWORK_MAP.search(text)
    if framework:
        return sorted(set(framework_requires_replace(text, framework.end() - 1, names)))
    raise ValueError("no schema map found (map[string]*schema.Schema or map[string]schema.Attribute)")


def attr_names(source: str) -> dict[str, str]:
    """internal/names/attr_consts_gen.go: ``AttrKMSKeyID = "kms_key_id"`` -> {"KMSKeyID": "kms_key_id"}."""
    return dict(re.findall(r'\bAttr(\w+)\s*=\s*"(\w+)"', source))


# --- Terraform names to Pulumi names -----------------------------------------------------------------------


def camel(snake: str) -> str:
    head, *rest = snake.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


@dataclass(frozen=True)
class PulumiInputs:
    """The input names of one pulumi-aws resource, read from the installed SDK's source."""

    getters: dict[str, str]  # python snake name -> Pulumi (camelCase) name

    @classmethod
    def of(cls, type_token: str) -> PulumiInputs:
        module = type_token.split(":")[1].split("/")
        spec = importlib.util.find_spec("pulumi_aws")
        if spec is None or spec.origin is None:
            raise RuntimeError("pulumi-aws is not installed")
        snake_file = re.sub(r"(?<!^)(?=[A-Z])", "_", module[1]).lower()
        path = Path(spec.origin).parent / module[0] / f"{snake_file}.py"
        source = path.read_text()
        getters: dict[str, str] = {}
        # A deprecated input has a decorator between the getter and the def (expected_bucket_owner).
        getter = r'@pulumi\.getter(?:\(name="(\w+)"\))?\s+(?:@[^\n]*\s+)*def (\w+)\(self\)'
        for named, python in re.findall(getter, source):
            getters.setdefault(python, named or python)
        return cls(getters)

    def name(self, terraform_path: str, type_token: str = "") -> tuple[str, bool]:
        """The Pulumi path and whether its top-level name is one of the SDK's inputs."""
        top, _, rest = terraform_path.partition(".")
        top = RENAMED.get((type_token, top), top)
        known = top in self.getters
        pulumi_top = self.getters.get(top, camel(top))
        return ".".join([pulumi_top, *(camel(part) for part in rest.split(".") if part)]), known


# --- the table ---------------------------------------------------------------------------------------------


def build(
    source_dir: Path, commits: dict[str, str], default_commit: str, note: str = ""
) -> dict[str, object]:
    names_file = source_dir / "internal/names/attr_consts_gen.go"
    names = attr_names(names_file.read_text()) if names_file.is_file() else {}
    types: dict[str, object] = {}
    problems: list[str] = []
    for type_token, relative in sorted(AWS_FILES.items()):
        path = source_dir / relative
        if not path.is_file():
            problems.append(f"{type_token}: {relative} is missing under {source_dir}")
            continue
        inputs = PulumiInputs.of(type_token)
        paths: list[str] = []
        for terraform_path in extract(path.read_text(), names):
            pulumi_path, known = inputs.name(terraform_path, type_token)
            if not known:
                problems.append(f"{type_token}: {terraform_path} is not an input of the installed pulumi-aws")
                continue
            paths.append(pulumi_path)
        types[type_token] = {
            "replaceOn": sorted(paths),
            "source": f"{UPSTREAM} {relative}@{commits.get(relative, default_commit)}",
        }
    for type_token, paths_ in sorted(KUBERNETES.items()):
        types[type_token] = {"replaceOn": sorted(paths_), "source": KUBERNETES_SOURCE}
    for problem in problems:
        print(f"warning: {problem}", file=sys.stderr)
    used = program_types()
    return {
        "notExtracted": sorted(
            type_ for type_ in used if type_.startswith("aws:") and type_ not in AWS_FILES
        ),
        "about": (
            "Inputs whose change makes the provider replace the resource; generated by scripts/force_new.py "
            "from the providers' Go source (ForceNew / RequiresReplace / forceNewProperties). Do not edit."
        ),
        "pulumiAws": _installed_version("pulumi_aws"),
        "sourceNote": note,
        "upstream": UPSTREAM,
        "types": types,
    }


def program_types() -> set[str]:
    """Every resource type the program registers for the checked-in stacks (their offline previews)."""
    types: set[str] = set()
    for stack_file in sorted(PROJECT_DIR.glob("Pulumi.*.yaml")):
        stack = stack_file.name[len("Pulumi.") : -len(".yaml")]
        result = subprocess.run(
            [sys.executable, "-m", "stacks.preview", "--stack", stack, "--json"],
            cwd=PROJECT_DIR,
            capture_output=True,
            text=True,
            check=True,
        )
        types |= {resource["type"] for resource in json.loads(result.stdout)["resources"]}
    return types


def _installed_version(package: str) -> str:
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        return "not installed"
    plugin = Path(spec.origin).parent / "pulumi-plugin.json"
    return str(json.loads(plugin.read_text()).get("version"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, help="the provider's files at their repository paths")
    parser.add_argument("--commit", default="", help="the commit the files were taken at")
    parser.add_argument(
        "--commits",
        type=Path,
        help="a JSON map of file path -> commit, where files came from several commits",
    )
    parser.add_argument("--note", default="", help="how the source files were obtained (kept in the table)")
    parser.add_argument("--list-files", action="store_true", help="print the provider files this needs")
    parser.add_argument("--check", action="store_true", help="exit 1 if the checked-in table differs")
    args = parser.parse_args(argv)
    if args.list_files:
        print("\n".join(["internal/names/attr_consts_gen.go", *sorted(set(AWS_FILES.values()))]))
        return 0
    if args.source is None:
        parser.error("--source is required")
    commits = json.loads(args.commits.read_text()) if args.commits else {}
    table = json.dumps(build(args.source, commits, args.commit, args.note), indent=2, sort_keys=True) + "\n"
    if args.check:
        same = TABLE.is_file() and TABLE.read_text() == table
        print("stacks/force_new.json is " + ("up to date" if same else "out of date"))
        return 0 if same else 1
    TABLE.write_text(table)
    print(f"wrote {TABLE.relative_to(PROJECT_DIR)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
