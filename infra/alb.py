"""The API's internet-facing Application Load Balancer, owned by Pulumi.

Traffic path: client -> ALB (public subnets, its own security group: 80/443 from ``allowedCidrs``) -> target
group of type ``ip`` -> API pod IPs (private subnets). The AWS Load Balancer Controller keeps the pod IPs
registered through a TargetGroupBinding (infra/lb_controller.py, created by the workloads), and its pod
readiness gate holds a rolling update until each new pod is healthy in the target group. This component adds
the one security group rule that lets the ALB reach the pods: ALB SG -> workload SG on the container port.

With a certificate: HTTPS on 443 (TLS 1.2+ policy) forwards to the pods, HTTP on 80 redirects to HTTPS.
Without one (dev only; the config refuses it in prod): HTTP on 80 forwards, and 443 is not opened.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

import pulumi
import pulumi_aws as aws

from infra.alarms import AlarmTarget, alb_alarms
from infra.iam_policies import ALB_ACCESS_LOG_PREFIX
from infra.lb_controller import BINDING_TAG

HEALTH_CHECK_PATH: Final = "/readyz"
TLS_POLICY: Final = "ELBSecurityPolicy-TLS13-1-2-2021-06"
"""TLS 1.3 and 1.2 only, forward-secret ciphers."""


@dataclass(frozen=True, kw_only=True)
class ApiLoadBalancerArgs:
    """Inputs of the ApiLoadBalancer. Plain values where the component branches on them."""

    vpc_id: pulumi.Input[str]
    """The VPC."""
    public_subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    """Public subnets, one per AZ."""
    workload_security_group_id: pulumi.Input[str]
    """The security group the API pods carry (through their nodes); the ALB reaches them through it."""
    allowed_cidrs: Sequence[str]
    """Client CIDRs admitted on the listener ports."""
    certificate_arn: str | None
    """ACM certificate: HTTPS + redirect when set, HTTP only when not."""
    target_port: int
    """The API container port."""
    deregistration_delay_seconds: int
    """How long a deregistered pod keeps getting its in-flight requests finished."""
    idle_timeout: int
    """Client connection idle timeout, seconds."""
    access_logs_bucket: pulumi.Input[str] | None = None
    """Bucket for access logs (SSE-S3, ELB delivery policy); None = no access logs."""
    access_logs_prefix: str = ALB_ACCESS_LOG_PREFIX
    """Key prefix of the logs; the log bucket's policy must let ELB write under it (its log_prefix)."""
    is_prod: bool = False
    """Deletion protection on."""
    depends_on: Sequence[pulumi.Resource] = field(default_factory=tuple)
    """What the load balancer waits for (the log bucket's policy: AWS checks it when logs are turned on)."""
    alarms: AlarmTarget | None = None
    """Where the 5xx, unhealthy-host and response-time alarms notify (None: no alarms)."""


def cidr_key(cidr: str) -> str:
    """A stable child-name key for a CIDR: ``0-0-0-0-0`` style, plus a hash for IPv6 length."""
    network = ipaddress.ip_network(cidr)
    slug = re.sub(r"[^0-9a-f]+", "-", str(network).lower()).strip("-")
    if network.version == 6:
        slug = f"v6-{hashlib.sha256(cidr.encode()).hexdigest()[:8]}"
    return slug


def listener_ports(https: bool) -> tuple[int, ...]:
    """The ports the ALB listens on (and the security group opens)."""
    return (80, 443) if https else (80,)


