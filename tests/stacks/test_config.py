"""The config boundary: stack files load, every bad config names its key path and what would be valid, and the
declarations in Pulumi.yaml and the reference in docs/configuration.md match the models."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from stacks.config import ConfigError, load, read_stack_file
from stacks.config.docs import KeyDoc, model_keys, section_models
from stacks.config.loader import KNOWN_KEYS, OTHER_KEYS, PROJECT

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
STACK_FILES = sorted(ROOT.glob("Pulumi.*.yaml"))
DEV = ROOT / "Pulumi.dev.yaml"
PROD = ROOT / "Pulumi.prod.yaml"


def dev_raw() -> dict[str, str]:
    return read_stack_file(DEV)


def section(raw: Mapping[str, str], key: str) -> dict[str, Any]:
    """A section of raw config, decoded (empty when the stack file leaves it to the defaults)."""
    value = raw.get(f"nexus:{key}")
    return dict(json.loads(value)) if value else {}


def with_section(key: str, **changes: Any) -> dict[str, str]:
    """The dev stack's raw config with some keys of one section changed (None drops a key)."""
    raw = dev_raw()
    body = section(raw, key)
    for name, value in changes.items():
        if value is None:
            body.pop(name, None)
        else:
            body[name] = value
    raw[f"nexus:{key}"] = json.dumps(body)
    return raw


