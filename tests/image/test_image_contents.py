"""What is inside the API image: its user, no compiler, no package-manager caches, no secret in any layer or
in the history, and its size against the budget (docs/image.md)."""

from __future__ import annotations

import io
import json
import re
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from image_support import SIZE_BUDGET_BYTES, api_run, podman

from devstack.image import PODMAN, ULIMITS, Built, image_size_bytes

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# Run inside the image (by its own python, with the API pod's settings): compilers on PATH or in the usual
# places, and what package managers leave behind.
SURVEY = r"""
import glob, json, os, shutil
compilers = sorted({n for n in ("cc", "gcc", "g++", "c++", "clang", "ld", "as", "make", "cpp", "rustc", "go")
                    if shutil.which(n)} | {p for p in glob.glob("/usr/bin/*-linux-gnu-gcc*")})
caches = []
for pattern in ("/var/cache/apt/*.bin", "/var/cache/apt/archives/*.deb", "/var/lib/apt/lists/*_Packages*",
                "/root/.cache/*", "/nonexistent/.cache/*", "/tmp/*", "/var/tmp/*", "/opt/venv/bin/pip*",
                "/usr/lib/python3/dist-packages/pip", "/srv/app/**/*.pyc.*"):
    caches += glob.glob(pattern, recursive=True)
print(json.dumps({"uid": os.getuid(), "gid": os.getgid(), "compilers": compilers, "caches": caches}))
"""

