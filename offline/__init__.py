"""An offline Pulumi engine: runs a Python program as the language host does, records every registration
with its options, and emulates what the cloud computes. Used by the preview CLI and the test harness.

This package imports only the Pulumi SDK and the standard library (no project module), so that a run sees
the program's modules exactly as ``pulumi up`` would.
"""

from .cloud import ACCOUNT_ID, AutoName, Ctx, Emulation, EmulationError, known_types, register
from .invokes import emulated_invokes, register_invoke
from .monitor import DuplicateUrnError
from .project import ProjectError, ProjectFile, StackFile, read_project, read_stack
from .records import LogEntry, ProgramRun, ResourceRecord
from .runner import ProgramCrashError, run_program
from .stackrun import RecordedResource, StackRun, run_config, run_stack_file

__all__ = [
    "ACCOUNT_ID",
    "AutoName",
    "Ctx",
    "DuplicateUrnError",
    "Emulation",
    "EmulationError",
    "LogEntry",
    "ProgramCrashError",
    "ProgramRun",
    "ProjectError",
    "ProjectFile",
    "RecordedResource",
    "ResourceRecord",
    "StackFile",
    "StackRun",
    "emulated_invokes",
    "known_types",
    "read_project",
    "read_stack",
    "register",
    "register_invoke",
    "run_config",
    "run_program",
    "run_stack_file",
]
