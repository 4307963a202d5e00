"""Pulumi entry point of the account bootstrap (bootstrap/Pulumi.yaml ``main: .``).

The language host puts only this directory on ``sys.path``; the program's code lives in the repository's
packages (stacks/bootstrap, infra), one level up.
"""

import sys
from pathlib import Path

_ROOT = str(Path(__file__).resolve().parent.parent)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from stacks.bootstrap.program import main  # noqa: E402  (after the path above)

main()
