"""Settings and the tenant map: built from an explicit environment, validated with the key path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from app_support import tenant_map_doc

from app.core.settings import build_settings
from app.core.tenantmap import TenantMapError, parse_tenant_map

pytestmark = pytest.mark.unit

STRONG = "k" * 48


def test_development_settings_from_environment(app_environ: dict[str, str]) -> None:
    app_environ |= {"NEXUS_DB_POOL_MAX": "7", "NEXUS_CACHE_ENABLED": "false", "NEXUS_LOG_LEVEL": "info"}
    s = build_settings(app_environ)
    assert s.db.pool_max == 7
    assert s.cache.enabled is False
    assert s.server.log_level == "INFO"
    assert s.tenant_map.shard_of("globex") == "shard-b"
    assert s.tenant_map.shard_of("nobody") is None
    assert s.db_passwords["shard-a"].get_secret_value() == "pw-a"
    assert s.auth.active_kid == "k2"


def test_tenant_map_from_file(app_environ: dict[str, str], tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "tenant-map.json"
    path.write_text(app_environ.pop("NEXUS_TENANT_MAP"))
    app_environ["NEXUS_TENANT_MAP_FILE"] = str(path)
    assert set(build_settings(app_environ).tenant_map.shards) == {"shard-a", "shard-b"}


def test_missing_shard_password_is_named(app_environ: dict[str, str]) -> None:
    del app_environ["NEXUS_DB_PASSWORD_SHARD_B"]
    with pytest.raises(ValueError, match="NEXUS_DB_PASSWORD_SHARD_B"):
        build_settings(app_environ)


def test_active_kid_must_be_a_key(app_environ: dict[str, str]) -> None:
    app_environ["NEXUS_JWT_ACTIVE_KID"] = "k7"
    with pytest.raises(ValueError, match="NEXUS_JWT_ACTIVE_KID"):
        build_settings(app_environ)


def test_production_refuses_placeholder_secrets(
    app_environ: dict[str, str], verify_full: dict[str, str]
) -> None:
    app_environ |= {"NEXUS_ENV": "production"} | verify_full
    app_environ["NEXUS_JWT_KEYS"] = json.dumps({"k1": "change-me-" + "x" * 40, "k2": "short"})
    app_environ["NEXUS_DB_PASSWORD_SHARD_A"] = "changeme"
    with pytest.raises(ValueError, match="production settings refused") as err:
        build_settings(app_environ)
    message = str(err.value)
    assert "NEXUS_JWT_KEYS[k1]" in message
    assert "NEXUS_JWT_KEYS[k2]" in message
    assert "shard shard-a" in message
    assert "shard-b" not in message


def test_production_requires_tls_to_the_database(
    app_environ: dict[str, str], verify_full: dict[str, str]
) -> None:
    app_environ |= {"NEXUS_ENV": "production", "NEXUS_JWT_KEYS": json.dumps({"k2": STRONG})}
    app_environ |= {"NEXUS_DB_PASSWORD_SHARD_A": STRONG, "NEXUS_DB_PASSWORD_SHARD_B": STRONG}
    with pytest.raises(ValueError, match="NEXUS_DB_SSL"):
        build_settings(app_environ)
    app_environ |= verify_full
    assert build_settings(app_environ).server.env == "production"


def test_the_default_development_key_is_refused_in_production(
    app_environ: dict[str, str], verify_full: dict[str, str]
) -> None:
    for key in ("NEXUS_JWT_KEYS", "NEXUS_JWT_ACTIVE_KID"):
        del app_environ[key]
    app_environ |= {"NEXUS_ENV": "production"} | verify_full
    app_environ |= {"NEXUS_DB_PASSWORD_SHARD_A": STRONG, "NEXUS_DB_PASSWORD_SHARD_B": STRONG}
    with pytest.raises(ValueError, match=r"NEXUS_JWT_KEYS\[dev\]"):
        build_settings(app_environ)


def test_no_tenant_map_is_an_error(app_environ: dict[str, str]) -> None:
    del app_environ["NEXUS_TENANT_MAP"]
    with pytest.raises(ValueError, match="NEXUS_TENANT_MAP_FILE or NEXUS_TENANT_MAP"):
        build_settings(app_environ)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(version=2), "only 1"),
        (lambda d: d["tenants"].update(initech="shard-z"), "tenants.initech"),
        (lambda d: d.update(defaultShard="shard-z"), "defaultShard"),
        (lambda d: d["shards"]["shard-a"].update(passwordEnv="PW"), "shards.shard-a.passwordEnv"),
        (lambda d: d["shards"]["shard-a"].update(readers=[]), "readers"),
        (lambda d: d["shards"].update({"Shard_C": d["shards"]["shard-a"]}), "DNS-safe"),
        (lambda d: d["shards"]["shard-a"].pop("database"), "database"),
        (lambda d: d["shards"]["shard-a"]["writer"].update(port="x"), "port"),
        (lambda d: d["tenants"].update({"Bad Tenant": "shard-a"}), "Bad Tenant"),
    ],
    ids=[
        "version",
        "unknown-shard",
        "default-shard",
        "password-env",
        "no-readers",
        "shard-id",
        "missing-key",
        "port-type",
        "tenant-id",
    ],
)
def test_tenant_map_errors_name_the_key(mutate: object, message: str) -> None:
    doc = tenant_map_doc()
    mutate(doc)  # type: ignore[operator]
    with pytest.raises(TenantMapError, match=message):
        parse_tenant_map(json.dumps(doc))


def test_tenant_map_matches_the_stack_builder_format() -> None:
    """The shared contract: what infra.k8s.tenantmap builds, the app parses."""
    from pathlib import Path

    from infra.k8s.tenantmap import Endpoint, ShardEndpoints, build_tenant_map
    from stacks.config import load_stack_file

    config = load_stack_file(Path("Pulumi.dev.yaml"))
    endpoints = {
        sid: ShardEndpoints(
            writer=Endpoint("127.0.0.1", 6432),
            readers=[Endpoint("127.0.0.1", 25433)],
            database=f"nexus_{sid}",
            reader_database="nexus",
            username="nexus_app",
        )
        for sid in config.shards
    }
    built = build_tenant_map(
        tenants=config.tenant_shards(), default_shard=config.default_shard, endpoints=endpoints
    )
    parsed = parse_tenant_map(json.dumps(built))
    assert set(parsed.shards) == set(config.shards)
    assert parsed.tenants == built["tenants"]


def test_worker_and_migrations_need_no_jwt_keys_in_production(
    app_environ: dict[str, str], verify_full: dict[str, str]
) -> None:
    for key in ("NEXUS_JWT_KEYS", "NEXUS_JWT_ACTIVE_KID"):
        del app_environ[key]
    app_environ |= {"NEXUS_ENV": "production"} | verify_full
    app_environ |= {"NEXUS_DB_PASSWORD_SHARD_A": STRONG, "NEXUS_DB_PASSWORD_SHARD_B": STRONG}
    assert build_settings(app_environ, signs_tokens=False).server.env == "production"
    with pytest.raises(ValueError, match="NEXUS_JWT_KEYS"):
        build_settings(app_environ)


def test_verify_full_needs_a_bundle_that_loads(app_environ: dict[str, str], tmp_path: Path) -> None:
    app_environ["NEXUS_DB_SSL"] = "verify-full"
    with pytest.raises(ValueError, match="needs NEXUS_DB_CA_BUNDLE"):
        build_settings(app_environ)
    app_environ["NEXUS_DB_CA_BUNDLE"] = str(tmp_path / "missing.pem")
    with pytest.raises(ValueError, match=r"missing\.pem: cannot load it"):
        build_settings(app_environ)
    empty = tmp_path / "empty.pem"
    empty.write_text("not a certificate\n")
    app_environ["NEXUS_DB_CA_BUNDLE"] = str(empty)
    with pytest.raises(ValueError, match=r"empty\.pem"):
        build_settings(app_environ)


def test_the_image_bundle_of_system_roots_plus_a_ca_loads(tmp_path: Path) -> None:
    """The image concatenates the system roots and the RDS bundle into one file; the app loads that file
    with every certificate of both (a local CA stands in for the RDS bundle, which is not reachable here)."""
    import ssl

    from app.core.dbtls import verifying_context
    from devstack.tls import make_ca

    system = Path(ssl.get_default_verify_paths().cafile or "/etc/ssl/certs/ca-certificates.crt")
    ca_cert, _ = make_ca(tmp_path / "ca")
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(system.read_bytes() + b"\n" + ca_cert.read_bytes())
    roots = ssl.create_default_context(cafile=str(system)).cert_store_stats()["x509_ca"]
    assert roots > 0, "the system store is not empty"
    assert verifying_context(bundle).cert_store_stats()["x509_ca"] == roots + 1


def test_only_the_migrations_read_the_owner_passwords(app_environ: dict[str, str]) -> None:
    doc = tenant_map_doc()
    doc["shards"]["shard-a"] |= {
        "ownerUsername": "nexus_owner",
        "ownerPasswordEnv": "NEXUS_DB_OWNER_PASSWORD_SHARD_A",
    }
    app_environ["NEXUS_TENANT_MAP"] = json.dumps(doc)
    assert build_settings(app_environ).db_owner_passwords == {}, "the API never asks for it"
    with pytest.raises(ValueError, match="NEXUS_DB_OWNER_PASSWORD_SHARD_A is not set"):
        build_settings(app_environ, owner=True)
    app_environ["NEXUS_DB_OWNER_PASSWORD_SHARD_A"] = "owner-pw"
    owners = build_settings(app_environ, signs_tokens=False, owner=True).db_owner_passwords
    assert {shard: pw.get_secret_value() for shard, pw in owners.items()} == {"shard-a": "owner-pw"}


@pytest.mark.parametrize(
    ("owner_fields", "message"),
    [
        ({"ownerUsername": "nexus_owner"}, "both ownerUsername and ownerPasswordEnv"),
        (
            {"ownerUsername": "x", "ownerPasswordEnv": "NEXUS_DB_OWNER_PASSWORD_B"},
            "ownerPasswordEnv` must be",
        ),
        (
            {"ownerUsername": "nexus_app", "ownerPasswordEnv": "NEXUS_DB_OWNER_PASSWORD_SHARD_A"},
            "must differ",
        ),
    ],
)
def test_the_owner_login_is_checked(owner_fields: dict[str, str], message: str) -> None:
    doc = tenant_map_doc()
    doc["shards"]["shard-a"] |= owner_fields
    with pytest.raises(TenantMapError, match=message):
        parse_tenant_map(json.dumps(doc))


def test_forwarded_headers_are_trusted_from_addresses_or_networks_only(app_environ: dict[str, str]) -> None:
    app_environ["NEXUS_FORWARDED_ALLOW_IPS"] = "10.20.0.0/16, 127.0.0.1"
    assert build_settings(app_environ).server.forwarded_allow_ips == "10.20.0.0/16, 127.0.0.1"
    app_environ["NEXUS_FORWARDED_ALLOW_IPS"] = "*"
    with pytest.raises(ValueError, match="NEXUS_FORWARDED_ALLOW_IPS"):
        build_settings(app_environ)
