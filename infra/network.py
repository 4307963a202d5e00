"""The VPC: public, private (app) and isolated (database) subnets across the configured AZs.

Layout (per AZ index ``i``, CIDRs from the pure ``infra.subnets.plan_subnets``):

- public-i: the load balancer and the NAT gateways; one shared route table with 0.0.0.0/0 -> internet gateway.
- private-i: the EKS nodes and pods; route table private-i sends 0.0.0.0/0 to the NAT of AZ i (perAz), to
  the one NAT (single), or nowhere (none).
- isolated-i: the databases and Redis; one route table with no internet route at all.

Every child is keyed by AZ *index*, never by AZ name: AZ names differ per region (and per account for the
same physical zone), so keying by name would rename, and therefore destroy and recreate, every subnet on a
region or zone change. With index keys the URNs stay put and such a change shows up as an explicit input diff.

Which zones (``infra.eks.zones``): real Availability Zones only (filter ``zone-type = availability-zone``, so
an opted-in Local Zone is never picked), never one where EKS refuses control-plane subnets, chosen by zone
*id* (the same physical zone in every account): the ids of ``nexus:network.zoneIds`` in that order, else the
first ``azCount`` usable ids in sorted order. Subnets are placed by ``availability_zone_id``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import pulumi
import pulumi_aws as aws

from infra.eks.zones import ZONE_TYPE_FILTER_NAME, ZONE_TYPE_FILTER_VALUES, pick_zone_ids
from infra.subnets import SubnetPlan, Tier, plan_subnets

NatMode = Literal["none", "single", "perAz"]

ANYWHERE_V4 = "0.0.0.0/0"


@dataclass(frozen=True, kw_only=True)
class NetworkArgs:
    """Inputs of a Network. Plain values: the component branches on them."""

    cidr: str
    """VPC CIDR; subnets are carved from it by infra.subnets.plan_subnets."""
    az_count: int
    """Number of availability zones to span (the first az_count available ones)."""
    nat_gateways: NatMode
    """NAT for the private subnets: none, one shared (in AZ 0), or one per AZ."""
    flow_logs: bool
    """Send VPC flow logs (all traffic) to a CloudWatch log group."""
    flow_log_retention_days: int
    """Retention of the flow log group, in days."""
    cluster_name: str
    """EKS cluster name, for the kubernetes.io/cluster/<name> subnet tag."""
    zone_ids: Sequence[str] = ()
    """AZ ids to use, in AZ-index order (``az_count`` of them); empty: the first usable ids, sorted."""
    log_kms_key_arn: pulumi.Input[str] | None = None
    """KMS key of the flow log group (None: CloudWatch Logs' default encryption; nexus:logs.kms)."""


def nat_index_for(az_index: int, mode: NatMode) -> int | None:
    """Index of the NAT gateway that private subnet ``az_index`` routes through (None: no internet route)."""
    if mode == "none":
        return None
    if mode == "single":
        return 0
    return az_index


def nat_count(az_count: int, mode: NatMode) -> int:
    """How many NAT gateways (and EIPs) a mode needs."""
    return {"none": 0, "single": 1, "perAz": az_count}[mode]


def subnet_tags(name: str, plan: SubnetPlan, cluster_name: str) -> dict[str, str]:
    """Tags of one subnet: its name and tier, plus the tags EKS and the load balancer use to find subnets."""
    tags = {"Name": f"{name}-{plan.tier}-{plan.az_index}", "nexus:tier": plan.tier}
    if plan.tier == "public":
        tags["kubernetes.io/role/elb"] = "1"
    elif plan.tier == "private":
        tags["kubernetes.io/role/internal-elb"] = "1"
    if plan.tier != "isolated":
        # Databases live in the isolated tier; keeping the cluster tag off it stops the cluster's load
        # balancers and ENIs from ever being placed there.
        tags[f"kubernetes.io/cluster/{cluster_name}"] = "shared"
    return tags


def flow_log_assume_policy(account_id: str, region: str) -> str:
    """Trust policy of the flow log role: only VPC Flow Logs of this account and region may assume it."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "vpc-flow-logs.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                    # Confused-deputy guard: the service may act for this account's flow logs only.
                    "Condition": {
                        "StringEquals": {"aws:SourceAccount": account_id},
                        "ArnLike": {"aws:SourceArn": f"arn:aws:ec2:{region}:{account_id}:vpc-flow-log/*"},
                    },
                }
            ],
        },
        sort_keys=True,
    )


def flow_log_write_policy(log_group_arn: str) -> str:
    """Permissions of the flow log role: write streams and events into one log group, nothing else."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                    "Resource": [log_group_arn, f"{log_group_arn}:*"],
                }
            ],
        },
        sort_keys=True,
    )


