"""Entry point the Pulumi CLI runs for ``--policy-pack policy_pack``: serve every rule of policy.RULES.

``PolicyPack(...)`` starts the analyzer's gRPC server and blocks, so it is built here only; the policies
themselves live in ``policy_pack.policies``, which the tests import.
"""

import sys
from pathlib import Path

# The CLI puts only this directory on sys.path; the rules live in the project's own policy/ package.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pulumi_policy import EnforcementLevel, PolicyPack

from policy_pack.policies import PACK_NAME, build_policies

PolicyPack(
    name=PACK_NAME,
    policies=build_policies(),
    enforcement_level=EnforcementLevel.MANDATORY,
    description="NexusAPI platform rules (policy.RULES): the same functions the test suite runs.",
)
