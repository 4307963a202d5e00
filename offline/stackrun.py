"""A run of a stack as tests, the preview and the policy rules read it: plain values plus helpers.

``RecordedResource.inputs`` are plain (secrets unwrapped, integral floats back to ints); which paths were
secret is kept in ``secret_inputs`` so that a test can assert that a password travels as a secret.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .project import ProjectFile, StackFile, config_from_dict, read_project, read_stack
from .records import ProgramRun, ResourceRecord
from .runner import run_program
from .schema import required_inputs
from .values import is_unknown, iter_leaves, mask_secrets, normalize_numbers, secret_paths, unwrap_secrets


@dataclass(frozen=True, slots=True)
class RecordedResource:
    """One registered resource, with plain inputs and outputs and every option the program set."""

    record: ResourceRecord
    inputs: Mapping[str, Any]
    """Plain inputs as sent to the provider (camelCase): secrets unwrapped, integral floats as ints."""
    secret_inputs: frozenset[str]
    """Dotted paths of the inputs that were secret (``""`` never: inputs are a map)."""
    outputs: Mapping[str, Any]
    """Plain state the emulated provider returned."""
    secret_outputs: frozenset[str]

    @classmethod
    def of(cls, record: ResourceRecord) -> RecordedResource:
        """Wrap a raw record."""
        return cls(
            record=record,
            inputs=normalize_numbers(unwrap_secrets(dict(record.inputs))),
            secret_inputs=secret_paths(dict(record.inputs)),
            outputs=normalize_numbers(unwrap_secrets(dict(record.outputs))),
            secret_outputs=secret_paths(dict(record.outputs)),
        )

    # Options and identity, forwarded from the record.
    @property
    def urn(self) -> str:
        """The engine's URN."""
        return self.record.urn

    @property
    def type(self) -> str:
        """Type token, e.g. ``aws:rds/instance:Instance``."""
        return self.record.type

    @property
    def name(self) -> str:
        """Logical name."""
        return self.record.name

    @property
    def parent(self) -> str | None:
        """Parent URN (the Stack's for top-level resources)."""
        return self.record.parent

    @property
    def protect(self) -> bool:
        """The protect option."""
        return self.record.protect

    @property
    def provider(self) -> str | None:
        """URN of the explicit provider (custom resources)."""
        return self.record.provider

    @property
    def dependencies(self) -> tuple[str, ...]:
        """URNs this resource depends on (depends_on and input dependencies)."""
        return self.record.dependencies

    @property
    def ignore_changes(self) -> tuple[str, ...]:
        """The ignore_changes option."""
        return self.record.ignore_changes

    @property
    def aliases(self) -> tuple[Mapping[str, Any], ...]:
        """The aliases option as sent."""
        return self.record.aliases

    @property
    def id(self) -> str | None:
        """Physical id the emulated provider assigned (None for components)."""
        return self.record.id

    def secret_input(self, path: str) -> bool:
        """Whether the input at ``path`` (or a value containing it) travelled as a secret."""
        return any(path == p or path.startswith(p + ".") or p == "" for p in self.secret_inputs)


