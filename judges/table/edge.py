"""The mapping table's rows for load balancing: load balancers, target groups, listeners."""

from __future__ import annotations

from ..shapes import attribute, attributes, pascal, pick
from .model import PREFIX_EXPANDED, Cfn, Row, Tf, To

_TARGET_GROUP_HEALTH = pick(
    {
        "enabled": "HealthCheckEnabled",
        "path": "HealthCheckPath",
        "port": "HealthCheckPort",
        "protocol": "HealthCheckProtocol",
        "interval": "HealthCheckIntervalSeconds",
        "timeout": "HealthCheckTimeoutSeconds",
        "healthyThreshold": "HealthyThresholdCount",
        "unhealthyThreshold": "UnhealthyThresholdCount",
        "matcher": ("Matcher", lambda code: {"HttpCode": code}),
    }
)

_LISTENER_ACTION = pick(
    {
        "type": "Type",
        "order": "Order",
        "targetGroupArn": "TargetGroupArn",
        "redirect": ("RedirectConfig", pascal),
        "fixedResponse": ("FixedResponseConfig", pascal),
        "forward": ("ForwardConfig", pascal),
    }
)


ROWS: dict[str, Row] = {
    # --- Load balancing ---
    "aws:lb/loadBalancer:LoadBalancer": Row(
        Cfn(
            "AWS::ElasticLoadBalancingV2::LoadBalancer",
            {
                "name": To("Name"),
                "namePrefix": PREFIX_EXPANDED,
                "internal": To("Scheme", lambda internal: "internal" if internal else "internet-facing"),
                "loadBalancerType": To("Type"),
                "subnets": To("Subnets"),
                "securityGroups": To("SecurityGroups"),
                "ipAddressType": To("IpAddressType"),
                # Attributes (ModifyLoadBalancerAttributes), by the names AWS documents for ALBs.
                "accessLogs": To(
                    "LoadBalancerAttributes",
                    attributes(
                        {
                            "enabled": "access_logs.s3.enabled",
                            "bucket": "access_logs.s3.bucket",
                            "prefix": "access_logs.s3.prefix",
                        }
                    ),
                    append=True,
                ),
                "enableDeletionProtection": To(
                    "LoadBalancerAttributes", attribute("deletion_protection.enabled"), append=True
                ),
                "enableHttp2": To("LoadBalancerAttributes", attribute("routing.http2.enabled"), append=True),
                "idleTimeout": To(
                    "LoadBalancerAttributes", attribute("idle_timeout.timeout_seconds"), append=True
                ),
                "dropInvalidHeaderFields": To(
                    "LoadBalancerAttributes",
                    attribute("routing.http.drop_invalid_header_fields.enabled"),
                    append=True,
                ),
                "desyncMitigationMode": To(
                    "LoadBalancerAttributes", attribute("routing.http.desync_mitigation_mode"), append=True
                ),
                "tags": To("Tags"),
            },
            name=("name", "Name"),
            tags="list",
        ),
        Tf("aws_lb", renames={"subnetMappings": "subnet_mapping"}),
    ),
    "aws:lb/targetGroup:TargetGroup": Row(
        Cfn(
            "AWS::ElasticLoadBalancingV2::TargetGroup",
            {
                "name": To("Name"),
                "namePrefix": PREFIX_EXPANDED,
                "port": To("Port"),
                "protocol": To("Protocol"),
                "protocolVersion": To("ProtocolVersion"),
                "targetType": To("TargetType"),
                "vpcId": To("VpcId"),
                "healthCheck": To("", _TARGET_GROUP_HEALTH),
                "deregistrationDelay": To(
                    "TargetGroupAttributes", attribute("deregistration_delay.timeout_seconds"), append=True
                ),
                "tags": To("Tags"),
            },
            name=("name", "Name"),
            tags="list",
        ),
        Tf("aws_lb_target_group"),
    ),
    "aws:lb/listener:Listener": Row(
        Cfn(
            "AWS::ElasticLoadBalancingV2::Listener",
            {
                "loadBalancerArn": To("LoadBalancerArn"),
                "port": To("Port"),
                "protocol": To("Protocol"),
                "sslPolicy": To("SslPolicy"),
                "certificateArn": To("Certificates", lambda arn: [{"CertificateArn": arn}]),
                "defaultActions": To("DefaultActions", _LISTENER_ACTION),
                "tags": To("Tags"),
            },
            tags="list",
        ),
        Tf("aws_lb_listener", renames={"defaultActions": "default_action"}),
    ),
}