SECRET_PATTERNS = {
    "private key": re.compile(rb"-----BEGIN (?:RSA |EC |OPENSSH |DSA |ENCRYPTED )?PRIVATE KEY-----"),
    "AWS access key id": re.compile(rb"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "GitHub token": re.compile(rb"\bgh[pousr]_[A-Za-z0-9]{36}\b"),
    "credential assignment": re.compile(
        rb"\b[A-Z0-9_]*(?:PASSWORD|SECRET|TOKEN|API_KEY|ACCESS_KEY)[A-Z0-9_]*=[^\s\"'$]{8,}"
    ),
}
SECRET_FILES = re.compile(
    r"(^|/)(\.netrc|\.pypirc|pip\.conf|\.git-credentials|id_rsa|id_ed25519|\.env|credentials|"
    r"\.docker/config\.json|secrets?\.json|ca\.crt)$"
)
# Files that look like secrets and are not, each with the reason.
NOT_SECRETS = {
    # botocore's copies of the AWS API reference's examples: AWS's documented placeholder keys
    # (AKIAIOSFODNN7EXAMPLE) and a truncated example key of IAM's UploadSSHPublicKey.
    re.compile(r"site-packages/botocore/data/[a-z0-9-]+/[0-9-]+/examples-1\.json$"),
}
SCANNED_SUFFIXES = (
    ".py",
    ".txt",
    ".json",
    ".cfg",
    ".conf",
    ".ini",
    ".sh",
    ".env",
    ".yaml",
    ".yml",
    ".toml",
    "",
)


def findings_in_layer(layer: tarfile.TarFile, name: str) -> Iterator[str]:
    """Secret-looking files and contents of one layer (text files and files without a suffix)."""
    for member in layer:
        if not member.isfile():
            continue
        if SECRET_FILES.search(member.name):
            yield f"{name}: file {member.name}"
            continue
        if Path(member.name).suffix not in SCANNED_SUFFIXES or member.size > 2_000_000:
            continue
        if any(allowed.search(member.name) for allowed in NOT_SECRETS):
            continue
        handle = layer.extractfile(member)
        data = handle.read() if handle is not None else b""
        for what, pattern in SECRET_PATTERNS.items():
            match = pattern.search(data)
            if match:
                yield f"{name}: {what} in {member.name}: {match.group(0)[:40]!r}"


def findings_in_history(history: list[dict[str, object]], config: dict[str, object]) -> list[str]:
    texts = [str(entry.get("created_by", "")) for entry in history] + [json.dumps(config.get("Env"))]
    texts.append(json.dumps(config.get("Labels")))
    found = []
    for text in texts:
        for what, pattern in SECRET_PATTERNS.items():
            if pattern.search(text.encode()):
                found.append(f"{what} in {text[:120]!r}")
    return found


def _survey(image: str) -> dict[str, object]:
    run = api_run()
    command = [*PODMAN, "run", "--rm", "--network", "none", "--no-healthcheck", *ULIMITS, *run.flags, image]
    result = subprocess.run(
        [*command, "python", "-c", SURVEY], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    survey: dict[str, object] = json.loads(result.stdout)
    return survey


def test_runs_as_the_non_root_user_of_the_manifest(api_image: Built) -> None:
    inspected = json.loads(podman("image", "inspect", api_image.image).stdout)[0]
    assert inspected["Config"]["User"] == "10001:10001", "the image's own default user"
    survey = _survey(api_image.image)
    assert (survey["uid"], survey["gid"]) == (10001, 10001)


def test_has_no_compiler_and_no_package_manager_caches(api_image: Built) -> None:
    survey = _survey(api_image.image)
    assert survey["compilers"] == []
    assert survey["caches"] == []


def test_no_secret_in_any_layer_or_in_the_history(api_image: Built, tmp_path: Path) -> None:
    archive = tmp_path / "image.tar"
    saved = podman(
        "save", "--format", "docker-archive", "--output", str(archive), api_image.image, timeout=300
    )
    assert saved.returncode == 0, saved.stderr
    findings: list[str] = []
    with tarfile.open(archive) as outer:
        manifest = json.load(outer.extractfile("manifest.json"))[0]  # type: ignore[arg-type]
        config = json.load(outer.extractfile(manifest["Config"]))  # type: ignore[arg-type]
        for layer_name in manifest["Layers"]:
            data = outer.extractfile(layer_name)
            assert data is not None
            with tarfile.open(fileobj=data, mode="r|*") as layer:  # streamed: layers are large
                findings += findings_in_layer(layer, layer_name)
    assert len(manifest["Layers"]) >= 5, "the scan saw the image's layers"
    findings += findings_in_history(config.get("history", []), config.get("config", {}))
    assert findings == []


def test_the_scan_finds_what_it_looks_for(tmp_path: Path) -> None:
    """The layer and history scans above, on planted secrets: an empty finding list means something."""
    layer_path = tmp_path / "layer.tar"
    planted = {
        "root/.config/pip/pip.conf": b"[global]\n",
        "srv/app/settings.py": b"DB = 'x'\nNEXUS_DB_PASSWORD=hunter2hunter2\n",
        "srv/key": b"-----BEGIN RSA PRIVATE KEY-----\nMII...\n",
        "srv/app/clean.py": b"print('nothing here')\n",
        # Not botocore's examples (the one allowed place): found.
        "opt/venv/lib/python3.11/site-packages/boto/data/iam/1/examples-1.json": b"AKIAIOSFODNN7EXAMPLE",
    }
    with tarfile.open(layer_path, "w") as layer:
        for name, content in planted.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            layer.addfile(info, io.BytesIO(content))
    with tarfile.open(layer_path) as layer:
        found = list(findings_in_layer(layer, "planted"))
    assert len(found) == 4, found
    assert not any("clean.py" in f for f in found)
    history = [{"created_by": "/bin/sh -c #(nop) ARG GITHUB_TOKEN=ghp_" + "a" * 36}]
    assert len(findings_in_history(history, {"Env": ["PATH=/usr/bin"]})) == 2


def test_size_is_within_the_budget(api_image: Built) -> None:
    size = image_size_bytes(api_image.image)
    print(f"image size: {size / 1e6:.0f} MB (budget {SIZE_BUDGET_BYTES / 1e6:.0f} MB, docs/image.md)")
    assert size <= SIZE_BUDGET_BYTES