def _pick_zones(names: list[str], ids: list[str], args: NetworkArgs) -> tuple[list[str], list[str]]:
    """(zone names, zone ids) in AZ-index order, from getAvailabilityZones' answer."""
    try:
        picked = pick_zone_ids(ids, args.az_count, tuple(args.zone_ids))
    except ValueError as exc:
        key = "nexus:network.zoneIds" if args.zone_ids else "nexus:network.azCount"
        # RunError: the engine reports it as a plain message (like a config error), without a traceback.
        raise pulumi.RunError(f"{key}: {exc}") from None
    name_of = dict(zip(ids, names, strict=True))
    return [name_of[zone] for zone in picked], picked


def _ids(resources: list[aws.ec2.Subnet] | list[aws.ec2.NatGateway]) -> pulumi.Output[list[str]]:
    return pulumi.Output.all(*[resource.id for resource in resources])


class Network(pulumi.ComponentResource):
    """A three-tier VPC with NAT, route tables, an S3 gateway endpoint, flow logs and the workload group."""

    vpc_id: pulumi.Output[str]
    """Id of the VPC."""
    vpc_cidr: pulumi.Output[str]
    """CIDR block of the VPC."""
    azs: pulumi.Output[list[str]]
    """AZ names in AZ-index order (subnet lists follow the same order); names differ per account."""
    zone_ids: pulumi.Output[list[str]]
    """AZ ids in AZ-index order: the subnets' placement, the same physical zones in every account."""
    public_subnet_ids: pulumi.Output[list[str]]
    """Public subnets, one per AZ: load balancers and NAT gateways."""
    private_subnet_ids: pulumi.Output[list[str]]
    """Private subnets, one per AZ: cluster nodes and pods."""
    private_subnet_ids_by_az: list[pulumi.Output[str]]
    """The private subnet of each AZ index (one managed node group per AZ lives in each)."""
    isolated_subnet_ids: pulumi.Output[list[str]]
    """Isolated subnets, one per AZ, no internet route: databases and Redis."""
    workload_security_group_id: pulumi.Output[str]
    """Security group carried by the cluster's nodes (and so their pods); data stores admit only it."""
    nat_gateway_ids: pulumi.Output[list[str]]
    """NAT gateways in NAT index order (empty when natGateways is none)."""

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("nexus:network:Network", name, None, opts)
        self._name = name
        self._args = args
        plans = plan_subnets(args.cidr, args.az_count)

        zones = aws.get_availability_zones_output(
            state="available",
            filters=[
                aws.GetAvailabilityZonesFilterArgs(
                    name=ZONE_TYPE_FILTER_NAME, values=list(ZONE_TYPE_FILTER_VALUES)
                )
            ],
            opts=pulumi.InvokeOutputOptions(parent=self),
        )
        picked = zones.apply(lambda result: _pick_zones(list(result.names), list(result.zone_ids), args))
        self.azs = picked.apply(lambda pair: pair[0])
        self.zone_ids = picked.apply(lambda pair: pair[1])

        vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=args.cidr,
            enable_dns_support=True,
            # EKS private endpoints, RDS Proxy and ElastiCache hand out DNS names that must resolve in-VPC.
            enable_dns_hostnames=True,
            tags={"Name": f"{name}-vpc"},
            opts=self._opts(),
        )
        self._lock_default_security_group(vpc)
        igw = aws.ec2.InternetGateway(
            f"{name}-igw", vpc_id=vpc.id, tags={"Name": f"{name}-igw"}, opts=self._opts()
        )

        subnets: dict[Tier, list[aws.ec2.Subnet]] = {"public": [], "private": [], "isolated": []}
        for plan in plans:
            subnets[plan.tier].append(self._subnet(vpc, plan))

        nats = self._nat_gateways(subnets["public"], igw)
        self._public_routes(vpc, igw, subnets["public"])
        private_tables = self._private_routes(vpc, subnets["private"], nats)
        isolated_table = self._isolated_routes(vpc, subnets["isolated"])
        self._s3_endpoint(vpc, [*private_tables, isolated_table])
        workload_sg = self._workload_security_group(vpc)
        if args.flow_logs:
            self._flow_logs(vpc)

        self.vpc_id = vpc.id
        self.vpc_cidr = vpc.cidr_block
        self.public_subnet_ids = _ids(subnets["public"])
        self.private_subnet_ids = _ids(subnets["private"])
        self.private_subnet_ids_by_az = [subnet.id for subnet in subnets["private"]]
        self.isolated_subnet_ids = _ids(subnets["isolated"])
        self.workload_security_group_id = workload_sg.id
        self.nat_gateway_ids = _ids(nats)
        self.register_outputs(
            {
                "vpcId": self.vpc_id,
                "vpcCidr": self.vpc_cidr,
                "azs": self.azs,
                "zoneIds": self.zone_ids,
                "publicSubnetIds": self.public_subnet_ids,
                "privateSubnetIds": self.private_subnet_ids,
                "isolatedSubnetIds": self.isolated_subnet_ids,
                "workloadSecurityGroupId": self.workload_security_group_id,
                "natGatewayIds": self.nat_gateway_ids,
            }
        )

    def _opts(self, depends_on: list[pulumi.Resource] | None = None) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, depends_on=depends_on)

    def _lock_default_security_group(self, vpc: aws.ec2.Vpc) -> None:
        # Adopting the default group strips AWS's allow-all-within-group rules, so anything launched without
        # an explicit group (a forgotten ENI, a test instance) can neither talk nor be reached.
        aws.ec2.DefaultSecurityGroup(
            f"{self._name}-default-sg",
            vpc_id=vpc.id,
            ingress=[],
            egress=[],
            tags={"Name": f"{self._name}-default-locked"},
            opts=self._opts(),
        )

    def _zone_id(self, az_index: int) -> pulumi.Output[str]:
        return self.zone_ids.apply(lambda ids: ids[az_index])

    def _subnet(self, vpc: aws.ec2.Vpc, plan: SubnetPlan) -> aws.ec2.Subnet:
        return aws.ec2.Subnet(
            f"{self._name}-{plan.tier}-{plan.az_index}",
            vpc_id=vpc.id,
            cidr_block=plan.cidr,
            availability_zone_id=self._zone_id(plan.az_index),
            # Off even in the public tier: the NAT gateways use Elastic IPs and load balancers get their own
            # addresses, so nothing else placed there should become reachable from the internet by accident.
            map_public_ip_on_launch=False,
            tags=subnet_tags(self._name, plan, self._args.cluster_name),
            opts=self._opts(),
        )

    def _nat_gateways(
        self, public: list[aws.ec2.Subnet], igw: aws.ec2.InternetGateway
    ) -> list[aws.ec2.NatGateway]:
        nats: list[aws.ec2.NatGateway] = []
        # NAT i sits in public subnet i, so "single" (NAT 0) grows into "perAz" without replacing NAT 0.
        for index in range(nat_count(self._args.az_count, self._args.nat_gateways)):
            eip = aws.ec2.Eip(
                f"{self._name}-nat-eip-{index}",
                domain="vpc",
                tags={"Name": f"{self._name}-nat-{index}"},
                # An EIP in a VPC needs the internet gateway attached before it can be associated.
                opts=self._opts(depends_on=[igw]),
            )
            nats.append(
                aws.ec2.NatGateway(
                    f"{self._name}-nat-{index}",
                    allocation_id=eip.id,
                    subnet_id=public[index].id,
                    connectivity_type="public",
                    tags={"Name": f"{self._name}-nat-{index}"},
                    opts=self._opts(depends_on=[igw]),
                )
            )
        return nats

    def _public_routes(
        self, vpc: aws.ec2.Vpc, igw: aws.ec2.InternetGateway, public: list[aws.ec2.Subnet]
    ) -> None:
        table = aws.ec2.RouteTable(
            f"{self._name}-public-rt", vpc_id=vpc.id, tags={"Name": f"{self._name}-public"}, opts=self._opts()
        )
        # Routes are separate resources rather than inline routes, so that switching NAT modes (or another
        # component adding a peering route) changes routes without rewriting the table.
        aws.ec2.Route(
            f"{self._name}-public-default",
            route_table_id=table.id,
            destination_cidr_block=ANYWHERE_V4,
            gateway_id=igw.id,
            opts=self._opts(),
        )
        self._associate(table, public, "public")

    def _private_routes(
        self, vpc: aws.ec2.Vpc, private: list[aws.ec2.Subnet], nats: list[aws.ec2.NatGateway]
    ) -> list[aws.ec2.RouteTable]:
        tables: list[aws.ec2.RouteTable] = []
        # One table per AZ whatever the NAT mode, so that changing the mode changes only routes.
        for index, subnet in enumerate(private):
            table = aws.ec2.RouteTable(
                f"{self._name}-private-rt-{index}",
                vpc_id=vpc.id,
                tags={"Name": f"{self._name}-private-{index}"},
                opts=self._opts(),
            )
            nat_index = nat_index_for(index, self._args.nat_gateways)
            if nat_index is not None:
                aws.ec2.Route(
                    f"{self._name}-private-default-{index}",
                    route_table_id=table.id,
                    destination_cidr_block=ANYWHERE_V4,
                    nat_gateway_id=nats[nat_index].id,
                    opts=self._opts(),
                )
            aws.ec2.RouteTableAssociation(
                f"{self._name}-private-rta-{index}",
                subnet_id=subnet.id,
                route_table_id=table.id,
                opts=self._opts(),
            )
            tables.append(table)
        return tables

    def _isolated_routes(self, vpc: aws.ec2.Vpc, isolated: list[aws.ec2.Subnet]) -> aws.ec2.RouteTable:
        # No route beyond the VPC's local one (and the S3 prefix list): data stores cannot reach the internet
        # even if a NAT exists, and nothing outside the VPC can route to them.
        table = aws.ec2.RouteTable(
            f"{self._name}-isolated-rt",
            vpc_id=vpc.id,
            tags={"Name": f"{self._name}-isolated"},
            opts=self._opts(),
        )
        self._associate(table, isolated, "isolated")
        return table

    def _associate(self, table: aws.ec2.RouteTable, subnets: list[aws.ec2.Subnet], tier: Tier) -> None:
        for index, subnet in enumerate(subnets):
            aws.ec2.RouteTableAssociation(
                f"{self._name}-{tier}-rta-{index}",
                subnet_id=subnet.id,
                route_table_id=table.id,
                opts=self._opts(),
            )

    def _s3_endpoint(self, vpc: aws.ec2.Vpc, tables: list[aws.ec2.RouteTable]) -> None:
        # A gateway endpoint is free and keeps S3 traffic (uploads, image layers, backups) off the NAT, where
        # it would be billed per GiB, and gives the isolated tier S3 without any internet route.
        region = aws.get_region_output(opts=pulumi.InvokeOutputOptions(parent=self)).region
        aws.ec2.VpcEndpoint(
            f"{self._name}-s3",
            vpc_id=vpc.id,
            service_name=region.apply(lambda r: f"com.amazonaws.{r}.s3"),
            vpc_endpoint_type="Gateway",
            route_table_ids=[table.id for table in tables],
            tags={"Name": f"{self._name}-s3"},
            opts=self._opts(),
        )

    def _workload_security_group(self, vpc: aws.ec2.Vpc) -> aws.ec2.SecurityGroup:
        # No inline rules: other components attach rules to (and reference) this group with standalone rule
        # resources, and inline rules on the same group would fight them on every update.
        group = aws.ec2.SecurityGroup(
            f"{self._name}-workload",
            vpc_id=vpc.id,
            description="Carried by the nodes and pods of the cluster; data stores admit only this group",
            revoke_rules_on_delete=True,
            tags={"Name": f"{self._name}-workload"},
            opts=self._opts(),
        )
        # All egress: nodes pull images from ECR and public registries, call AWS APIs (EKS, STS, Secrets
        # Manager) and reach Postgres, Redis and S3; listing every destination is not possible for registries
        # behind CDNs. Ingress is the data stores' side (they admit this group) and the cluster's node rules.
        aws.vpc.SecurityGroupEgressRule(
            f"{self._name}-workload-egress-all",
            security_group_id=group.id,
            ip_protocol="-1",
            cidr_ipv4=ANYWHERE_V4,
            description="Nodes and pods reach AWS APIs, registries and data stores",
            opts=self._opts(),
        )
        return group

    def _flow_logs(self, vpc: aws.ec2.Vpc) -> None:
        invoke = pulumi.InvokeOutputOptions(parent=self)
        account_id = aws.get_caller_identity_output(opts=invoke).account_id
        region = aws.get_region_output(opts=invoke).region
        log_group = aws.cloudwatch.LogGroup(
            f"{self._name}-flow-logs",
            retention_in_days=self._args.flow_log_retention_days,
            kms_key_id=self._args.log_kms_key_arn,
            opts=self._opts(),
        )
        role = aws.iam.Role(
            f"{self._name}-flow-logs",
            assume_role_policy=pulumi.Output.all(account_id, region).apply(
                lambda values: flow_log_assume_policy(values[0], values[1])
            ),
            description="VPC Flow Logs writes into its own log group",
            opts=self._opts(),
        )
        aws.iam.RolePolicy(
            f"{self._name}-flow-logs",
            role=role.id,
            policy=log_group.arn.apply(flow_log_write_policy),
            opts=self._opts(),
        )
        aws.ec2.FlowLog(
            f"{self._name}-flow-log",
            vpc_id=vpc.id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=log_group.arn,
            iam_role_arn=role.arn,
            tags={"Name": f"{self._name}-flow-log"},
            opts=self._opts(),
        )
