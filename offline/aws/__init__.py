"""What AWS computes for the resource types this project uses (pulumi-aws 7.x token names).

Ids, ARNs and endpoints follow the shapes AWS returns, so that code reading them (an endpoint split into host
and port, an ARN parsed for its suffix, an OIDC issuer stripped of ``https://``) runs as it would in AWS.

One module per service group, each a table of one ``Emulation`` per resource type with the few lines that
compute its outputs and the rules (checks) AWS or the provider applies to it, registered on import:
``network`` (EC2, VPC), ``cloudwatch``, ``iam``, ``data`` (RDS, Secrets Manager, KMS, ElastiCache, S3),
``cluster`` (EKS, ECR), ``ci`` (CodeBuild), ``edge`` (ELBv2, ACM, Route 53, auto scaling) and ``waf``
(WAFv2, SNS); ``common`` holds the shapes they share (EC2-style ids and ARNs, ids built from inputs,
auto-names). Importing this package registers them all.
"""

from __future__ import annotations

from . import ci, cloudwatch, cluster, data, edge, iam, network, waf

__all__ = ["ci", "cloudwatch", "cluster", "data", "edge", "iam", "network", "waf"]
