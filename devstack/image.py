"""Build the API image on this machine: ``python -m devstack.image`` (``make image``).

There is no registry to pull ``debian:bookworm-slim`` from here, but Debian's archive is reachable. So the
base is made by mmdebstrap from the same Debian packages, the way the official slim image is made (minbase,
the slim image's dpkg path excludes and apt settings), imported into podman, and put in place of the
Dockerfile's first ``FROM`` with ``podman build --from``. Everything after that line is the Dockerfile as
the release pipeline builds it. docs/image.md says what differs between this image and the shipped one.

Both steps are cached in podman's own image store, keyed by their inputs: the base by its recipe, the
image by the base, the Dockerfile, its ignore file and every file of the build context. A run whose inputs
did not change builds nothing and prints the same reference.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = REPO_ROOT / "app" / "Dockerfile"
DOCKERIGNORE = REPO_ROOT / "app" / "Dockerfile.dockerignore"
CONTEXT_DIR = "app"
"""The only directory the ignore file lets into the build context."""

BASE_REPOSITORY = "localhost/nexus-base"
IMAGE_REPOSITORY = "localhost/nexus-api"
LOCK_FILE = Path(tempfile.gettempdir()) / "nexus-image-build.lock"

PODMAN = ("podman", "--runtime", "runc")
"""crun, podman's default here, refuses this machine's hybrid cgroups; runc works (notes in docs/image.md)."""
ULIMITS = ("--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1000:1000")
"""podman asks for more than the machine's hard limits by default, and the container then fails to start."""

SUITE = "bookworm"
MIRRORS = (
    "deb http://deb.debian.org/debian bookworm main",
    "deb http://deb.debian.org/debian bookworm-updates main",
    "deb http://deb.debian.org/debian-security bookworm-security main",
)
SLIM_DPKG_OPTIONS = (
    # The slim variant's path excludes: no documentation, manuals or translations (copyright files stay).
    "path-exclude=/usr/share/doc/*",
    "path-include=/usr/share/doc/*/copyright",
    "path-exclude=/usr/share/man/*",
    "path-exclude=/usr/share/groff/*",
    "path-exclude=/usr/share/info/*",
    "path-exclude=/usr/share/lintian/*",
    "path-exclude=/usr/share/linda/*",
    "path-exclude=/usr/share/locale/*",
)
IMAGE_APT_OPTIONS = (
    # The apt settings the official Debian images carry (/etc/apt/apt.conf.d/docker-*): no binary package
    # caches, compressed lists, no translations.
    'Dir::Cache::pkgcache ""',
    'Dir::Cache::srcpkgcache ""',
    'Acquire::GzipIndexes "true"',
    'Acquire::Languages "none"',
    'Apt::AutoRemove::SuggestsImportant "false"',
    # This machine's archive mirror may serve a frozen snapshot whose Release files have expired.
    'Acquire::Check-Valid-Until "false"',
)
BUILD_FLAGS = (
    "--pull=never",
    # apt and pip inside the build reach Debian's archive and PyPI through the host's network.
    "--network",
    "host",
    # Docker's format keeps HEALTHCHECK (OCI has no field for it).
    "--format",
    "docker",
)
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
ARCHIVE_ENV = "NEXUS_IMAGE_ARCHIVE"
"""When set, the path of an image archive (``docker save``) to load and use instead of building: CI builds
the image once with BuildKit, as it ships, and the tests run that very image (.github/workflows/tests.yml)."""


@dataclass(frozen=True, slots=True)
class Built:
    """The outcome of one ``build``: the image reference, its base, and what was (re)built."""

    image: str
    base: str
    built_base: bool
    built_image: bool
    seconds: float


def mmdebstrap_command(target: Path) -> list[str]:
    """mmdebstrap of a slim bookworm root filesystem as a tarball."""
    command = ["mmdebstrap", "--variant=minbase", "--mode=root", "--format=tar", "--quiet"]
    command += [f"--dpkgopt={option}" for option in SLIM_DPKG_OPTIONS]
    command += [f"--aptopt={option}" for option in IMAGE_APT_OPTIONS]
    return [*command, SUITE, str(target), *MIRRORS]


def base_reference() -> str:
    """The base image's tag: a digest of its recipe (the mmdebstrap command without the target)."""
    recipe = json.dumps(mmdebstrap_command(Path("rootfs.tar")))
    return f"{BASE_REPOSITORY}:{SUITE}-{_digest([recipe.encode()])}"