def problems_of(raw: Mapping[str, str]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(raw, stack="dev")
    assert caught.value.problems, "ConfigError without problems"
    assert str(caught.value) == "\n".join(caught.value.problems)
    return caught.value.problems


# --- stack files -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", STACK_FILES, ids=[p.name for p in STACK_FILES])
def test_every_stack_file_loads(path: Path) -> None:
    document = yaml.safe_load(path.read_text())["config"]
    stack = path.name.split(".")[1]
    config = load(read_stack_file(path), stack=stack)
    # What the file says, read back through the model (an isinstance check here could never fail).
    assert (config.stack, config.region) == (stack, document["aws:region"])
    assert set(config.shards) == set(document["nexus:shards"]), "a stack without shards"


def test_dev_is_small_and_cheap() -> None:
    config = load(dev_raw(), stack="dev")
    assert (config.environment, config.is_prod) == ("dev", False)
    assert (config.network.az_count, config.network.nat_gateways, config.network.flow_logs) == (
        2,
        "single",
        False,
    )
    assert config.name_prefix == "nexus-dev"


def test_prod_is_explicit_about_every_safeguard() -> None:
    raw = read_stack_file(PROD)
    config = load(raw, stack="prod")
    assert config.is_prod
    network = config.network
    assert (network.az_count, network.nat_gateways, network.flow_logs) == (3, "perAz", True)
    assert network.flow_log_retention_days >= 90
    # Explicit, not inherited from a default that could change under prod.
    assert set(section(raw, "network")) == {
        "cidr",
        "azCount",
        "natGateways",
        "flowLogs",
        "flowLogRetentionDays",
    }


def test_dev_and_prod_vpcs_do_not_overlap() -> None:
    # Distinct ranges keep a later peering or VPN between the stacks possible.
    import ipaddress

    dev = ipaddress.ip_network(load(dev_raw(), stack="dev").network.cidr)
    prod = ipaddress.ip_network(load(read_stack_file(PROD), stack="prod").network.cidr)
    assert not dev.overlaps(prod)


def test_defaults_apply_when_a_section_is_left_out() -> None:
    raw = dev_raw()
    del raw["nexus:network"]
    config = load(raw, stack="dev")
    assert (config.network.cidr, config.network.az_count, config.network.nat_gateways) == (
        "10.0.0.0/16",
        2,
        "single",
    )


def test_shards_inherit_shard_defaults_key_by_key() -> None:
    raw = dev_raw()
    raw["nexus:shardDefaults"] = json.dumps({"readReplicas": 2, "proxy": {"maxConnectionsPercent": 80}})
    raw["nexus:shards"] = json.dumps(
        {
            "shard-a": {"tenants": ["acme"]},
            "shard-b": {"tenants": ["initech"], "readReplicas": 0, "proxy": {"idleClientTimeout": 600}},
        }
    )
    shards = load(raw, stack="dev").shards
    assert shards["shard-a"].settings.read_replicas == 2
    assert shards["shard-a"].settings.proxy.max_connections_percent == 80
    assert shards["shard-b"].settings.read_replicas == 0
    # An object such as proxy is replaced as a whole, not merged: shard-b gets the model's defaults + its key.
    assert shards["shard-b"].settings.proxy.max_connections_percent == 90
    assert shards["shard-b"].settings.proxy.idle_client_timeout == 600


def test_the_program_sees_what_the_stack_file_says() -> None:
    # read_stack_file hands the loader what the engine hands the program: JSON-encoded structured values.
    raw = dev_raw()
    assert raw["nexus:environment"] == "dev"
    assert json.loads(raw["nexus:network"])["azCount"] == 2


# --- bad configs: one line per problem, starting with the key path, saying what would be valid --------------

BAD_CASES: list[tuple[str, dict[str, str | None], str, str]] = [
    # (case id, raw changes (None deletes), expected key path, fragment naming what is valid)
    (
        "unknown top-level key",
        {"nexus:netwrok": "{}"},
        "nexus:netwrok",
        "unknown key; valid keys are: nexus:environment, nexus:network",
    ),
    (
        "unknown nested key",
        {"nexus:network": json.dumps({"cidr": "10.0.0.0/16", "azCont": 2})},
        "nexus:network.azCont",
        "valid keys here are: azCount, cidr",
    ),
    (
        "unknown key in a shard",
        {
            "nexus:shards": json.dumps({"shard-a": {"tenants": ["acme"], "instanceClas": "db.t4g.medium"}}),
            "nexus:defaultShard": None,
        },
        "nexus:shards.shard-a.instanceClas",
        "valid keys here are: allocatedStorage",
    ),
    (
        "unknown key two levels down",
        {"nexus:shardDefaults": json.dumps({"proxy": {"maxConnPercent": 50}})},
        "nexus:shardDefaults.proxy.maxConnPercent",
        "valid keys here are: connectionBorrowTimeout",
    ),
    (
        "string for an int",
        {"nexus:network": json.dumps({"azCount": "3"})},
        "nexus:network.azCount",
        'should be a valid integer; got "3"',
    ),
    (
        "yes for a bool",
        {"nexus:network": json.dumps({"flowLogs": "yes"})},
        "nexus:network.flowLogs",
        'should be a valid boolean; got "yes"',
    ),
    (
        "bool for an int",
        {"nexus:api": json.dumps({"minReplicas": True})},
        "nexus:api.minReplicas",
        "valid integer",
    ),
    (
        "float for an int",
        {"nexus:api": json.dumps({"cpu": 1500.5})},
        "nexus:api.cpu",
        "valid integer; got 1500.5",
    ),
    (
        "scalar for an object",
        {"nexus:network": "10.0.0.0/16"},
        "nexus:network",
        'should be an object; got "10.0.0.0/16"',
    ),
    (
        "value not among the choices",
        {"nexus:network": json.dumps({"natGateways": "perAZ"})},
        "nexus:network.natGateways",
        "should be 'none', 'single' or 'perAz'; got \"perAZ\"",
    ),
    (
        "number out of range",
        {"nexus:network": json.dumps({"azCount": 7})},
        "nexus:network.azCount",
        "less than or equal to 6; got 7",
    ),
    (
        "unknown environment",
        {"nexus:environment": "production"},
        "nexus:environment",
        "use one of dev, staging, prod",
    ),
    (
        "tenant in two shards",
        {
            "nexus:shards": json.dumps(
                {"shard-a": {"tenants": ["acme", "globex"]}, "shard-b": {"tenants": ["globex"]}}
            ),
            "nexus:defaultShard": None,
        },
        "nexus:shards.shard-b.tenants",
        "tenant 'globex' is already in shard 'shard-a'; a tenant lives in exactly one shard",
    ),
    (
        "tenant twice in one shard",
        {"nexus:shards": json.dumps({"shard-a": {"tenants": ["acme", "acme"]}}), "nexus:defaultShard": None},
        "nexus:shards.shard-a.tenants",
        "twice in this shard",
    ),
    (
        "invalid tenant id",
        {"nexus:shards": json.dumps({"shard-a": {"tenants": ["Acme Inc"]}}), "nexus:defaultShard": None},
        "nexus:shards.shard-a.tenants.0",
        "use lowercase letters, digits and inner hyphens",
    ),
    (
        "shard id with capitals and underscore",
        {"nexus:shards": json.dumps({"Shard_A": {"tenants": ["acme"]}}), "nexus:defaultShard": None},
        "nexus:shards.Shard_A",
        "not DNS-safe; use 2-31 lowercase letters, digits and hyphens, starting with a letter",
    ),
    (
        "shard id starting with a digit",
        {"nexus:shards": json.dumps({"1shard": {"tenants": ["acme"]}}), "nexus:defaultShard": None},
        "nexus:shards.1shard",
        "not DNS-safe",
    ),
    (
        "shard id too long",
        {"nexus:shards": json.dumps({"s" * 32: {"tenants": ["acme"]}}), "nexus:defaultShard": None},
        f"nexus:shards.{'s' * 32}",
        "2-31 lowercase letters",
    ),
    (
        "shard id ending in a hyphen",
        {"nexus:shards": json.dumps({"shard-": {"tenants": ["acme"]}}), "nexus:defaultShard": None},
        "nexus:shards.shard-",
        "not DNS-safe",
    ),
    (
        "no shards",
        {"nexus:shards": None, "nexus:defaultShard": None},
        "nexus:shards",
        "declare at least one shard",
    ),
    (
        "default shard that does not exist",
        {"nexus:defaultShard": "shard-z"},
        "nexus:defaultShard",
        "valid shard ids: shard-a, shard-b",
    ),
    (
        "CIDR that does not parse",
        {"nexus:network": json.dumps({"cidr": "10.0.0/16"})},
        "nexus:network.cidr",
        "is not an IPv4 network in CIDR form such as 10.0.0.0/16",
    ),
    (
        "CIDR with host bits",
        {"nexus:network": json.dumps({"cidr": "10.20.0.1/16"})},
        "nexus:network.cidr",
        "has host bits set; did you mean 10.20.0.0/16?",
    ),
    (
        "CIDR too small for the subnets",
        {"nexus:network": json.dumps({"cidr": "10.20.0.0/24"})},
        "nexus:network.cidr",
        "use a VPC from /16 to /23",
    ),
    (
        "CIDR too large for AWS",
        {"nexus:network": json.dumps({"cidr": "10.0.0.0/8"})},
        "nexus:network.cidr",
        "AWS allows VPC CIDRs from /16 to /28",
    ),
    (
        "missing region",
        {"aws:region": None},
        "aws:region",
        "required key is missing; set it in the stack file",
    ),
    (
        "tag value that is not a string",
        {"nexus:tags": json.dumps({"CostCenter": 42})},
        "nexus:tags.CostCenter",
        "expected a string",
    ),
]


@pytest.mark.parametrize(
    ("changes", "path", "fragment"), [c[1:] for c in BAD_CASES], ids=[c[0] for c in BAD_CASES]
)
def test_bad_config_names_the_key_path_and_what_would_be_valid(
    changes: dict[str, str | None], path: str, fragment: str
) -> None:
    raw = dev_raw()
    for key, value in changes.items():
        if value is None:
            raw.pop(key, None)
        else:
            raw[key] = value
    problems = problems_of(raw)
    # Exactly the one problem: no follow-on noise about keys that were fine.
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{path}: "), problems
    assert fragment in problems[0], problems
    assert "Traceback" not in problems[0]


def test_every_problem_is_reported_at_once() -> None:
    raw = dev_raw()
    raw["nexus:network"] = json.dumps({"azCount": "2", "flowLogs": "yes"})
    raw["nexus:api"] = json.dumps({"minReplicas": 5, "maxReplicas": 2})
    raw["nexus:typo"] = "1"
    paths = sorted(line.split(": ", 1)[0] for line in problems_of(raw))
    assert paths == ["nexus:api.minReplicas", "nexus:network.azCount", "nexus:network.flowLogs", "nexus:typo"]


def test_an_unknown_key_does_not_hide_other_problems_of_its_section() -> None:
    raw = dev_raw()
    raw["nexus:network"] = json.dumps({"natGateway": "single", "azCount": "3", "cidr": "10.0.0.1/16"})
    raw["nexus:shardDefaults"] = json.dumps(
        {"proxy": {"maxConn": 1, "idleClientTimeout": 0}, "multiAZ": True}
    )
    paths = sorted(line.split(": ", 1)[0] for line in problems_of(raw))
    assert paths == [
        "nexus:network.azCount",
        "nexus:network.natGateway",
        "nexus:shardDefaults.multiAZ",
        "nexus:shardDefaults.proxy.idleClientTimeout",
        "nexus:shardDefaults.proxy.maxConn",
    ]


def test_stack_files_are_read_with_yaml_1_2_scalars_like_the_pulumi_cli(tmp_path: Path) -> None:
    # PyYAML's YAML 1.1 would turn `yes` into true and `12:30` into 750; the CLI passes both on as strings.
    stack_file = tmp_path / "Pulumi.yamlcheck.yaml"
    stack_file.write_text(
        "config:\n"
        "  nexus:network: {flowLogs: yes, cidr: 10.0.0.0/16, azCount: 2}\n"
        "  nexus:tags: {Window: 12:30, Count: 010, Flag: on, Real: true, Ratio: 1e3}\n"
    )
    raw = read_stack_file(stack_file)
    assert json.loads(raw["nexus:network"]) == {"flowLogs": "yes", "cidr": "10.0.0.0/16", "azCount": 2}
    assert json.loads(raw["nexus:tags"]) == {
        "Window": "12:30",
        "Count": 10,
        "Flag": "on",
        "Real": True,
        "Ratio": 1000.0,
    }
    raw.update({key: value for key, value in dev_raw().items() if key not in raw})
    lines = problems_of(raw)
    assert (
        'nexus:network.flowLogs: Input should be a valid boolean; got "yes"; write true or false (YAML 1.2, '
        "which the Pulumi CLI reads, keeps yes a string)"
    ) in lines


def test_the_offline_engine_reads_stack_files_like_the_config_loader(tmp_path: Path) -> None:
    # The preview and the harness run the program on what offline reads: it must read YAML alike.
    from offline import read_project, read_stack

    stack_file = tmp_path / "Pulumi.yamlcheck.yaml"
    stack_file.write_text(
        "config:\n"
        "  aws:region: us-east-1\n"
        "  nexus:shards: {shard-a: {tenants: [acme]}}\n"
        "  nexus:network: {flowLogs: yes, azCount: 010, cidr: 10.0.0.0/16}\n"
        "  nexus:tags: {Window: 12:30, Flag: off, Ratio: 1e3, Real: false}\n"
    )
    engine = read_stack(stack_file, read_project(ROOT)).config
    loader = read_stack_file(stack_file)
    for key, value in loader.items():
        assert _decoded(engine[key]) == _decoded(value), key


def _decoded(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        return value


# --- min > max, everywhere a model has a min and a max -----------------------------------------------------

# (model, low key, high key) -> (section, raw section value with low > high, expected key path)
MinMaxCase = tuple[str, Any, str]


def _node_group(**sizes: int) -> dict[str, Any]:
    return {"general": {"instanceTypes": ["m6i.large"], **sizes}}


MIN_MAX_CASES: dict[tuple[str, str, str], MinMaxCase] = {
    ("ApiConfig", "minReplicas", "maxReplicas"): (
        "api",
        {"minReplicas": 5, "maxReplicas": 2},
        "api.minReplicas",
    ),
    ("ApiConfig", "cpu", "cpuLimit"): ("api", {"cpu": 2000, "cpuLimit": 1000}, "api.cpu"),
    ("WorkerConfig", "minReplicas", "maxReplicas"): (
        "worker",
        {"minReplicas": 3, "maxReplicas": 2},
        "worker.minReplicas",
    ),
    ("WorkerConfig", "cpu", "cpuLimit"): ("worker", {"cpu": 1000, "cpuLimit": 500}, "worker.cpu"),
    ("ShardSettings", "allocatedStorage", "maxAllocatedStorage"): (
        "shardDefaults",
        {"allocatedStorage": 200, "maxAllocatedStorage": 100},
        "shardDefaults.allocatedStorage",
    ),
    ("ProxyPoolConfig", "maxIdleConnectionsPercent", "maxConnectionsPercent"): (
        "shardDefaults",
        {"proxy": {"maxConnectionsPercent": 40, "maxIdleConnectionsPercent": 50}},
        "shardDefaults.proxy.maxIdleConnectionsPercent",
    ),
    ("NodeGroupConfig", "minSize", "maxSize"): (
        "cluster",
        {"nodeGroups": _node_group(minSize=3, desiredSize=3, maxSize=2)},
        "cluster.nodeGroups.general.minSize",
    ),
    ("NodeGroupConfig", "desiredSize", "maxSize"): (
        "cluster",
        {"nodeGroups": _node_group(minSize=1, desiredSize=4, maxSize=3)},
        "cluster.nodeGroups.general.desiredSize",
    ),
    ("NodeGroupConfig", "minSize", "desiredSize"): (
        "cluster",
        {"nodeGroups": _node_group(minSize=2, desiredSize=1, maxSize=3)},
        "cluster.nodeGroups.general.minSize",
    ),
}


def _walk_models(model: type[BaseModel]) -> Iterator[type[BaseModel]]:
    yield model
    for field in model.model_fields.values():
        for candidate in _annotation_models(field.annotation):
            yield from _walk_models(candidate)


def _annotation_models(annotation: Any) -> Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
    for arg in getattr(annotation, "__args__", ()):
        yield from _annotation_models(arg)


def _min_max_pairs() -> set[tuple[str, str, str]]:
    """Pairs that look like a bound and its limit: minX/maxX and x/maxX in the same model."""
    pairs: set[tuple[str, str, str]] = set()
    for top in section_models().values():
        for model in _walk_models(top):
            keys = [field.alias or name for name, field in model.model_fields.items()]
            for high in keys:
                if not high.startswith("max"):
                    continue
                stem = high[3:]
                for low in (f"min{stem}", stem[:1].lower() + stem[1:]):
                    if low in keys:
                        pairs.add((model.__name__, low, high))
    return pairs


def test_every_min_max_pair_in_the_models_has_a_case() -> None:
    missing = _min_max_pairs() - set(MIN_MAX_CASES)
    assert not missing, f"add a case to MIN_MAX_CASES (and a check to the model) for {sorted(missing)}"


@pytest.mark.parametrize(
    ("pair", "case"),
    list(MIN_MAX_CASES.items()),
    ids=[" > ".join(k[1:]) + f" ({k[0]})" for k in MIN_MAX_CASES],
)
def test_min_above_max_is_refused(pair: tuple[str, str, str], case: MinMaxCase) -> None:
    _, low, high = pair
    key, body, path = case
    # A renamed or removed section must fail here, not skip: the case names a key that no longer exists.
    assert key in section_models(), f"nexus:{key} is not a section of the config model; update MIN_MAX_CASES"
    raw = with_section(key, **body)
    problems = [line for line in problems_of(raw) if line.startswith(f"nexus:{path}: ")]
    assert problems, f"no problem reported at nexus:{path}: {problems_of(raw)}"
    assert low in problems[0], problems[0]
    assert high in problems[0], problems[0]


def test_min_above_max_inside_a_shard_names_the_shard() -> None:
    raw = dev_raw()
    shards = json.loads(raw["nexus:shards"])
    shards["shard-b"]["allocatedStorage"] = 500
    raw["nexus:shards"] = json.dumps(shards)
    assert problems_of(raw) == [
        "nexus:shards.shard-b.allocatedStorage: "
        "allocatedStorage (500) must not exceed maxAllocatedStorage (100)"
    ]


# --- Pulumi.yaml declarations ------------------------------------------------------------


def _declared() -> dict[str, Any]:
    document = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    return dict(document["config"])


def test_pulumi_yaml_declares_exactly_the_keys_the_program_reads() -> None:
    # aws:region is read but not declared: outside the project's namespace the CLI would accept only a fixed
    # `value` (tests/offline/test_pulumi_project.py), and every stack must choose its own region.
    expected = {f"nexus:{key}" for key in KNOWN_KEYS}
    assert set(OTHER_KEYS) == {"aws:region"}
    declared = set(_declared())
    assert declared - expected == set(), (
        "declared in Pulumi.yaml but never read (add to KNOWN_KEYS or remove)"
    )
    assert expected - declared == set(), "read by the program but not declared in Pulumi.yaml"


def test_pulumi_yaml_declares_a_type_and_description_for_every_key_of_the_project() -> None:
    for key, declaration in _declared().items():
        assert isinstance(declaration, dict), key
        assert declaration.get("description"), f"{key} has no description"
        assert key.split(":", 1)[0] == PROJECT, f"{key} is not in the project's namespace {PROJECT}:"
        # The types the CLI's project schema allows for a config key (offline/pulumi_project_schema.json).
        assert declaration.get("type") in {"string", "object", "boolean"}, f"{key}: declare its type"


def test_pulumi_yaml_runs_the_program_the_way_the_language_host_does() -> None:
    document = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    assert document["name"] == PROJECT
    assert document["runtime"] == {"name": "python", "options": {"virtualenv": "venv"}}
    assert (ROOT / document.get("main", ".") / "__main__.py").is_file()


# --- docs/configuration.md ------------------------------------------------------------

DOCS = ROOT / "docs" / "configuration.md"


def _doc_sections() -> dict[str, str]:
    """``## <heading>`` -> body of that section."""
    parts = re.split(r"^## +(\S+).*$", DOCS.read_text(), flags=re.MULTILINE)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts) - 1, 2)}


