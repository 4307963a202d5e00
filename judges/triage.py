"""Findings of an outside judge, and the checked-in triage that accepts some with a reason and a source.

A finding is identified by what it is about, not by where: the rule, the resource type and the property path
(list indices dropped), so that one entry covers every shard's copy of the same resource. An entry may narrow
itself with ``match`` (a substring of the resource's name or the message) and ``stacks``.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


@dataclass(frozen=True, slots=True)
class Finding:
    """One complaint of a judge about one resource."""

    stack: str
    rule: str
    type: str
    """The judged type (CloudFormation or Terraform), e.g. ``AWS::RDS::DBInstance`` or ``aws_db_instance``."""
    resource: str
    """The resource's name in the judged document (logical id or Terraform address)."""
    path: str
    """Dotted property path without list indices (empty for the whole resource)."""
    message: str
    urn: str = ""

    def describe(self) -> str:
        """One line for a report."""
        where = f"{self.resource}.{self.path}" if self.path else self.resource
        return f"{self.stack}: {self.rule} {self.type} {where}: {self.message}"


@dataclass(frozen=True, slots=True)
class Entry:
    """One accepted finding (a class of them)."""

    rule: str
    type: str
    path: str
    reason: str
    source: str
    match: str = ""
    """A substring of the finding's resource name or message (empty: any)."""
    stacks: tuple[str, ...] = ()
    """The stacks the entry accepts the finding on (empty: every stack)."""

    def covers(self, finding: Finding) -> bool:
        """Whether this entry accepts ``finding``."""
        return (
            self.rule == finding.rule
            and self.type == finding.type
            and (finding.path == self.path or finding.path.startswith(self.path + ".") or self.path == "*")
            and self.match in f"{finding.resource} {finding.message}"
            and (not self.stacks or finding.stack in self.stacks)
        )


class TriageError(ValueError):
    """The triage file itself is not acceptable (an entry without a reason or a source)."""


def load_triage(path: Path) -> list[Entry]:
    """Entries of a triage file; every one must carry a reason and a source."""
    raw = yaml.safe_load(path.read_text()) or []
    entries: list[Entry] = []
    problems: list[str] = []
    for index, item in enumerate(raw):
        item = dict(item)
        missing = [
            key for key in ("rule", "type", "path", "reason", "source") if not str(item.get(key) or "")
        ]
        if missing:
            problems.append(f"{path.name} entry {index + 1}: missing {', '.join(missing)}")
            continue
        stacks = tuple(str(stack) for stack in item.pop("stacks", None) or ())
        entries.append(Entry(**{key: str(value).strip() for key, value in item.items()}, stacks=stacks))
    if problems:
        raise TriageError("\n".join(problems))
    return entries


def strip_indices(parts: Sequence[Any]) -> str:
    """``["Tags", 0, "Value"]`` -> ``Tags.Value``."""
    return ".".join(
        str(part) for part in parts if not isinstance(part, int) and not re.fullmatch(r"\d+", str(part))
    )


@dataclass(frozen=True, slots=True)
class Verdict:
    """Findings split by the triage."""

    accepted: list[tuple[Finding, Entry]]
    new: list[Finding]
    unused: list[Entry]
    """Entries that matched nothing: stale, to be removed (they would hide a future finding)."""

    @property
    def ok(self) -> bool:
        """No new finding and no stale entry."""
        return not self.new and not self.unused


def judge(
    findings: Iterable[Finding], entries: Sequence[Entry], judged: Collection[str] | None = None
) -> Verdict:
    """Split findings into accepted and new, and list the entries nothing matched.

    ``judged``: the stacks this run judged (None: every stack the triage may name). An entry limited to
    other stacks is not stale for matching nothing here (``make cfn-lint --stack dev`` and prod's entries;
    the runner variants of the bootstrap, which only tests/judges builds)."""
    accepted: list[tuple[Finding, Entry]] = []
    new: list[Finding] = []
    used: set[int] = set()
    for finding in findings:
        for index, entry in enumerate(entries):
            if entry.covers(finding):
                accepted.append((finding, entry))
                used.add(index)
                break
        else:
            new.append(finding)
    unused = [
        entry
        for index, entry in enumerate(entries)
        if index not in used and (judged is None or not entry.stacks or set(entry.stacks) & set(judged))
    ]
    return Verdict(accepted=accepted, new=new, unused=unused)
