"""A corpus of broken stack files: each fails with status 1, names the key path (or the file position), and
prints no traceback, both in the preview (``python -m stacks.preview``) and in the local run's config
loading (``python -m devstack up`` reads the stack file through devstack.topology.load_topology before it
starts anything).

Each case is Pulumi.dev.yaml edited one way (or a whole file), written as ``Pulumi.dev.yaml`` in a temporary
directory; ``expected`` is a piece of the one problem line that must be printed.
"""

from __future__ import annotations

import io
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from stacks.config import ConfigError
from stacks.preview import main as preview
from tests.support.harness import PROJECT_DIR

DEV = (PROJECT_DIR / "Pulumi.dev.yaml").read_text()


@dataclass(frozen=True)
class Broken:
    id: str
    text: str
    expected: str


def edit(id_: str, old: str, new: str, expected: str) -> Broken:
    assert old in DEV, old
    return Broken(id_, DEV.replace(old, new, 1), expected)


def whole(id_: str, text: str, expected: str) -> Broken:
    return Broken(id_, text, expected)


CORPUS = [
    # The file itself.
    whole("empty file", "", "nexus:shards"),
    whole("only comments", "# nothing here\n", "nexus:shards"),
    whole("config is null", "config:\n", "nexus:shards"),
    whole("config is a list", "config:\n  - aws:region\n", "config"),
    whole("top level is a list", "- config\n", "Pulumi.dev.yaml"),
    whole("top level is a scalar", "hello\n", "Pulumi.dev.yaml"),
    whole("config key not a string", "config:\n  1: x\n", "config key 1"),
    edit("unclosed flow list", "tenants: [acme, globex]", "tenants: [acme, globex", "Pulumi.dev.yaml:"),
    edit("tab indentation", "    cidr: 10.20.0.0/16", "\tcidr: 10.20.0.0/16", "Pulumi.dev.yaml:"),
    Broken("BOM and a wrong type", "\ufeff" + DEV.replace("numNodes: 1", "numNodes: one", 1), "numNodes"),
    edit("undefined alias", "    azCount: 2", "    azCount: *two", "Pulumi.dev.yaml:"),
    # Duplicate keys at every depth.
    edit(
        "duplicate region",
        "  aws:region: us-east-1\n",
        "  aws:region: us-east-1\n  aws:region: us-west-2\n",
        "aws:region",
    ),
    edit(
        "duplicate shard", "    shard-b:\n", "    shard-a:\n      tenants: [hooli]\n    shard-b:\n", "shard-a"
    ),
    edit("duplicate nested key", "    numNodes: 1\n", "    numNodes: 1\n    numNodes: 2\n", "numNodes"),
    # Nulls and wrong shapes.
    edit(
        "shards null",
        "  nexus:shards:\n    shard-a:\n      tenants: [acme, globex]\n"
        "    shard-b:\n      tenants: [initech, umbrella]\n",
        "  nexus:shards:\n",
        "nexus:shards",
    ),
    edit(
        "shards a list",
        "    shard-a:\n      tenants: [acme, globex]\n    shard-b:\n      tenants: [initech, umbrella]\n",
        "    - shard-a\n    - shard-b\n",
        "nexus:shards",
    ),
    edit(
        "shard null",
        "    shard-b:\n      tenants: [initech, umbrella]\n",
        "    shard-b:\n",
        "nexus:shards.shard-b",
    ),
    edit(
        "tenants a string", "tenants: [initech, umbrella]", "tenants: initech", "nexus:shards.shard-b.tenants"
    ),
    edit(
        "tenant null",
        "tenants: [initech, umbrella]",
        "tenants: [initech, null]",
        "nexus:shards.shard-b.tenants.1",
    ),
    edit(
        "tenant a number",
        "tenants: [initech, umbrella]",
        "tenants: [initech, 42]",
        "nexus:shards.shard-b.tenants.1",
    ),
    edit("bad shard id", "    shard-b:\n", "    Shard_B:\n", "nexus:shards.Shard_B"),
    edit(
        "default shard unknown",
        "nexus:defaultShard: shard-b",
        "nexus:defaultShard: shard-z",
        "nexus:defaultShard",
    ),
    edit(
        "section null",
        "  nexus:cache:\n    nodeType: cache.t4g.small\n    numNodes: 1\n",
        "  nexus:cache:\n",
        "nexus:cache",
    ),
    edit(
        "section a string",
        "  nexus:network:\n    cidr: 10.20.0.0/16\n",
        "  nexus:network: big\n  nexus:x:\n    cidr: 10.20.0.0/16\n",
        "nexus:network",
    ),
    edit(
        "node groups a list",
        "    nodeGroups:\n      general:\n",
        "    nodeGroups:\n      - general:\n",
        "nexus:cluster.nodeGroups",
    ),
    edit("region null", "  aws:region: us-east-1", "  aws:region:", "aws:region"),
    edit("region missing", "  aws:region: us-east-1\n", "", "aws:region"),
    # Unknown keys at every depth.
    edit("unknown namespace", "  nexus:worker:", "  nexsu:worker:", "nexsu:worker"),
    edit("unknown project key", "  nexus:worker:", "  nexus:workers:", "nexus:workers"),
    edit(
        "unknown aws key",
        "  aws:region: us-east-1\n",
        "  aws:region: us-east-1\n  aws:regoin: us-east-1\n",
        "aws:regoin",
    ),
    edit("unknown section key", "    numNodes: 1", "    numNodez: 1", "nexus:cache.numNodez"),
    edit(
        "unknown key at depth 3",
        "        capacityType: SPOT",
        "        capacityTyp: SPOT",
        "nexus:cluster.nodeGroups.general.capacityTyp",
    ),
    edit(
        "unknown shard key",
        "      tenants: [acme, globex]",
        "      tenants: [acme, globex]\n      replicaz: 2",
        "nexus:shards.shard-a.replicaz",
    ),
    # Wrong scalar types and values.
    edit(
        "huge number", "    numNodes: 1", "    numNodes: 99999999999999999999999999", "nexus:cache.numNodes"
    ),
    edit("huge float", "    numNodes: 1", "    numNodes: 1e400", "nexus:cache.numNodes"),
    edit("float for int", "    numNodes: 1", "    numNodes: 1.5", "nexus:cache.numNodes"),
    edit("string for int", "    cpu: 1000", "    cpu: 1000m", "nexus:api.cpu"),
    edit("yes for a boolean", "    flowLogs: false", "    flowLogs: yes", "nexus:network.flowLogs"),
    edit("number for a version", '    version: "1.34"', "    version: 1.34", "nexus:cluster.version"),
    edit(
        "negative size",
        "        maxSize: 2",
        "        maxSize: -2",
        "nexus:cluster.nodeGroups.general.maxSize",
    ),
    edit(
        "bad image",
        "  nexus:api:\n",
        '  nexus:api:\n    image: "not a valid image ref!!"\n',
        "nexus:api.image",
    ),
    edit("bad region", "aws:region: us-east-1", "aws:region: us-east-7", "aws:region"),
    edit("bad node type", "nodeType: cache.t4g.small", "nodeType: cache.t4g.smal", "nexus:cache.nodeType"),
    edit(
        "secure value not a string",
        "  nexus:alb:\n",
        "  nexus:tags:\n    secure: 5\n  nexus:alb:\n",
        "nexus:tags",
    ),
]