def _rows(body: str) -> dict[str, list[str]]:
    """Table rows of a section keyed by their first cell (the backticked key path)."""
    rows: dict[str, list[str]] = {}
    for line in body.splitlines():
        match = re.match(r"^\| `([^`]+)` \|(.*)\|\s*$", line)
        if match:
            cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", match.group(2))]
            rows[match.group(1)] = cells
    return rows


def test_docs_have_a_section_for_every_key() -> None:
    headings = set(_doc_sections())
    expected = {f"nexus:{key}" for key in KNOWN_KEYS} | set(OTHER_KEYS)
    assert expected - headings == set(), f"add a '## <key>' section to {DOCS.name}"


@pytest.mark.parametrize("key", sorted(section_models()))
def test_docs_table_lists_every_field_with_its_default(key: str) -> None:
    body = _doc_sections().get(f"nexus:{key}")
    assert body is not None, f"docs/configuration.md has no '## nexus:{key}' section"
    rows = _rows(body)
    keys: list[KeyDoc] = model_keys(section_models()[key])
    regenerate = f"(regenerate rows with: venv/bin/python -m stacks.config.docs {key})"
    missing = [doc.path for doc in keys if doc.path not in rows]
    assert not missing, f"nexus:{key}: document {missing} {regenerate}"
    wrong = {
        doc.path: (rows[doc.path][1], doc.default) for doc in keys if rows[doc.path][1] != f"`{doc.default}`"
    }
    assert not wrong, (
        f"nexus:{key}: documented default differs from the model's (doc, model): {wrong} {regenerate}"
    )


def test_docs_document_shards_tenants_and_the_other_plain_keys() -> None:
    sections = _doc_sections()
    assert "`<id>.tenants`" in sections["nexus:shards"]
    assert "shardDefaults" in sections["nexus:shards"]
    for value in ("dev", "staging", "prod"):
        assert f"`{value}`" in sections["nexus:environment"]
    assert "`Project`" in sections["nexus:tags"]


def test_docs_show_a_real_validation_error(tmp_path: Path) -> None:
    # The example in the docs must be what the loader prints today for that stack file, read as a stack file.
    text = DOCS.read_text()
    match = re.search(
        r"<!-- example-config -->\n```yaml\n(.*?)```.*?<!-- example-errors -->\n```text\n(.*?)```", text, re.S
    )
    assert match, "docs/configuration.md lost its marked validation example"
    stack_file = tmp_path / "Pulumi.example.yaml"
    stack_file.write_text(match.group(1))
    raw = read_stack_file(stack_file)
    shown = [
        line.strip() for line in match.group(2).splitlines() if line.strip().startswith(("nexus:", "aws:"))
    ]
    assert shown == problems_of(raw)
