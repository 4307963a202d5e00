"""The podman flags derived from the rendered pod specs (devstack.image.pod_run): what each setting becomes,
and that a setting with no known translation fails instead of being dropped."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from image_support import pod_spec

from devstack.image import pod_run

pytestmark = pytest.mark.unit


def _pair(flags: tuple[str, ...], flag: str) -> list[str]:
    return [flags[i + 1] for i, value in enumerate(flags[:-1]) if value == flag]


@pytest.mark.parametrize(
    ("kind", "name"), [("Deployment", "api"), ("Deployment", "worker"), ("Job", "migrate")]
)
def test_every_workload_runs_read_only_unprivileged_as_its_user(kind: str, name: str) -> None:
    spec = pod_spec(kind, name)
    container = spec["containers"][0]
    context = container["securityContext"]
    run = pod_run(spec, container["name"])
    assert "--read-only" in run.flags
    assert "--read-only-tmpfs=false" in run.flags, "podman would add writable /run, /tmp and /var/tmp"
    assert _pair(run.flags, "--user") == [f"{context['runAsUser']}:{context['runAsGroup']}"]
    assert _pair(run.flags, "--group-add") == [str(spec["securityContext"]["fsGroup"])]
    assert _pair(run.flags, "--cap-drop") == ["ALL"]
    assert _pair(run.flags, "--security-opt") == ["no-new-privileges"]
    assert "--privileged" not in run.flags
    # The only writable place is each mounted emptyDir, as a tmpfs of the volume's size limit.
    mounts = [m["mountPath"] for m in container["volumeMounts"]]
    assert [t.split(":")[0] for t in _pair(run.flags, "--tmpfs")] == mounts == ["/tmp"]
    assert "size=268435456" in _pair(run.flags, "--tmpfs")[0], "sizeLimit 256Mi"
    assert run.command == tuple(container["command"])
    assert run.run_as_non_root
    assert run.grace_seconds == spec["terminationGracePeriodSeconds"]


def test_the_api_probes_and_drain_timing_come_from_the_deployment() -> None:
    spec = pod_spec("Deployment", "api")
    run = pod_run(spec, "api")
    container = spec["containers"][0]
    assert run.probes == {
        k: container[k]["httpGet"]["path"] for k in ("startupProbe", "livenessProbe", "readinessProbe")
    }
    assert run.pre_stop_seconds == container["lifecycle"]["preStop"]["sleep"]["seconds"] > 0
    assert run.env == {e["name"]: e["value"] for e in container["env"]}


def _changed(change: Any) -> dict[str, Any]:
    spec = copy.deepcopy(pod_spec("Deployment", "api"))
    change(spec)
    return spec


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (lambda s: s["containers"][0]["securityContext"].update(procMount="Unmasked"), "procMount"),
        (
            lambda s: s["securityContext"].update(sysctls=[{"name": "net.core.somaxconn", "value": "1024"}]),
            "sysctls",
        ),
        (lambda s: s["volumes"][0].update(emptyDir=None, hostPath={"path": "/srv"}), "hostPath"),
        (
            lambda s: s["containers"][0]["securityContext"].update(seccompProfile={"type": "Unconfined"}),
            "Unconfined",
        ),
        (lambda s: s["containers"][0]["env"].append({"name": "X", "valueFrom": {}}), "valueFrom"),
    ],
)
def test_a_setting_without_a_translation_fails_loudly(change: Any, named: str) -> None:
    with pytest.raises(ValueError, match=named):
        pod_run(_changed(change), "api")


def test_the_container_context_overrides_the_pods() -> None:
    spec = _changed(lambda s: s["containers"][0]["securityContext"].update(runAsUser=20002, runAsGroup=20002))
    assert _pair(pod_run(spec, "api").flags, "--user") == ["20002:20002"]


def test_a_writable_root_filesystem_drops_read_only() -> None:
    spec = _changed(lambda s: s["containers"][0]["securityContext"].update(readOnlyRootFilesystem=False))
    assert "--read-only" not in pod_run(spec, "api").flags