@dataclass(frozen=True, slots=True)
class StackRun:
    """A whole run: resources sorted by URN, plain exports, and lookups."""

    raw: ProgramRun
    resources: tuple[RecordedResource, ...]
    outputs: Mapping[str, Any]
    """Plain exports (secrets unwrapped, integral floats as ints)."""
    secret_outputs: frozenset[str]

    @classmethod
    def of(cls, run: ProgramRun) -> StackRun:
        """Wrap a raw run."""
        return cls(
            raw=run,
            resources=tuple(RecordedResource.of(record) for record in run.resources),
            outputs=normalize_numbers(unwrap_secrets(dict(run.outputs))),
            secret_outputs=secret_paths(dict(run.outputs)),
        )

    @property
    def project(self) -> str:
        """Project name."""
        return self.raw.project

    @property
    def stack(self) -> str:
        """Stack name."""
        return self.raw.stack

    @property
    def error(self) -> str | None:
        """The program's RunError message, if it stopped on one."""
        return self.raw.error

    @property
    def masked_outputs(self) -> dict[str, Any]:
        """Exports with every secret replaced by ``[secret]``."""
        masked: dict[str, Any] = normalize_numbers(mask_secrets(dict(self.raw.outputs)))
        return masked

    def __iter__(self) -> Iterator[RecordedResource]:
        return iter(self.resources)

    def __len__(self) -> int:
        return len(self.resources)

    def get(self, urn: str) -> RecordedResource:
        """The resource with this URN."""
        for resource in self.resources:
            if resource.urn == urn:
                return resource
        raise KeyError(urn)

    def by_type(self, type_: str) -> list[RecordedResource]:
        """Every resource of a type token (e.g. ``aws:ec2/subnet:Subnet``), in URN order."""
        return [resource for resource in self.resources if resource.type == type_]

    def one(self, type_: str, name_suffix: str = "") -> RecordedResource:
        """The single resource of ``type_`` whose logical name ends with ``name_suffix``."""
        found = [resource for resource in self.by_type(type_) if resource.name.endswith(name_suffix)]
        if len(found) != 1:
            names = ", ".join(resource.name for resource in self.by_type(type_)) or "none"
            raise LookupError(
                f"expected exactly one {type_} named *{name_suffix}, found {len(found)} (names: {names})"
            )
        return found[0]

    def children_of(self, parent: str | RecordedResource) -> list[RecordedResource]:
        """Direct children of a resource (by URN or resource)."""
        urn = parent if isinstance(parent, str) else parent.urn
        return [resource for resource in self.resources if resource.parent == urn]

    def descendants_of(self, parent: str | RecordedResource) -> list[RecordedResource]:
        """Children, grandchildren and so on."""
        found: list[RecordedResource] = []
        frontier = [parent if isinstance(parent, str) else parent.urn]
        while frontier:
            children = [resource for resource in self.resources if resource.parent in frontier]
            found.extend(children)
            frontier = [child.urn for child in children]
        return sorted(found, key=lambda resource: resource.urn)

    def type_counts(self) -> Counter[str]:
        """Resources per type token."""
        return Counter(resource.type for resource in self.resources)

    def missing_required_inputs(self) -> list[tuple[str, str]]:
        """(URN, input) of every required input absent from a registration: a value that resolved to None.

        The SDK drops an input whose Output resolved to None, so a required input is missing only when the
        program fed it something the cloud never computed. Types whose SDK class is unknown are skipped.
        """
        missing: list[tuple[str, str]] = []
        for resource in self.resources:
            record = resource.record
            if not record.custom or record.is_provider or record.import_id:
                continue
            required = required_inputs(record.type)
            missing += [(record.urn, name) for name in sorted(required or ()) if name not in record.inputs]
        return missing

    def unknown_inputs(self) -> list[tuple[str, str]]:
        """(URN, input path) of every input the engine would not know at update time."""
        return [
            (record.urn, path)
            for record in self.raw.resources
            for path, value in iter_leaves(dict(record.inputs))
            if is_unknown(value)
        ]


def run_stack_file(
    stack_file: str | Path,
    *,
    project_dir: str | Path | None = None,
    stack: str | None = None,
    dry_run: bool = False,
    stack_outputs: Mapping[str, Mapping[str, Any]] | None = None,
) -> StackRun:
    """Run the project with a ``Pulumi.<stack>.yaml`` (the project is the file's directory by default)."""
    path = Path(stack_file)
    project = read_project(project_dir or path.parent)
    parsed = read_stack(path, project, stack=stack)
    return _run(project, parsed, dry_run=dry_run, stack_outputs=stack_outputs)


def run_config(
    values: Mapping[str, Any],
    *,
    project_dir: str | Path,
    stack: str,
    secret_keys: tuple[str, ...] = (),
    dry_run: bool = False,
    stack_outputs: Mapping[str, Mapping[str, Any]] | None = None,
) -> StackRun:
    """Run the project with config written like a stack file's ``config:`` map."""
    project = read_project(project_dir)
    parsed = StackFile(
        path=Path(project.directory, f"Pulumi.{stack}.yaml"),
        stack=stack,
        config=config_from_dict(values, project, stack=stack, secret_keys=secret_keys),
        secret_keys=secret_keys,
    )
    return _run(project, parsed, dry_run=dry_run, stack_outputs=stack_outputs)


def _run(
    project: ProjectFile,
    parsed: StackFile,
    *,
    dry_run: bool = False,
    stack_outputs: Mapping[str, Mapping[str, Any]] | None = None,
) -> StackRun:
    run = run_program(
        project.directory,
        project=project.name,
        stack=parsed.stack,
        config=parsed.config,
        secret_keys=parsed.secret_keys,
        main=project.main,
        dry_run=dry_run,
        stack_outputs=stack_outputs,
    )
    return StackRun.of(run)
