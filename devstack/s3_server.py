"""The S3-compatible server (moto) and the uploads bucket on it."""

from __future__ import annotations

from devstack import configs
from devstack.procs import StartError, http_status, wait_until
from devstack.runtime import HEALTH_TIMEOUT, Runtime
from devstack.topology import PortPlan


def endpoint(ports: PortPlan) -> str:
    return f"http://127.0.0.1:{ports.s3}"


def start(rt: Runtime) -> None:
    """Start moto, wait until it answers, and create the app's bucket."""
    base = endpoint(rt.ports)
    cmd = configs.s3_command(port=rt.ports.s3)
    service = rt.spawn("s3", "s3", rt.ports.s3, cmd, as_service_user=False, marker="moto.server")
    wait_until(
        lambda: http_status(base + "/") == 200,
        what="s3 (moto)",
        timeout=HEALTH_TIMEOUT,
        proc=service.proc,
        log_path=service.log_path,
    )
    bucket = rt.app_env["NEXUS_S3_BUCKET"]
    # moto does not check signatures: a plain PUT creates the bucket (us-east-1 needs no location).
    status = http_status(f"{base}/{bucket}", method="PUT")
    if status != 200:
        raise StartError(f"creating bucket {bucket} on moto answered {status}")
