"""Pulumi entry point: `pulumi up` runs this file (Pulumi.yaml `main: .`)."""

from stacks.program import main

main()
