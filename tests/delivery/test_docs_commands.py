"""Every command in README.md and docs/*.md is one the project really has, spelled as the project spells it.

Read from fenced shell blocks and inline code: ``make <target>`` targets are in the Makefile, ``python -m
<module>`` modules exist, the arguments given to ``stacks.preview`` parse, ``pulumi`` subcommands are real
ones, project paths and relative links point at files that exist, and a full URN of the dev or prod stack is
one the program registers.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import re
import shlex
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

from tests.support.harness import PROJECT_DIR, PROJECT_NAME, run_stack

pytestmark = pytest.mark.unit

DOCS = [PROJECT_DIR / "README.md", *sorted((PROJECT_DIR / "docs").glob("*.md"))]
SHELL_LANGS = {"", "bash", "sh", "shell", "console"}

# Pulumi CLI v3 commands (`pulumi --help`), and the subcommands of the groups the docs use.
PULUMI_COMMANDS = frozenset(
    [
        "about",
        "ai",
        "cancel",
        "config",
        "console",
        "convert",
        "deployment",
        "destroy",
        "env",
        "gen-completion",
        "help",
        "import",
        "install",
        "login",
        "logout",
        "logs",
        "new",
        "org",
        "package",
        "plugin",
        "policy",
        "preview",
        "refresh",
        "schema",
        "stack",
        "state",
        "template",
        "up",
        "version",
        "watch",
        "whoami",
    ]
)
PULUMI_SUBCOMMANDS = {
    "stack": frozenset(
        [
            "change-secrets-provider",
            "export",
            "graph",
            "history",
            "import",
            "init",
            "ls",
            "output",
            "rename",
            "rm",
            "select",
            "tag",
            "unselect",
        ]
    ),
    "config": frozenset(["cp", "env", "get", "refresh", "rm", "rm-all", "set", "set-all"]),
    "state": frozenset(
        ["delete", "edit", "move", "protect", "rename", "repair", "taint", "unprotect", "untaint", "upgrade"]
    ),
    "policy": frozenset(["disable", "enable", "group", "ls", "new", "publish", "rm", "validate-config"]),
}

MAKE = re.compile(r"(?:^|[\s;&|(])make\s+([A-Za-z][\w-]*)")
PULUMI = re.compile(r"(?:^|[\s;&|(])pulumi\s+([a-z][\w-]*)(?:\s+([a-z][\w-]*))?")
PYTHON_M = re.compile(r"(?:^|[\s;&|(])(?:\S*/)?python3?\s+(?:-\w+\s+)*-m\s+([\w.]+)([^|;&)]*)")
URN = re.compile(rf"urn:pulumi:(dev|prod)::{re.escape(PROJECT_NAME)}::[^\s'\"`)]+")
LINK = re.compile(r"\]\(([^)\s]+)\)")
HEREDOC = re.compile(r"<<-?\s*'?\"?(\w+)'?\"?")


@dataclass(frozen=True)
class Snippet:
    """A piece of code from a document: a line of a shell block, or an inline code span."""

    doc: Path
    line: int
    text: str

    def where(self) -> str:
        doc = self.doc.relative_to(PROJECT_DIR) if self.doc.is_relative_to(PROJECT_DIR) else self.doc.name
        return f"{doc}:{self.line}: {self.text.strip()}"


def _strip_comment(line: str) -> str:
    return re.sub(r"(^|\s)#.*$", "", line)


def _shell_lines(doc: Path) -> Iterator[Snippet]:
    """Lines of fenced shell blocks, comments and here-document bodies left out, continuations joined."""
    lang: str | None = None
    heredoc: str | None = None
    pending = ""
    start = 0
    for number, raw in enumerate(doc.read_text().splitlines(), 1):
        fence = re.match(r"^\s*```(\S*)", raw)
        if fence:
            lang = None if lang is not None else fence.group(1).lower()
            continue
        if lang is None or lang not in SHELL_LANGS:
            continue
        if heredoc is not None:
            if raw.strip() == heredoc:
                heredoc = None
            continue
        line = _strip_comment(raw)
        if not pending:
            start = number
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        text = pending + line
        pending = ""
        marker = HEREDOC.search(text)
        if marker:
            heredoc = marker.group(1)
        if text.strip():
            yield Snippet(doc, start, text)


def _inline_code(doc: Path) -> Iterator[Snippet]:
    in_fence = False
    for number, raw in enumerate(doc.read_text().splitlines(), 1):
        if re.match(r"^\s*```", raw):
            in_fence = not in_fence
            continue
        if not in_fence:
            for span in re.findall(r"`([^`]+)`", raw):
                yield Snippet(doc, number, span)


def _snippets() -> list[Snippet]:
    return [snippet for doc in DOCS for snippet in (*_shell_lines(doc), *_inline_code(doc))]


@cache
def _make_targets() -> frozenset[str]:
    text = (PROJECT_DIR / "Makefile").read_text()
    return frozenset(re.findall(r"^([A-Za-z][\w-]*):", text, flags=re.M))


@cache
def _tracked_top_level() -> frozenset[str]:
    files = subprocess.run(
        ["git", "ls-files"], cwd=PROJECT_DIR, capture_output=True, text=True, check=True, timeout=60
    ).stdout.split()
    return frozenset(name.split("/")[0] for name in files) | {".github", "policy_pack"}


def _project_paths(text: str) -> Iterator[str]:
    """Tokens that name a path in the project (first segment tracked by git), placeholders excluded."""
    for token in re.split(r"[\s=:,'\"()]+", text):
        token = token.rstrip(".,;")
        if "/" not in token or any(c in token for c in "<>$*{}…@") or token.startswith(("-", "http")):
            continue
        token = token.removeprefix("./")
        if token.split("/")[0] in _tracked_top_level():
            yield token


def _preview_args(rest: str) -> list[str]:
    return shlex.split(rest.split("#")[0]) if rest.strip() else []


SNIPPETS = _snippets()


def test_the_docs_have_commands_to_check() -> None:
    texts = " ".join(s.text for s in SNIPPETS)
    assert MAKE.search(texts)
    assert PULUMI.search(texts)
    assert PYTHON_M.search(texts)


@pytest.mark.parametrize("snippet", [s for s in SNIPPETS if MAKE.search(s.text)], ids=Snippet.where)
def test_make_targets_exist(snippet: Snippet) -> None:
    for target in MAKE.findall(snippet.text):
        assert target in _make_targets(), f"{snippet.where()}: no make target {target!r}"


@pytest.mark.parametrize("snippet", [s for s in SNIPPETS if PULUMI.search(s.text)], ids=Snippet.where)
def test_pulumi_commands_are_real(snippet: Snippet) -> None:
    for command, sub in PULUMI.findall(snippet.text):
        assert command in PULUMI_COMMANDS, f"{snippet.where()}: `pulumi {command}` is not a Pulumi command"
        if command in PULUMI_SUBCOMMANDS and sub:
            assert sub in PULUMI_SUBCOMMANDS[command], f"{snippet.where()}: no `pulumi {command} {sub}`"


@pytest.mark.parametrize("snippet", [s for s in SNIPPETS if PYTHON_M.search(s.text)], ids=Snippet.where)
def test_python_modules_exist_and_preview_arguments_parse(snippet: Snippet) -> None:
    from stacks.preview import _parse

    for module, rest in PYTHON_M.findall(snippet.text):
        assert importlib.util.find_spec(module) is not None, f"{snippet.where()}: no module {module}"
        if module == "stacks.preview" and "--" in rest:
            errors = io.StringIO()
            with contextlib.redirect_stderr(errors):
                try:
                    _parse(_preview_args(rest))
                except SystemExit:
                    pytest.fail(f"{snippet.where()}: {errors.getvalue().strip()}")


@pytest.mark.parametrize("doc", DOCS, ids=lambda d: d.name)
def test_project_paths_and_links_exist(doc: Path) -> None:
    missing = []
    for snippet in (s for s in SNIPPETS if s.doc == doc):
        missing += [f"{snippet.where()} -> {p}" for p in _project_paths(snippet.text) if not _exists(p)]
    for number, raw in enumerate(doc.read_text().splitlines(), 1):
        for target in LINK.findall(raw):
            if target.startswith(("http://", "https://", "#", "mailto:")):
                continue
            if not (doc.parent / target.split("#")[0]).exists():
                missing.append(f"{doc.name}:{number}: link {target}")
    assert missing == [], "\n".join(missing)


def _exists(path: str) -> bool:
    return (PROJECT_DIR / path).exists()


def test_full_urns_in_the_docs_are_registered_by_the_program() -> None:
    urns = {
        (match.group(1), match.group(0).rstrip(".,;"))
        for snippet in SNIPPETS
        for match in URN.finditer(snippet.text)
        if "<" not in match.group(0) and "…" not in match.group(0)
    }
    assert urns, "expected at least one full URN in the docs"
    for stack, urn in sorted(urns):
        run = run_stack(stack)
        known = {resource.urn for resource in run} | {run.raw.stack_urn}
        if "*" in urn:  # a --target glob: it must select something
            assert any(urn_glob(urn).match(k) for k in known), f"{urn} matches no URN of the {stack} stack"
        else:
            assert urn in known, f"{urn} is not a URN of the {stack} stack"


def urn_glob(glob: str) -> re.Pattern[str]:
    """The CLI's ``--target`` glob as pulumi/pulumi matches it (pkg/resource/deploy/deployment.go,
    ``UrnTargets.getMatcher``): ``**`` is any characters, ``*`` any characters but ``:``, the rest literal."""
    segments = ["[^:]*".join(re.escape(part) for part in segment.split("*")) for segment in glob.split("**")]
    return re.compile("^" + ".*".join(segments) + "$")


def _targets(snippet: Snippet) -> list[str]:
    return re.findall(r"--target '([^']+)'", snippet.text)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_first_deploys_targeted_network_up_can_run_on_an_empty_stack(stack: str) -> None:
    """The docs' `pulumi up --target ...` selects the network and its provider, and nothing it selects
    depends on a resource left out: on an empty stack, a targeted update cannot create a resource whose
    dependency it skips."""
    (command,) = [
        s for s in SNIPPETS if s.doc.name == "operations.md" and "pulumi up" in s.text and _targets(s)
    ]
    run = run_stack(stack)
    globs = [
        urn_glob(target.replace("urn:pulumi:dev::", f"urn:pulumi:{stack}::")) for target in _targets(command)
    ]
    selected = {r.urn for r in run if any(g.match(r.urn) for g in globs)}
    assert {r.type for r in run if r.urn in selected} >= {
        "aws:ec2/vpc:Vpc",
        "aws:ec2/subnet:Subnet",
        "aws:ec2/natGateway:NatGateway",
    }
    assert not [r for r in run if r.urn in selected and r.type.startswith(("aws:eks", "kubernetes:"))]
    missing = []
    for resource in run:
        if resource.urn not in selected:
            continue
        needs = set(resource.dependencies) | {
            d for deps in resource.record.property_dependencies.values() for d in deps
        }
        needs |= {resource.provider} if resource.provider else set()
        if resource.parent and resource.parent != run.raw.stack_urn:
            needs.add(resource.parent)
        missing += [(resource.urn, need) for need in sorted(needs - selected)]
    assert missing == []
    assert {"vpcId", "privateSubnetIds"} <= set(run.outputs), "what the bootstrap's runner reads"


def test_the_bootstrap_preview_commands_in_the_docs_run() -> None:
    from stacks.bootstrap import preview

    lines = [m for s in SNIPPETS for m in PYTHON_M.findall(s.text) if m[0] == "stacks.bootstrap.preview"]
    assert lines
    for _, rest in lines:
        out, err = io.StringIO(), io.StringIO()
        assert preview.main(_preview_args(rest), out=out, err=err) == 0, err.getvalue()


def test_the_checks_catch_misspelled_commands(tmp_path: Path) -> None:
    """Negative control: each kind of mistake in a document is found by the same helpers."""
    doc = tmp_path / "broken.md"
    doc.write_text(
        "Run `make previews STACK=dev`.\n\n"
        "```bash\n"
        "pulumi stak ls   # a typo\n"
        "pulumi stack outputs url\n"
        "venv/bin/python -m stacks.previews --stack dev\n"
        "cat <<EOF\n"
        "make not-a-command-inside-a-heredoc\n"
        "EOF\n"
        "cat infra/no_such_file.py\n"
        "```\n"
    )
    snippets = [*_shell_lines(doc), *_inline_code(doc)]
    texts = " ".join(s.text for s in snippets)
    assert [t for t in MAKE.findall(texts) if t not in _make_targets()] == ["previews"]
    commands = PULUMI.findall(texts)
    assert ("stak", "ls") in commands
    assert ("stack", "outputs") in commands
    assert "outputs" not in PULUMI_SUBCOMMANDS["stack"]
    assert "stak" not in PULUMI_COMMANDS
    (module, _), *_ = PYTHON_M.findall(texts)
    assert importlib.util.find_spec(module) is None
    assert [p for p in _project_paths(texts) if not _exists(p)] == ["infra/no_such_file.py"]

    from stacks.preview import _parse

    with contextlib.redirect_stderr(io.StringIO()), pytest.raises(SystemExit):
        _parse(_preview_args(" --stak dev"))
