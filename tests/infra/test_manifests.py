"""The Kubernetes manifests rebuilt from the recorded inputs of the workloads' resources (dev and prod):
valid against the cluster version's schemas, true to the workload rules, and clean under checkov."""

from __future__ import annotations

import copy
import fnmatch
import json
import os
import shutil
import subprocess
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from infra.k8s import manifests as m
from infra.k8s.manifests import TARGET_GROUP_BINDING_API
from stacks.config.loader import load_stack_file
from tests.support.harness import PROJECT_DIR
from tests.support.workloads import manifests_of, run_workloads, write_manifests

pytestmark = pytest.mark.infra

STACKS = ("dev", "prod")
SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"
CHECKOV = PROJECT_DIR / ".tools" / "checkov" / "bin" / "checkov"
SKIPS_FILE = Path(__file__).resolve().parent / "checkov-k8s-skips.yaml"
Manifests = list[dict[str, Any]]


def cluster_version(stack: str) -> str:
    """The Kubernetes minor the stack's cluster runs (the schemas are picked for it)."""
    return load_stack_file(PROJECT_DIR / f"Pulumi.{stack}.yaml").cluster.version


def delay_of(stack: str) -> int:
    return load_stack_file(PROJECT_DIR / f"Pulumi.{stack}.yaml").alb.deregistration_delay_seconds


def validate(manifest: dict[str, Any], version: str) -> None:
    """Strict schema validation; the TargetGroupBinding CRD against the controller's schema."""
    if manifest["apiVersion"] == TARGET_GROUP_BINDING_API:
        schema = json.loads((SCHEMA_DIR / "targetgroupbinding-elbv2-v1beta1.json").read_text())
        jsonschema.Draft202012Validator(schema).validate(manifest)
    else:
        kubernetes_validate.validate(manifest, version, strict=True)


def test_every_kind_is_there(manifests: Manifests) -> None:
    assert Counter(m["kind"] for m in manifests) == {
        "Namespace": 1,
        "ServiceAccount": 3,
        "ConfigMap": 1,
        "Secret": 2,  # the app's, and the migrations' (owner passwords)
        "Job": 1,
        "Deployment": 2,
        "Service": 1,
        "TargetGroupBinding": 1,
        "NetworkPolicy": 4,
        "HorizontalPodAutoscaler": 2,
        "PodDisruptionBudget": 2,
    }


def test_manifests_validate_against_the_cluster_schemas(stack: str, manifests: Manifests) -> None:
    version = cluster_version(stack)
    for manifest in manifests:
        validate(manifest, version)


@pytest.mark.parametrize(
    ("kind", "breaks"),
    [
        ("Deployment", lambda m: m["spec"]["strategy"]["rollingUpdate"].update(maxUnavailabel=0)),
        (
            "Deployment",
            lambda m: m["spec"]["template"]["spec"]["containers"][0].update(resources={"requests": 2}),
        ),
        ("HorizontalPodAutoscaler", lambda m: m["spec"].update(minReplicas="two")),
        ("TargetGroupBinding", lambda m: m["spec"].update(targetType="pod")),
        ("TargetGroupBinding", lambda m: m["spec"].pop("targetGroupARN")),
    ],
)
def test_schema_validation_rejects_a_broken_manifest(
    manifests: Manifests, kind: str, breaks: Callable[[dict[str, Any]], None]
) -> None:
    manifest = copy.deepcopy(next(m for m in manifests if m["kind"] == kind))
    breaks(manifest)
    with pytest.raises(jsonschema.ValidationError):
        validate(manifest, "1.34")


def _skips() -> dict[str, dict[str, Any]]:
    return yaml.safe_load(SKIPS_FILE.read_text())  # type: ignore[no-any-return]


def test_every_checkov_skip_is_justified() -> None:
    for check_id, entry in _skips().items():
        assert check_id.startswith(("CKV_K8S_", "CKV2_K8S_")), check_id
        assert entry["resources"], f"{check_id}: name the objects it applies to"
        assert len(entry["reason"].split()) >= 12, f"{check_id}: say why, in a sentence or two"


@pytest.mark.slow
def test_checkov_kubernetes_checks(tmp_path: Path) -> None:
    if not CHECKOV.exists():
        pytest.fail(f"{CHECKOV} is missing: `make setup` installs checkov in its own venv")
    for stack in STACKS:
        write_manifests(manifests_of(run_workloads(stack)), tmp_path / stack)
    result = subprocess.run(
        [
            str(CHECKOV),
            "--skip-download",
            "--framework",
            "kubernetes",
            "-d",
            str(tmp_path),
            "-o",
            "json",
            "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode in (0, 1), result.stderr
    reports = json.loads(result.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    failed = [check for report in reports for check in report["results"]["failed_checks"]]
    assert sum(report["summary"]["passed"] for report in reports) > 100, "checkov ran no checks"
    skips = _skips()
    unexplained = [
        f"{check['check_id']} {check['resource']} ({check['file_path']}): {check['check_name']}"
        for check in failed
        if not any(
            fnmatch.fnmatch(check["resource"], pattern)
            for pattern in skips.get(check["check_id"], {}).get("resources", [])
        )
    ]
    assert unexplained == [], "fix these or justify them in " + SKIPS_FILE.name
    stale = [
        f"{check_id} {pattern}"
        for check_id, entry in skips.items()
        for pattern in entry["resources"]
        if not any(c["check_id"] == check_id and fnmatch.fnmatch(c["resource"], pattern) for c in failed)
    ]
    assert stale == [], "these skips no longer fail anywhere; remove them"
    shutil.rmtree(tmp_path, ignore_errors=True)


@pytest.mark.unit
def test_the_pod_spec_matches_the_image_and_the_app() -> None:
    """The uid, the drain time and the commands the manifests assume are the ones the app and image have."""
    import app.serve

    dockerfile = (PROJECT_DIR / "app" / "Dockerfile").read_text()
    assert f"USER {m.APP_UID}:{m.APP_UID}" in dockerfile
    assert app.serve.GRACEFUL_SHUTDOWN_SECONDS == m.APP_DRAIN_SECONDS
    for module in ("serve", "worker", "migrate"):
        assert (PROJECT_DIR / "app" / f"{module}.py").exists()


def test_prod_manifests_match_the_golden_file() -> None:
    """The whole rendered set for prod, secrets masked: a change shows up as a reviewable diff.

    After an intended change: ``NEXUS_UPDATE_GOLDEN=1 venv/bin/pytest tests/infra/test_manifests.py``.
    """
    manifests = manifests_of(run_workloads("prod"))
    for manifest in manifests:
        if manifest["kind"] == "Secret":
            manifest["stringData"] = dict.fromkeys(sorted(manifest["stringData"]), "[secret]")
    ordered = sorted(manifests, key=lambda item: (item["kind"], item["metadata"]["name"]))
    rendered = yaml.safe_dump_all(ordered, sort_keys=True)
    path = PROJECT_DIR / "tests" / "golden" / "workloads_prod.yaml"
    if os.environ.get("NEXUS_UPDATE_GOLDEN") == "1":
        path.write_text(rendered)
    assert path.exists(), f"{path} is missing; run with NEXUS_UPDATE_GOLDEN=1 to create it"
    assert rendered == path.read_text(), (
        "the prod manifests differ from the golden file; review and regenerate"
    )