def _write(tmp_path: Path, case: Broken) -> Path:
    path = tmp_path / "Pulumi.dev.yaml"
    path.write_text(case.text, encoding="utf-8")
    return path


def test_a_file_that_is_not_utf8_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.dev.yaml"
    path.write_bytes(DEV.replace("us-east-1", "us-\xe9ast-1").encode("latin-1"))
    err = io.StringIO()
    assert preview(["--stack", "dev", "--config-file", str(path)], out=io.StringIO(), err=err) == 1
    assert "Traceback" not in err.getvalue()
    assert str(path) in err.getvalue()


def test_a_leading_bom_alone_is_accepted_as_the_cli_accepts_it(tmp_path: Path) -> None:
    # Go yaml.v3 (the CLI's reader) detects the encoding from a leading byte order mark and skips it.
    path = tmp_path / "Pulumi.dev.yaml"
    path.write_text("\ufeff" + DEV, encoding="utf-8")
    assert preview(["--stack", "dev", "--config-file", str(path)], out=io.StringIO(), err=io.StringIO()) == 0


def test_make_local_refuses_a_stack_file_not_named_for_its_stack(tmp_path: Path) -> None:
    path = tmp_path / "dev-edited.yaml"
    path.write_text(DEV)
    result = _local_up(path, tmp_path)
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip().splitlines() == [
        f"error: {path}: a stack file is named Pulumi.<stack>.yaml (the stack's name is read from it); "
        "rename it"
    ]


def _local_up(path: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "devstack",
            "up",
            "--stack-file",
            str(path),
            "--workdir",
            str(tmp_path / "local"),
        ],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("case", CORPUS, ids=[case.id for case in CORPUS])
def test_the_preview_refuses_it_with_status_1_and_the_key_path(tmp_path: Path, case: Broken) -> None:
    out, err = io.StringIO(), io.StringIO()
    status = preview(["--stack", "dev", "--config-file", str(_write(tmp_path, case))], out=out, err=err)
    assert status == 1, err.getvalue()
    assert "Traceback" not in err.getvalue()
    assert case.expected in err.getvalue()
    assert out.getvalue() == ""


@pytest.mark.parametrize("case", CORPUS, ids=[case.id for case in CORPUS])
def test_the_local_run_refuses_it_before_starting_anything(tmp_path: Path, case: Broken) -> None:
    from devstack.topology import load_topology

    with pytest.raises(ConfigError) as refused:
        load_topology(_write(tmp_path, case))
    assert any(case.expected in problem for problem in refused.value.problems), refused.value.problems


@pytest.mark.parametrize("case", [CORPUS[0], CORPUS[6], CORPUS[9]], ids=lambda case: case.id)
def test_make_local_prints_one_line_per_problem_and_exits_1(tmp_path: Path, case: Broken) -> None:
    result = _local_up(_write(tmp_path, case), tmp_path)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert case.expected in result.stderr
    assert all(line.startswith("error: ") for line in result.stderr.splitlines())
    assert not (tmp_path / "local").exists()  # nothing was started, not even its work directory
