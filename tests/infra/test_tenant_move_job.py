"""docs/tenant-move-job.jq: the tenant move Job made from a migration Job as the API server returns it
(docs/shards.md, "In a cluster: a Kubernetes Job"), run with the jq the docs use."""

from __future__ import annotations

import copy
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from infra.k8s.manifests import MIGRATION_RESOURCES, migration_job_manifest

ROOT = Path(__file__).resolve().parents[2]
FILTER = ROOT / "docs" / "tenant-move-job.jq"


def _served_migration_job() -> dict[str, Any]:
    """The migration Job as `kubectl get -o json` shows it: with what the API server adds."""
    job: dict[str, Any] = copy.deepcopy(
        migration_job_manifest(
            name="migrate-0123456789",
            image="123.dkr.ecr.us-east-1.amazonaws.com/nexus-api:abc",
            resources=MIGRATION_RESOURCES,
            config_map_name="app-config",
            secret_name="app-secret",
            service_account="nexus-migrate",
            owner_secret_name="owner-secret",
        )
    )
    job["metadata"] |= {"uid": "0000", "resourceVersion": "42"}
    job["spec"]["selector"] = {"matchLabels": {"batch.kubernetes.io/controller-uid": "0000"}}
    job["spec"]["template"]["metadata"]["labels"] |= {
        "batch.kubernetes.io/controller-uid": "0000",
        "batch.kubernetes.io/job-name": "migrate-0123456789",
        "controller-uid": "0000",
        "job-name": "migrate-0123456789",
    }
    job["status"] = {"succeeded": 1}
    return job


def _jq(job: dict[str, Any], *args: str) -> dict[str, Any]:
    done = subprocess.run(
        ["jq", *args, "-f", str(FILTER)], input=json.dumps(job), capture_output=True, text=True, check=True
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


@pytest.mark.unit
def test_the_move_job_runs_the_move_with_the_migration_jobs_pod() -> None:
    migration = _served_migration_job()
    job = _jq(migration, "--arg", "tenant", "acme", "--arg", "to", "shard-b")
    assert job["metadata"]["name"] == "tenant-move-acme"
    assert job["metadata"]["namespace"] == migration["metadata"]["namespace"]
    assert job["metadata"]["labels"]["app.kubernetes.io/component"] == "tenant-move"
    assert set(job) == {"apiVersion", "kind", "metadata", "spec"}
    assert set(job["spec"]) == {"backoffLimit", "activeDeadlineSeconds", "template"}
    assert job["spec"]["backoffLimit"] == 0
    labels = job["spec"]["template"]["metadata"]["labels"]
    assert not [key for key in labels if "controller-uid" in key or "job-name" in key]
    pod, original = job["spec"]["template"]["spec"], migration["spec"]["template"]["spec"]
    container, migrate = pod["containers"][0], original["containers"][0]
    assert container["command"] == [
        "python",
        "-m",
        "app.tenants",
        "move",
        "acme",
        "--to",
        "shard-b",
        "--stack",
        "prod",
    ]
    # Everything else of the pod is the migration Job's: image, the owner Secret, the service account.
    assert {k: v for k, v in container.items() if k not in ("command", "name")} == {
        k: v for k, v in migrate.items() if k not in ("command", "name")
    }
    assert {"secretRef": {"name": "owner-secret"}} in container["envFrom"]
    assert {k: v for k, v in pod.items() if k != "containers"} == {
        k: v for k, v in original.items() if k != "containers"
    }


@pytest.mark.unit
def test_the_cleanup_job_and_the_documented_command() -> None:
    job = _jq(
        _served_migration_job(), "--arg", "tenant", "acme", "--arg", "to", "", "--arg", "cleanup", "true"
    )
    assert job["metadata"]["name"] == "tenant-cleanup-acme"
    assert job["spec"]["template"]["spec"]["containers"][0]["command"] == [
        "python",
        "-m",
        "app.tenants",
        "move",
        "--cleanup",
        "acme",
    ]
    docs = (ROOT / "docs" / "shards.md").read_text()
    assert re.search(r"jq --arg tenant acme --arg to shard-b -f docs/tenant-move-job\.jq", docs)
    assert "--arg to '' --arg cleanup true" in docs
