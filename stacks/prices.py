"""The price table of the monthly cost estimate (stacks/cost.py): on-demand list prices in USD, dated.

Only the regions and types the stack files use are listed; anything else is reported as unpriced by the
estimate, never counted as zero. Update the figures and PRICE_DATE together.

Sources (AWS's public pricing pages, on-demand, US East (N. Virginia); read on PRICE_DATE):
- RDS for PostgreSQL instances and gp3 storage: https://aws.amazon.com/rds/postgresql/pricing/ (Single-AZ
  hourly per class; Multi-AZ (one standby) bills the instance and its storage twice, as the RDS User Guide
  says: https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_OnDemandDBInstances.html).
- RDS Proxy: https://aws.amazon.com/rds/proxy/pricing/ (per vCPU-hour of the target instance, 2 vCPUs
  minimum). vCPUs per class: infra/catalog.py's RDS_INSTANCE_CLASSES.
- ElastiCache node-based, by engine: https://aws.amazon.com/elasticache/pricing/ (Valkey nodes are priced
  20% below Redis OSS nodes).
- EKS control plane (standard support): https://aws.amazon.com/eks/pricing/.
- EC2 Linux on-demand: https://aws.amazon.com/ec2/pricing/on-demand/; EBS gp3: https://aws.amazon.com/ebs/pricing/.
- NAT gateway hourly: https://aws.amazon.com/vpc/pricing/; in-use public IPv4 address (the NAT gateways'
  Elastic IPs): the same page, "Public IPv4 addresses".
- Application Load Balancer hourly: https://aws.amazon.com/elasticloadbalancing/pricing/.
- KMS customer managed key: https://aws.amazon.com/kms/pricing/; Secrets Manager secret:
  https://aws.amazon.com/secrets-manager/pricing/.
- Interface VPC endpoints (issue 17): https://aws.amazon.com/privatelink/pricing/ ("billed for each hour that
  your VPC endpoint remains provisioned in each Availability Zone"; $0.01 per GB processed, left out as
  usage). The $0.01 per endpoint-AZ-hour in us-east-1 was cross-checked against a third-party calculator
  (cloudcostkit.com, aws-vpc-interface-endpoint-cost-calculator: 4,378 endpoint-hours = $43.78).
- AWS WAF: https://aws.amazon.com/waf/pricing/ ($5 per web ACL-month, $1 per rule-month, a managed rule group
  counting as one rule; $0.60 per million requests, left out as usage), the same in every region (AWS
  Networking blog, "Cost-effective ways for securing your web applications using AWS WAF"); figures
  cross-checked against third-party breakdowns (c3x.dev, "AWS WAF cost explained").

Cross-checked when the table was written, against pages found with the search tool: the Multi-AZ doubling
(the RDS User Guide above), db.t4g.micro/small/medium hourly and RDS gp3 at $0.115 (third-party breakdowns
quoting the RDS pricing page), NAT gateway $0.045/h and public IPv4 $0.005/h (the same), ALB billed per hour
plus LCUs (the ELB pricing page). Not re-read then (the search returned no AWS page with the figure): the
db.r6g and db.t4g.large hourly rates, RDS Proxy's rate and 2-vCPU minimum, the ElastiCache node rates and
the Valkey discount (20%; one third-party page says 30%), EKS, EC2, EBS, KMS and Secrets Manager. Check
those first when moving PRICE_DATE.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

PRICE_DATE = "2026-12-07"
HOURS_PER_MONTH = 730
"""AWS's own convention on its pricing pages and calculator (365 * 24 / 12)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RegionPrices:
    """On-demand prices of one region (USD)."""

    rds_postgres_hourly: Mapping[str, float]
    """Single-AZ RDS for PostgreSQL, per instance-hour, by class."""
    rds_gp3_gb_month: float
    """Single-AZ gp3 storage per GB-month (Multi-AZ doubles it)."""
    rds_proxy_vcpu_hourly: float
    rds_proxy_min_vcpus: int
    elasticache_node_hourly: Mapping[str, Mapping[str, float]]
    """Engine -> node type -> per node-hour."""
    eks_cluster_hourly: float
    ec2_hourly: Mapping[str, float]
    """Linux on-demand, per instance-hour, by type."""
    ebs_gp3_gb_month: float
    nat_gateway_hourly: float
    public_ipv4_hourly: float
    alb_hourly: float
    kms_key_month: float
    secret_month: float
    interface_endpoint_az_hourly: float = 0.0
    """Interface VPC endpoint, per endpoint per AZ (ENI) per hour."""
    waf_web_acl_month: float = 0.0
    waf_rule_month: float = 0.0
    """A rule or a managed rule group in a web ACL, per month."""


PRICES: Mapping[str, RegionPrices] = {
    "us-east-1": RegionPrices(
        rds_postgres_hourly={
            "db.t4g.micro": 0.016,
            "db.t4g.small": 0.032,
            "db.t4g.medium": 0.065,
            "db.t4g.large": 0.129,
            "db.r6g.large": 0.225,
            "db.r6g.xlarge": 0.449,
            "db.r6g.2xlarge": 0.899,
        },
        rds_gp3_gb_month=0.115,
        rds_proxy_vcpu_hourly=0.015,
        rds_proxy_min_vcpus=2,
        elasticache_node_hourly={
            "redis": {"cache.t4g.small": 0.032, "cache.t4g.medium": 0.065, "cache.r7g.large": 0.219},
            "valkey": {"cache.t4g.small": 0.0256, "cache.t4g.medium": 0.052, "cache.r7g.large": 0.1752},
        },
        eks_cluster_hourly=0.10,
        ec2_hourly={
            "t3.xlarge": 0.1664,
            "m5.xlarge": 0.192,
            "m6i.xlarge": 0.192,
            "m6i.2xlarge": 0.384,
        },
        ebs_gp3_gb_month=0.08,
        nat_gateway_hourly=0.045,
        public_ipv4_hourly=0.005,
        alb_hourly=0.0225,
        kms_key_month=1.00,
        secret_month=0.40,
        interface_endpoint_az_hourly=0.01,
        waf_web_acl_month=5.00,
        waf_rule_month=1.00,
    ),
}
