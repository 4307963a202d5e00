"""Interface VPC endpoints: AWS APIs reached from the private subnets without the NAT gateways.

Image pulls (ECR api + dkr; the layers themselves come from S3 through the network's free gateway endpoint),
Pod Identity credentials (eks-auth), STS, CloudWatch Logs and Secrets Manager keep working when a NAT gateway
or its AZ fails, and their traffic is not billed per GiB at the NAT. With private DNS on, the service's
public name resolves to the endpoint inside the VPC, so no client changes.

One ENI per private subnet (AZ); a security group of its own admits HTTPS from the workload group (the nodes
and pods) only. Each endpoint is billed per AZ-hour plus per GiB processed (docs/cost.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws


@dataclass(frozen=True, kw_only=True)
class PrivateEndpointsArgs:
    """Inputs of PrivateEndpoints."""

    region: str
    """Region of the services (com.amazonaws.<region>.<service>)."""
    vpc_id: pulumi.Input[str]
    """The VPC."""
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    """Private subnets, one per AZ: one endpoint ENI in each."""
    workload_security_group_id: pulumi.Input[str]
    """The group of the nodes and pods: the only source admitted on 443."""
    services: Sequence[str]
    """Service suffixes, e.g. ecr.api, sts."""


def service_name(region: str, service: str) -> str:
    """The endpoint service name of an AWS service in a region."""
    return f"com.amazonaws.{region}.{service}"


def endpoint_key(service: str) -> str:
    """A child-name key of a service (ecr.api -> ecr-api)."""
    return service.replace(".", "-")


class PrivateEndpoints(pulumi.ComponentResource):
    """A security group and one interface endpoint (private DNS) per service."""

    endpoint_ids: pulumi.Output[dict[str, str]]
    """Service -> endpoint id."""

    def __init__(
        self, name: str, args: PrivateEndpointsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("nexus:network:PrivateEndpoints", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        group = aws.ec2.SecurityGroup(
            f"{name}-sg",
            vpc_id=args.vpc_id,
            description="Interface endpoints: HTTPS from the nodes and pods of the cluster",
            revoke_rules_on_delete=True,
            tags={"Name": f"{name}-sg"},
            opts=child,
        )
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-from-workloads",
            security_group_id=group.id,
            referenced_security_group_id=args.workload_security_group_id,
            ip_protocol="tcp",
            from_port=443,
            to_port=443,
            description="AWS APIs from the nodes and pods",
            opts=child,
        )
        endpoints = {
            service: aws.ec2.VpcEndpoint(
                f"{name}-{endpoint_key(service)}",
                vpc_id=args.vpc_id,
                service_name=service_name(args.region, service),
                vpc_endpoint_type="Interface",
                subnet_ids=args.subnet_ids,
                security_group_ids=[group.id],
                private_dns_enabled=True,
                tags={"Name": f"{name}-{endpoint_key(service)}"},
                opts=child,
            )
            for service in args.services
        }
        self.endpoint_ids = pulumi.Output.all(
            **{service: endpoint.id for service, endpoint in endpoints.items()}
        ).apply(dict)
        self.register_outputs({"endpointIds": self.endpoint_ids})