class ApiLoadBalancer(pulumi.ComponentResource):
    """Internet-facing ALB, its security group, target group (pod IPs) and listeners."""

    arn: pulumi.Output[str]
    dns_name: pulumi.Output[str]
    zone_id: pulumi.Output[str]
    url: pulumi.Output[str]
    target_group_arn: pulumi.Output[str]
    security_group_id: pulumi.Output[str]

    def __init__(
        self, name: str, args: ApiLoadBalancerArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("nexus:alb:ApiLoadBalancer", name, None, opts)
        self._name = name
        https = args.certificate_arn is not None
        sg = self._security_group(args, https)
        lb = aws.lb.LoadBalancer(
            f"{name}-alb",
            load_balancer_type="application",
            internal=False,
            subnets=args.public_subnet_ids,
            security_groups=[sg.id],
            idle_timeout=args.idle_timeout,
            # Requests with malformed header names never reach the app (request smuggling defence).
            drop_invalid_header_fields=True,
            desync_mitigation_mode="defensive",
            enable_http2=True,
            enable_deletion_protection=args.is_prod,
            access_logs=(
                aws.lb.LoadBalancerAccessLogsArgs(
                    bucket=args.access_logs_bucket, prefix=args.access_logs_prefix, enabled=True
                )
                if args.access_logs_bucket is not None
                else None
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.depends_on)),
        )
        target_group = aws.lb.TargetGroup(
            f"{name}-api",
            target_type="ip",
            protocol="HTTP",
            port=args.target_port,
            vpc_id=args.vpc_id,
            deregistration_delay=args.deregistration_delay_seconds,
            health_check=aws.lb.TargetGroupHealthCheckArgs(
                enabled=True,
                path=HEALTH_CHECK_PATH,
                port="traffic-port",
                protocol="HTTP",
                matcher="200",
                interval=10,
                timeout=5,
                healthy_threshold=2,
                unhealthy_threshold=3,
            ),
            # The only target groups the Load Balancer Controller may register pods in.
            tags=dict(BINDING_TAG),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self._listeners(args, lb, target_group, https)
        if args.alarms is not None:
            alb_alarms(name, self, args.alarms, lb.arn_suffix, target_group.arn_suffix)

        self.arn = lb.arn
        self.dns_name = lb.dns_name
        self.zone_id = lb.zone_id
        self.url = lb.dns_name.apply(lambda dns: f"{'https' if https else 'http'}://{dns}")
        self.target_group_arn = target_group.arn
        self.security_group_id = sg.id
        self.register_outputs(
            {
                "arn": self.arn,
                "dnsName": self.dns_name,
                "url": self.url,
                "targetGroupArn": self.target_group_arn,
                "securityGroupId": self.security_group_id,
            }
        )

    def _security_group(self, args: ApiLoadBalancerArgs, https: bool) -> aws.ec2.SecurityGroup:
        name = self._name
        sg = aws.ec2.SecurityGroup(
            f"{name}-sg",
            vpc_id=args.vpc_id,
            description="API load balancer: listener ports from the allowed CIDRs, out to the API pods only",
            opts=pulumi.ResourceOptions(parent=self),
        )
        for port in listener_ports(https):
            for cidr in args.allowed_cidrs:
                v6 = ipaddress.ip_network(cidr).version == 6
                aws.vpc.SecurityGroupIngressRule(
                    f"{name}-in-{port}-{cidr_key(cidr)}",
                    security_group_id=sg.id,
                    ip_protocol="tcp",
                    from_port=port,
                    to_port=port,
                    cidr_ipv4=None if v6 else cidr,
                    cidr_ipv6=cidr if v6 else None,
                    description=f"clients on {port}",
                    opts=pulumi.ResourceOptions(parent=self),
                )
        # Egress only to the pods, and the pods' side admits only the ALB: both halves reference groups.
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-out-pods",
            security_group_id=sg.id,
            ip_protocol="tcp",
            from_port=args.target_port,
            to_port=args.target_port,
            referenced_security_group_id=args.workload_security_group_id,
            description="to the API pods",
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-pods-from-alb",
            security_group_id=args.workload_security_group_id,
            ip_protocol="tcp",
            from_port=args.target_port,
            to_port=args.target_port,
            referenced_security_group_id=sg.id,
            description="API pods from the load balancer",
            opts=pulumi.ResourceOptions(parent=self),
        )
        return sg

    def _listeners(
        self,
        args: ApiLoadBalancerArgs,
        lb: aws.lb.LoadBalancer,
        target_group: aws.lb.TargetGroup,
        https: bool,
    ) -> None:
        forward = aws.lb.ListenerDefaultActionArgs(type="forward", target_group_arn=target_group.arn)
        if not https:
            aws.lb.Listener(
                f"{self._name}-http",
                load_balancer_arn=lb.arn,
                port=80,
                protocol="HTTP",
                default_actions=[forward],
                opts=pulumi.ResourceOptions(parent=self),
            )
            return
        aws.lb.Listener(
            f"{self._name}-https",
            load_balancer_arn=lb.arn,
            port=443,
            protocol="HTTPS",
            ssl_policy=TLS_POLICY,
            certificate_arn=args.certificate_arn,
            default_actions=[forward],
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.lb.Listener(
            f"{self._name}-http",
            load_balancer_arn=lb.arn,
            port=80,
            protocol="HTTP",
            default_actions=[
                aws.lb.ListenerDefaultActionArgs(
                    type="redirect",
                    redirect=aws.lb.ListenerDefaultActionRedirectArgs(
                        protocol="HTTPS", port="443", status_code="HTTP_301"
                    ),
                )
            ],
            opts=pulumi.ResourceOptions(parent=self),
        )