def context_files(root: Path = REPO_ROOT) -> list[Path]:
    """The files of the build context (what app/Dockerfile.dockerignore lets in), sorted."""
    files = []
    for path in sorted((root / CONTEXT_DIR).rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            files.append(path)
    return files


def image_reference(base: str, root: Path = REPO_ROOT) -> str:
    """The image's tag: a digest of its base, the Dockerfile, the ignore file, the context and the flags."""
    parts = [base.encode(), json.dumps(BUILD_FLAGS).encode()]
    for path in [root / DOCKERFILE.relative_to(REPO_ROOT), root / DOCKERIGNORE.relative_to(REPO_ROOT)]:
        parts.append(path.read_bytes())
    for path in context_files(root):
        parts += [str(path.relative_to(root)).encode(), path.read_bytes()]
    return f"{IMAGE_REPOSITORY}:{_digest(parts)}"


def _digest(parts: list[bytes]) -> str:
    hasher = hashlib.sha256()
    for part in parts:
        hasher.update(len(part).to_bytes(8, "big"))
        hasher.update(part)
    return hasher.hexdigest()[:16]


def image_exists(reference: str) -> bool:
    return subprocess.run([*PODMAN, "image", "exists", reference], check=False).returncode == 0


@contextmanager
def _build_lock() -> Iterator[None]:
    """One build at a time on this machine (make image and a test run may overlap)."""
    with LOCK_FILE.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _run(command: list[str], log: Callable[[str], None]) -> None:
    log("$ " + " ".join(command))
    result = subprocess.run(command, stdout=sys.stderr, stderr=sys.stderr, check=False)
    if result.returncode != 0:
        raise SystemExit(f"image: `{' '.join(command[:4])} ...` failed with exit code {result.returncode}")


def ensure_base(log: Callable[[str], None]) -> tuple[str, bool]:
    reference = base_reference()
    if image_exists(reference):
        return reference, False
    with tempfile.TemporaryDirectory(prefix="nexus-base-", dir="/var/tmp") as work:
        tarball = Path(work) / "rootfs.tar"
        _run(mmdebstrap_command(tarball), log)
        _run([*PODMAN, "import", "--quiet", str(tarball), reference], log)
    return reference, True


def _build_home(work: Path) -> Path:
    """A stand-in for /root during the build: this machine's CA bundle and a pip config that uses it.

    Mounted over the base's (empty) /root, so that pip reaches PyPI through this machine's TLS setup and
    nothing of it lands in a layer; the release pipeline's build needs none of it.
    """
    home = work / "root"
    (home / ".config" / "pip").mkdir(parents=True)
    home.chmod(0o700)
    if HOST_CA_BUNDLE.exists():
        shutil.copyfile(HOST_CA_BUNDLE, home / "ca.crt")
        (home / ".config" / "pip" / "pip.conf").write_text("[global]\ncert = /root/ca.crt\n")
    return home


def build_command(base: str, reference: str, home: Path, root: Path = REPO_ROOT) -> list[str]:
    return [
        *PODMAN,
        "build",
        *BUILD_FLAGS,
        "--from",
        base,
        "--volume",
        f"{home}:/root",
        "--file",
        str(root / DOCKERFILE.relative_to(REPO_ROOT)),
        "--tag",
        reference,
        str(root),
    ]


def load_archive(archive: Path, log: Callable[[str], None]) -> Built:
    """The image of a ``docker save`` archive, loaded into podman's store."""
    started = time.monotonic()
    log(f"loading {archive} ({ARCHIVE_ENV})")
    result = subprocess.run(
        [*PODMAN, "load", "--input", str(archive)], capture_output=True, text=True, timeout=600, check=False
    )
    if result.returncode != 0:
        raise SystemExit(f"image: podman load {archive} failed: {result.stderr.strip()}")
    # "Loaded image: REF" (or "Loaded image(s): REF[,REF]")
    loaded = [
        line.split(":", 1)[1].strip() for line in result.stdout.splitlines() if line.startswith("Loaded")
    ]
    if not loaded:
        raise SystemExit(f"image: podman load {archive} named no image: {result.stdout.strip()}")
    reference = loaded[-1].split(",")[0].strip()
    return Built(reference, "(from the archive)", False, False, time.monotonic() - started)


def image_id(reference: str) -> str:
    """The image's id: the digest of its config, which names every layer's content (kept by save and load)."""
    result = subprocess.run(
        [*PODMAN, "image", "inspect", "--format", "{{.Id}}", reference],
        capture_output=True,
        text=True,
        check=True,
    )
    return "sha256:" + result.stdout.strip().removeprefix("sha256:")


def build(log: Callable[[str], None] = lambda message: print(f"image: {message}", file=sys.stderr)) -> Built:
    """The base, then the image, each only when its inputs changed; or the archive in $NEXUS_IMAGE_ARCHIVE."""
    archive = os.environ.get(ARCHIVE_ENV)
    if archive:
        return load_archive(Path(archive), log)
    for tool in ("podman", "mmdebstrap", "runc"):
        if shutil.which(tool) is None:
            raise SystemExit(f"image: {tool} is missing; `make setup` installs it")
    started = time.monotonic()
    with _build_lock():
        base, built_base = ensure_base(log)
        reference = image_reference(base)
        built_image = False
        if not image_exists(reference):
            with tempfile.TemporaryDirectory(prefix="nexus-image-") as work:
                _run(build_command(base, reference, _build_home(Path(work))), log)
            built_image = True
    return Built(reference, base, built_base, built_image, time.monotonic() - started)


def image_size_bytes(reference: str) -> int:
    result = subprocess.run(
        [*PODMAN, "image", "inspect", "--format", "{{.Size}}", reference],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(result.stdout.strip())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.image", description=__doc__.splitlines()[0])
    parser.parse_args(argv)
    result = build()
    what = "built" if result.built_image else "cached"
    size = image_size_bytes(result.image) / 1_000_000
    print(
        f"image: {what} in {result.seconds:.1f} s (base {'built' if result.built_base else 'cached'}: "
        f"{result.base}), {size:.0f} MB, id {image_id(result.image)}",
        file=sys.stderr,
        flush=True,
    )
    print(result.image, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())


# ------------------------------------------------------------------ running it as a pod spec says


@dataclass(frozen=True, slots=True)
class PodRun:
    """How to run one container of a rendered pod spec with podman: flags, command, env and timings."""

    flags: tuple[str, ...]
    command: tuple[str, ...]
    env: dict[str, str]
    grace_seconds: int
    pre_stop_seconds: int
    run_as_non_root: bool
    probes: dict[str, str]
    """Probe kind (startupProbe, livenessProbe, readinessProbe) -> HTTP path."""


_CONTAINER_CONTEXT_KEYS = frozenset(
    {
        "runAsNonRoot",
        "runAsUser",
        "runAsGroup",
        "readOnlyRootFilesystem",
        "allowPrivilegeEscalation",
        "privileged",
        "capabilities",
        "seccompProfile",
    }
)
_POD_CONTEXT_KEYS = frozenset({"runAsNonRoot", "runAsUser", "runAsGroup", "fsGroup", "seccompProfile"})
_QUANTITY_UNITS = {"Ki": 1024, "Mi": 1024**2, "Gi": 1024**3, "k": 1000, "M": 1000**2, "G": 1000**3}


def _quantity_bytes(quantity: str) -> int:
    for unit, factor in _QUANTITY_UNITS.items():
        if quantity.endswith(unit):
            return int(quantity[: -len(unit)]) * factor
    return int(quantity)


def _unsupported(where: str, keys: set[str]) -> None:
    if keys:
        raise ValueError(
            f"{where}: no podman equivalent known for {sorted(keys)}; teach devstack.image.pod_run_flags"
        )


def pod_run(pod_spec: dict[str, object], container_name: str) -> PodRun:
    """podman run flags for ``container_name`` of a Kubernetes pod spec (camelCase, as rendered).

    Strict on purpose: a security setting it cannot translate is an error, so that a manifest change either
    reaches the container the tests run or fails them. The container's securityContext overrides the pod's,
    as in Kubernetes. Not translated: resources (cgroup limits need privileges this machine lacks), ports
    (the container shares the host's network; NEXUS_PORT chooses the port).
    """
    containers = pod_spec["containers"]
    assert isinstance(containers, list)
    container = next(c for c in containers if c["name"] == container_name)
    pod_context = dict(pod_spec.get("securityContext") or {})  # type: ignore[call-overload]
    context = dict(container.get("securityContext") or {})
    _unsupported("pod securityContext", set(pod_context) - _POD_CONTEXT_KEYS)
    _unsupported(f"container {container_name} securityContext", set(context) - _CONTAINER_CONTEXT_KEYS)
    effective = {**{k: v for k, v in pod_context.items() if k != "fsGroup"}, **context}

    flags: list[str] = []
    if effective.get("readOnlyRootFilesystem"):
        # podman's --read-only alone mounts tmpfs on /tmp, /var/tmp and /run; Kubernetes mounts nothing.
        flags += ["--read-only", "--read-only-tmpfs=false"]
    if "runAsUser" in effective:
        flags += ["--user", f"{effective['runAsUser']}:{effective.get('runAsGroup', effective['runAsUser'])}"]
    if "fsGroup" in pod_context:
        flags += ["--group-add", str(pod_context["fsGroup"])]
    if effective.get("privileged"):
        flags.append("--privileged")
    if effective.get("allowPrivilegeEscalation") is False:
        flags += ["--security-opt", "no-new-privileges"]
    capabilities = dict(effective.get("capabilities") or {})
    _unsupported("capabilities", set(capabilities) - {"drop", "add"})
    for capability in capabilities.get("drop", []):
        flags += ["--cap-drop", capability]
    for capability in capabilities.get("add", []):
        flags += ["--cap-add", capability]
    seccomp = dict(effective.get("seccompProfile") or {"type": "RuntimeDefault"})
    if seccomp != {"type": "RuntimeDefault"}:  # podman's default profile is the runtime's default
        _unsupported("seccompProfile", {str(seccomp)})

    volumes = {v["name"]: v for v in pod_spec.get("volumes") or []}  # type: ignore[attr-defined]
    for mount in container.get("volumeMounts") or []:
        volume = volumes[mount["name"]]
        _unsupported(f"volume {mount['name']}", set(volume) - {"name", "emptyDir"})
        size = volume["emptyDir"].get("sizeLimit")
        options = "rw,mode=1777" + (f",size={_quantity_bytes(size)}" if size else "")
        flags += ["--tmpfs", f"{mount['mountPath']}:{options}"]

    env: dict[str, str] = {}
    for item in container.get("env") or []:
        _unsupported(f"env {item['name']}", set(item) - {"name", "value"})
        env[item["name"]] = item["value"]
    probes = {
        kind: container[kind]["httpGet"]["path"]
        for kind in ("startupProbe", "livenessProbe", "readinessProbe")
        if kind in container
    }
    pre_stop = (container.get("lifecycle") or {}).get("preStop", {}).get("sleep", {}).get("seconds", 0)
    grace = pod_spec.get("terminationGracePeriodSeconds", 30)
    assert isinstance(grace, int)
    return PodRun(
        flags=tuple(flags),
        command=(*container.get("command", ()), *container.get("args", ())),
        env=env,
        grace_seconds=grace,
        pre_stop_seconds=int(pre_stop),
        run_as_non_root=bool(effective.get("runAsNonRoot")),
        probes=probes,
    )


def run_command(
    image: str,
    run: PodRun,
    *,
    name: str,
    env: dict[str, str],
    command: tuple[str, ...] | None = None,
    read_only_files: tuple[Path, ...] = (),
) -> list[str]:
    """``podman run --detach`` of ``image`` with a pod's settings, on the host's network, ``env`` added, and
    ``read_only_files`` of the host mounted read-only at the same paths (the devstack's CA certificate, which
    ``NEXUS_DB_CA_BUNDLE`` names: in AWS the image's own bundle)."""
    environment = {**env, **run.env}
    env_flags = [flag for key, value in sorted(environment.items()) for flag in ("--env", f"{key}={value}")]
    mount_flags = [flag for path in read_only_files for flag in ("--volume", f"{path}:{path}:ro")]
    return [
        *PODMAN,
        "run",
        "--detach",
        "--name",
        name,
        "--network",
        "host",
        # Kubernetes ignores the image's HEALTHCHECK (it has probes); podman would need systemd timers.
        "--no-healthcheck",
        *ULIMITS,
        *run.flags,
        *env_flags,
        *mount_flags,
        image,
        *(command if command is not None else run.command),
    ]
