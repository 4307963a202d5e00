"""The Network component on recorded inputs: dev (2 AZs, one NAT, no flow logs), prod (3 AZs, a NAT per AZ,
flow logs) and a few configs of its own (no NAT, more AZs, another region)."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from infra.subnets import plan_subnets
from offline import invokes
from policy import RULES, PolicyResource, check_rule, from_records
from tests.support.harness import (
    PROJECT_DIR,
    RecordedResource,
    StackRun,
    config_problems,
    run_stack,
    stack_config,
)

pytestmark = pytest.mark.infra

VPC = "aws:ec2/vpc:Vpc"
SUBNET = "aws:ec2/subnet:Subnet"
EIP = "aws:ec2/eip:Eip"
NAT = "aws:ec2/natGateway:NatGateway"
IGW = "aws:ec2/internetGateway:InternetGateway"
ROUTE_TABLE = "aws:ec2/routeTable:RouteTable"
ROUTE = "aws:ec2/route:Route"
ASSOCIATION = "aws:ec2/routeTableAssociation:RouteTableAssociation"
ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
DEFAULT_SG = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
SG = "aws:ec2/securityGroup:SecurityGroup"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"

EXPECTED = {
    # stack: (cidr, azCount, NATs, flow logs, retention)
    "dev": ("10.20.0.0/16", 2, 1, False, None),
    "prod": ("10.40.0.0/16", 3, 3, True, 90),
}
# us-east-1's usable AZ ids in sorted order: use1-az3 is skipped (EKS refuses control-plane subnets there),
# and the emulated account's opted-in Local Zone (use1-bos1-az1) is never a candidate.
ZONE_IDS = ["use1-az1", "use1-az2", "use1-az4"]


def zone_names(region: str, zone_ids: list[str]) -> list[str]:
    """The names the emulated AWS gives those zone ids in its account (names map to ids per account)."""
    answer = invokes.answer("aws:index/getAvailabilityZones:getAvailabilityZones", {}, region)
    name_of = dict(zip(answer["zoneIds"], answer["names"], strict=True))
    return [name_of[zone] for zone in zone_ids]


class Net:
    """The Network component of a run and lookups among its children."""

    def __init__(self, run: StackRun) -> None:
        self.run = run
        components = run.by_type("nexus:network:Network")
        assert len(components) == 1, [c.urn for c in components]
        self.component = components[0]
        self.prefix = self.component.name
        self.children = run.children_of(self.component)

    def all(self, type_: str) -> list[RecordedResource]:
        return [child for child in self.children if child.type == type_]

    def named(self, type_: str, suffix: str) -> RecordedResource:
        found = [child for child in self.all(type_) if child.name == f"{self.prefix}-{suffix}"]
        assert len(found) == 1, (type_, suffix, [child.name for child in self.all(type_)])
        return found[0]

    def by_id(self, type_: str) -> dict[str, RecordedResource]:
        return {child.id: child for child in self.all(type_) if child.id}


def network_run(base: str, stack: str = "netcheck", region: str | None = None, **network: Any) -> StackRun:
    config = stack_config(base)
    config["nexus:network"] = {**config["nexus:network"], **network}
    if region:
        config["aws:region"] = region
    run = run_stack(config, stack=stack)
    assert run.error is None, run.error
    return run


@pytest.fixture(params=["dev", "prod"])
def net(request: pytest.FixtureRequest, dev_run: StackRun, prod_run: StackRun) -> tuple[str, Net]:
    run = {"dev": dev_run, "prod": prod_run}[request.param]
    assert run.error is None, run.error
    return request.param, Net(run)


# --- the component and its identity -----------------------------------------------------------------------


def test_component_is_top_level_with_the_explicit_provider(net: tuple[str, Net]) -> None:
    stack, network = net
    component = network.component
    assert component.name == f"nexus-{stack}-network"
    assert component.parent == network.run.raw.stack_urn
    assert set(component.record.providers) == {"aws"}
    for child in network.run.descendants_of(component):
        # Children inherit the provider (and so its default tags) through parent=self.
        assert child.provider == component.record.providers["aws"], child.urn
        assert child.name.startswith(f"{network.prefix}-"), child.urn


def test_component_outputs_are_registered_and_known(net: tuple[str, Net]) -> None:
    stack, network = net
    cidr, az_count, nats, _, _ = EXPECTED[stack]
    outputs = network.component.record.component_outputs
    assert outputs["vpcCidr"] == cidr
    assert outputs["vpcId"] == network.named(VPC, "vpc").id
    assert outputs["zoneIds"] == ZONE_IDS[:az_count]
    assert outputs["azs"] == zone_names("us-east-1", ZONE_IDS[:az_count])
    for tier in ("public", "private", "isolated"):
        ids = [network.named(SUBNET, f"{tier}-{i}").id for i in range(az_count)]
        assert outputs[f"{tier}SubnetIds"] == ids
    assert outputs["natGatewayIds"] == [network.named(NAT, f"nat-{i}").id for i in range(nats)]
    assert outputs["workloadSecurityGroupId"] == network.named(SG, "workload").id
    assert network.run.outputs["vpcId"] == outputs["vpcId"]
    assert network.run.outputs["privateSubnetIds"] == outputs["privateSubnetIds"]


# --- VPC and subnets --------------------------------------------------------------------------------------


def test_vpc_has_the_configured_cidr_and_dns(net: tuple[str, Net]) -> None:
    stack, network = net
    vpc = network.named(VPC, "vpc")
    assert vpc.inputs["cidrBlock"] == EXPECTED[stack][0]
    assert vpc.inputs["enableDnsSupport"] is True
    assert vpc.inputs["enableDnsHostnames"] is True


def test_subnets_follow_the_plan_keyed_by_az_index(net: tuple[str, Net]) -> None:
    stack, network = net
    cidr, az_count, _, _, _ = EXPECTED[stack]
    vpc_id = network.named(VPC, "vpc").id
    plans = plan_subnets(cidr, az_count)
    assert len(network.all(SUBNET)) == len(plans) == 3 * az_count
    for plan in plans:
        subnet = network.named(SUBNET, f"{plan.tier}-{plan.az_index}")
        assert subnet.inputs["cidrBlock"] == plan.cidr
        assert subnet.inputs["vpcId"] == vpc_id
        # Placed by zone id: the same physical zone in every account (names are per account).
        assert subnet.inputs["availabilityZoneId"] == ZONE_IDS[plan.az_index]
        assert "availabilityZone" not in subnet.inputs
        assert subnet.inputs["mapPublicIpOnLaunch"] is False


def test_subnet_tags_for_eks_and_the_load_balancers(net: tuple[str, Net]) -> None:
    stack, network = net
    cluster_tag = f"kubernetes.io/cluster/nexus-{stack}-eks"
    for subnet in network.all(SUBNET):
        tags = subnet.inputs["tags"]
        tier = tags["nexus:tier"]
        assert tags["Name"] == subnet.name
        assert (tags.get("kubernetes.io/role/elb"), tags.get("kubernetes.io/role/internal-elb")) == {
            "public": ("1", None),
            "private": (None, "1"),
            "isolated": (None, None),
        }[tier], subnet.name
        assert tags.get(cluster_tag) == (None if tier == "isolated" else "shared"), subnet.name


# --- gateways and routes ----------------------------------------------------------------------------------


def test_nat_gateways_sit_in_the_public_subnets_with_elastic_ips(net: tuple[str, Net]) -> None:
    stack, network = net
    nats = EXPECTED[stack][2]
    igw = network.named(IGW, "igw")
    assert igw.inputs["vpcId"] == network.named(VPC, "vpc").id
    assert len(network.all(NAT)) == len(network.all(EIP)) == nats
    for index in range(nats):
        nat = network.named(NAT, f"nat-{index}")
        eip = network.named(EIP, f"nat-eip-{index}")
        assert eip.inputs["domain"] == "vpc"
        assert nat.inputs["allocationId"] == eip.id
        assert nat.inputs["subnetId"] == network.named(SUBNET, f"public-{index}").id
        assert nat.inputs["connectivityType"] == "public"
        assert igw.urn in nat.dependencies


def _routes_of(network: Net, table: RecordedResource) -> list[RecordedResource]:
    return [route for route in network.all(ROUTE) if route.inputs["routeTableId"] == table.id]


def _tables_of_subnets(network: Net) -> dict[str, str]:
    """subnet name -> route table name, from the associations."""
    subnets = network.by_id(SUBNET)
    tables = network.by_id(ROUTE_TABLE)
    return {
        subnets[assoc.inputs["subnetId"]].name: tables[assoc.inputs["routeTableId"]].name
        for assoc in network.all(ASSOCIATION)
    }


def test_every_subnet_is_associated_with_its_tier_table(net: tuple[str, Net]) -> None:
    stack, network = net
    az_count = EXPECTED[stack][1]
    p = network.prefix
    expected = {}
    for i in range(az_count):
        expected[f"{p}-public-{i}"] = f"{p}-public-rt"
        expected[f"{p}-private-{i}"] = f"{p}-private-rt-{i}"
        expected[f"{p}-isolated-{i}"] = f"{p}-isolated-rt"
    assert _tables_of_subnets(network) == expected


def test_public_table_routes_to_the_internet_gateway(net: tuple[str, Net]) -> None:
    _, network = net
    routes = _routes_of(network, network.named(ROUTE_TABLE, "public-rt"))
    assert [(r.inputs["destinationCidrBlock"], r.inputs.get("gatewayId")) for r in routes] == [
        ("0.0.0.0/0", network.named(IGW, "igw").id)
    ]


def test_private_tables_route_through_the_nat_of_their_az(net: tuple[str, Net]) -> None:
    stack, network = net
    _, az_count, nats, _, _ = EXPECTED[stack]
    for index in range(az_count):
        routes = _routes_of(network, network.named(ROUTE_TABLE, f"private-rt-{index}"))
        nat = network.named(NAT, f"nat-{index if nats > 1 else 0}")
        assert [(r.inputs["destinationCidrBlock"], r.inputs.get("natGatewayId")) for r in routes] == [
            ("0.0.0.0/0", nat.id)
        ]
        assert "gatewayId" not in routes[0].inputs


def test_isolated_table_has_no_route_at_all(net: tuple[str, Net]) -> None:
    _, network = net
    table = network.named(ROUTE_TABLE, "isolated-rt")
    assert _routes_of(network, table) == []
    assert not table.inputs.get("routes")  # no inline routes either
    # No route anywhere in the stack targets the isolated table.
    assert [r.urn for r in network.run.by_type(ROUTE) if r.inputs["routeTableId"] == table.id] == []


def test_s3_gateway_endpoint_serves_private_and_isolated_tables_only(net: tuple[str, Net]) -> None:
    stack, network = net
    az_count = EXPECTED[stack][1]
    endpoint = network.named(ENDPOINT, "s3")
    assert endpoint.inputs["vpcEndpointType"] == "Gateway"
    assert endpoint.inputs["serviceName"] == "com.amazonaws.us-east-1.s3"
    assert endpoint.inputs["vpcId"] == network.named(VPC, "vpc").id
    expected = [network.named(ROUTE_TABLE, f"private-rt-{i}").id for i in range(az_count)]
    expected.append(network.named(ROUTE_TABLE, "isolated-rt").id)
    assert endpoint.inputs["routeTableIds"] == expected
    assert network.named(ROUTE_TABLE, "public-rt").id not in endpoint.inputs["routeTableIds"]


# --- security groups --------------------------------------------------------------------------------------


def test_default_security_group_is_locked_down(net: tuple[str, Net]) -> None:
    _, network = net
    default = network.named(DEFAULT_SG, "default-sg")
    assert default.inputs["vpcId"] == network.named(VPC, "vpc").id
    assert default.inputs["ingress"] == []
    assert default.inputs["egress"] == []


def test_workload_group_has_egress_and_no_ingress_of_its_own(net: tuple[str, Net]) -> None:
    _, network = net
    group = network.named(SG, "workload")
    assert group.inputs["vpcId"] == network.named(VPC, "vpc").id
    # Inline rules would fight the standalone rules other components attach to this group.
    assert not group.inputs.get("ingress")
    assert not group.inputs.get("egress")
    egress = network.all(EGRESS)
    assert [(r.inputs["securityGroupId"], r.inputs["ipProtocol"], r.inputs["cidrIpv4"]) for r in egress] == [
        (group.id, "-1", "0.0.0.0/0")
    ]
    assert network.all(INGRESS) == []


def test_data_stores_admit_the_workload_group_and_never_the_internet(net: tuple[str, Net]) -> None:
    # The contract other components build on: their ingress references this group (or another group).
    _, network = net
    assert network.run.by_type("aws:rds/instance:Instance"), "every stack has shard databases to admit"
    workload = network.named(SG, "workload").id
    ingress = network.run.by_type(INGRESS)
    assert [r for r in ingress if r.inputs.get("referencedSecurityGroupId") == workload], (
        "no ingress rule admits the workload security group"
    )


# --- flow logs --------------------------------------------------------------------------------------------


def test_flow_logs_only_when_enabled(net: tuple[str, Net]) -> None:
    stack, network = net
    enabled, retention = EXPECTED[stack][3:]
    flow_logs = network.all(FLOW_LOG)
    if not enabled:
        assert flow_logs == []
        assert network.all(LOG_GROUP) == []
        assert network.all(ROLE) == []
        return
    log_group = network.named(LOG_GROUP, "flow-logs")
    role = network.named(ROLE, "flow-logs")
    assert log_group.inputs["retentionInDays"] == retention
    [flow_log] = flow_logs
    assert flow_log.inputs["vpcId"] == network.named(VPC, "vpc").id
    assert flow_log.inputs["trafficType"] == "ALL"
    assert flow_log.inputs["logDestinationType"] == "cloud-watch-logs"
    assert flow_log.inputs["logDestination"] == log_group.outputs["arn"]
    assert flow_log.inputs["iamRoleArn"] == role.outputs["arn"]


def test_flow_log_role_is_scoped_to_its_log_group(prod_run: StackRun) -> None:
    network = Net(prod_run)
    log_group_arn = network.named(LOG_GROUP, "flow-logs").outputs["arn"]
    role = network.named(ROLE, "flow-logs")
    trust = json.loads(role.inputs["assumeRolePolicy"])
    [statement] = trust["Statement"]
    assert statement["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com"}
    assert statement["Condition"]["StringEquals"]["aws:SourceAccount"].isdigit()
    policy = network.named(ROLE_POLICY, "flow-logs")
    assert policy.inputs["role"] == role.outputs["name"]
    [allow] = json.loads(policy.inputs["policy"])["Statement"]
    assert allow["Effect"] == "Allow"
    assert allow["Resource"] == [log_group_arn, f"{log_group_arn}:*"]
    assert all(action.startswith("logs:") and "*" not in action for action in allow["Action"])


# --- other configs ----------------------------------------------------------------------------------------


def test_no_nat_means_no_internet_route_from_private_subnets() -> None:
    network = Net(network_run("dev", natGateways="none"))
    assert network.all(NAT) == []
    assert network.all(EIP) == []
    assert [route.name for route in network.all(ROUTE)] == [f"{network.prefix}-public-default"]
    assert network.component.record.component_outputs["natGatewayIds"] == []


def _subnets(run: StackRun) -> dict[str, tuple[str, Any]]:
    return {r.urn: (r.id, dict(r.inputs)) for r in run.by_type(SUBNET)}


def test_adding_an_az_keeps_every_existing_subnet_as_it_was() -> None:
    two = network_run("dev", azCount=2)
    three = network_run("dev", azCount=3)
    before, after = _subnets(two), _subnets(three)
    assert len(after) == len(before) + 3
    assert {urn: after[urn] for urn in before} == before


def test_single_nat_growing_to_per_az_keeps_nat_zero() -> None:
    single = Net(network_run("prod", natGateways="single"))
    per_az = Net(network_run("prod", natGateways="perAz"))
    assert [nat.urn for nat in single.all(NAT)] == [per_az.named(NAT, "nat-0").urn]
    assert single.named(NAT, "nat-0").inputs == per_az.named(NAT, "nat-0").inputs
    # The tables stay; only the routes of AZs 1 and 2 change target.
    assert [t.urn for t in single.all(ROUTE_TABLE)] == [t.urn for t in per_az.all(ROUTE_TABLE)]


def test_another_region_keeps_every_urn_and_changes_only_zones_and_the_endpoint() -> None:
    east = Net(network_run("dev"))
    west = Net(network_run("dev", region="us-west-2"))
    assert [r.urn for r in east.children] == [r.urn for r in west.children]
    zones = [s.inputs["availabilityZoneId"] for s in west.all(SUBNET)]
    assert set(zones) == {"usw2-az1", "usw2-az2"}
    assert west.named(ENDPOINT, "s3").inputs["serviceName"] == "com.amazonaws.us-west-2.s3"


def test_more_azs_than_the_region_has_is_refused_by_name() -> None:
    config = stack_config("dev")
    config["aws:region"] = "eu-west-1"  # three zones
    config["nexus:network"] = {**config["nexus:network"], "azCount": 4}
    run = run_stack(config, stack="netcheck")
    assert run.error is not None
    assert run.error.startswith("nexus:network.azCount: 4 AZs requested but the region has 3 usable")
    assert run.by_type(SUBNET) == [] or all(
        s.inputs.get("availabilityZoneId") is None for s in run.by_type(SUBNET)
    )


# --- bad network config: refused before anything is registered ----------------------------------------------

BAD_NETWORK = [
    ({"cidr": "10.20.0.0/24"}, "nexus:network.cidr: ", "use a VPC from /16 to /23"),
    ({"cidr": "10.20.0.1/16"}, "nexus:network.cidr: ", "did you mean 10.20.0.0/16?"),
    ({"cidr": "10.20.0/16"}, "nexus:network.cidr: ", "such as 10.0.0.0/16"),
    ({"azCount": "3"}, "nexus:network.azCount: ", 'valid integer; got "3"'),
    ({"flowLogs": "yes"}, "nexus:network.flowLogs: ", 'valid boolean; got "yes"'),
    ({"natGateways": "perAZ"}, "nexus:network.natGateways: ", "'none', 'single' or 'perAz'"),
    ({"natGateway": "single"}, "nexus:network.natGateway: ", "valid keys here are: azCount, cidr"),
]


@pytest.mark.parametrize(
    ("change", "prefix", "fragment"),
    BAD_NETWORK,
    ids=["too-small", "host-bits", "unparsable", "string-int", "yes-bool", "bad-choice", "typo"],
)
def test_bad_network_config_stops_the_program_before_any_resource(
    change: dict[str, Any], prefix: str, fragment: str
) -> None:
    config = stack_config("dev")
    config["nexus:network"] = {**config["nexus:network"], **change}
    problems = config_problems(config, stack="netcheck")  # also asserts that nothing was registered
    assert len(problems) == 1, problems
    assert problems[0].startswith(prefix), problems
    assert fragment in problems[0], problems


def test_preview_cli_prints_the_documented_errors_and_exits_non_zero(tmp_path: Path) -> None:
    # The example of docs/configuration.md, through the real command line: one line per problem, no traceback.
    text = (PROJECT_DIR / "docs" / "configuration.md").read_text()
    example = re.search(r"<!-- example-config -->\n```yaml\n(.*?)```", text, re.S)
    shown = re.search(r"<!-- example-errors -->\n```text\n\$ [^\n]*\n(.*?)```", text, re.S)
    assert example, "docs/configuration.md lost its example"
    assert shown, "docs/configuration.md lost its example output"
    stack_file = tmp_path / "Pulumi.staging.yaml"
    stack_file.write_text(example.group(1))
    result = subprocess.run(
        [sys.executable, "-m", "stacks.preview", "--stack", "staging", "--config-file", str(stack_file)],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stdout + result.stderr
    assert (result.stdout + result.stderr).strip() == shown.group(1).strip()


# --- the network policy rules hold (tests/policy/test_policy.py) and each one can fail ----------------------


def _rule_violations(name: str, resources: list[PolicyResource]) -> list[str]:
    rule = next(rule for rule in RULES if rule.name == name)
    return [violation.urn for violation in check_rule(rule, resources)]


def _replace(resources: list[PolicyResource], urn: str, **changes: Any) -> list[PolicyResource]:
    assert urn in {r.urn for r in resources}
    return [dataclasses.replace(r, **changes) if r.urn == urn else r for r in resources]


def test_isolated_subnets_offline_catches_a_nat_route(prod_run: StackRun) -> None:
    graph = from_records(prod_run)
    network = Net(prod_run)
    table = network.named(ROUTE_TABLE, "isolated-rt")
    nat = network.named(NAT, "nat-0")
    assert _rule_violations("isolated-subnets-offline", graph) == []
    route = PolicyResource(
        urn=table.urn.replace("routeTable:RouteTable::", "route:Route::").replace("-rt", "-leak"),
        type=ROUTE,
        name="leak",
        inputs={"routeTableId": table.id, "destinationCidrBlock": "0.0.0.0/0", "natGatewayId": nat.id},
        property_dependencies={"routeTableId": (table.urn,), "natGatewayId": (nat.urn,)},
    )
    assert _rule_violations("isolated-subnets-offline", [*graph, route]) == [table.urn]
    inline = _replace(graph, table.urn, inputs={**table.inputs, "routes": [{"cidrBlock": "0.0.0.0/0"}]})
    assert _rule_violations("isolated-subnets-offline", inline) == [table.urn]
    # The same route on a private table is how private subnets reach the internet: not this rule's business.
    private = network.named(ROUTE_TABLE, "private-rt-0")
    fine = dataclasses.replace(
        route,
        inputs={**route.inputs, "routeTableId": private.id},
        property_dependencies={"routeTableId": (private.urn,)},
    )
    assert _rule_violations("isolated-subnets-offline", [*graph, fine]) == []


def test_no_public_ip_on_launch_catches_a_public_subnet_that_assigns_addresses(prod_run: StackRun) -> None:
    subnet = Net(prod_run).named(SUBNET, "public-0")
    broken = _replace(
        from_records(prod_run), subnet.urn, inputs={**subnet.inputs, "mapPublicIpOnLaunch": True}
    )
    assert _rule_violations("no-public-ip-on-launch", broken) == [subnet.urn]


def test_default_security_group_closed_catches_rules_and_an_unmanaged_group(prod_run: StackRun) -> None:
    network = Net(prod_run)
    graph = from_records(prod_run)
    group = network.named(DEFAULT_SG, "default-sg")
    opened = _replace(
        graph, group.urn, inputs={**group.inputs, "ingress": [{"self": True, "protocol": "-1"}]}
    )
    assert _rule_violations("default-security-group-closed", opened) == [group.urn]
    unmanaged = [r for r in graph if r.urn != group.urn]
    assert _rule_violations("default-security-group-closed", unmanaged) == [network.named(VPC, "vpc").urn]


def test_vpc_flow_logs_in_prod_catches_a_prod_vpc_without_them(prod_run: StackRun, dev_run: StackRun) -> None:
    graph = [r for r in from_records(prod_run) if r.type != FLOW_LOG]
    assert _rule_violations("vpc-flow-logs-in-prod", graph) == [Net(prod_run).named(VPC, "vpc").urn]
    # dev has none and needs none.
    assert Net(dev_run).all(FLOW_LOG) == []
    assert _rule_violations("vpc-flow-logs-in-prod", from_records(dev_run)) == []
