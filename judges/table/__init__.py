"""The mapping table: each ``aws:*`` type of the plan, as CloudFormation and as Terraform model it.

CloudFormation column: the resource type of the CloudFormation registry (the schemas cfn-lint ships), each
input's property path and shape, or the reason it is dropped; resources CloudFormation models inside another
one name their parent (``Merge``), and resources it splits add more (``split``).

Terraform column: pulumi-aws is bridged from the Terraform AWS provider, so a type and its attributes map
one to one. Type names are the bridge metadata's (pulumi/pulumi-aws,
``provider/cmd/pulumi-resource-aws/bridge-metadata.json``, ``renames.resources``:
``aws:rds/instance:Instance`` is ``aws_db_instance``). Attributes are the snake_case of their Pulumi
names, except list blocks that Pulumi pluralised (the same file's ``renamedProperties``, e.g.
``"defaultActions": "default_action"``), listed in ``renames``. checkov's own checks read the same names
(``default_action`` in ALBListenerHTTPS, ``encryption_configuration/[0]/encryption_type`` for ECR).

The rows live in one module per service group (``cloudwatch``, ``network``, ``cluster``, ``data``, ``iam``,
``edge``, ``protect``, ``ci`` for the account bootstrap), the row model in ``model``; ``TABLE`` joins them.
"""

from __future__ import annotations

from . import ci, cloudwatch, cluster, data, edge, iam, network, protect
from .model import Cfn, Drop, Merge, Row, Split, Tf, To

TABLE: dict[str, Row] = {
    **cloudwatch.ROWS,
    **network.ROWS,
    **cluster.ROWS,
    **data.ROWS,
    **iam.ROWS,
    **edge.ROWS,
    **protect.ROWS,
    **ci.ROWS,
}

__all__ = ["TABLE", "Cfn", "Drop", "Merge", "Row", "Split", "Tf", "To"]
