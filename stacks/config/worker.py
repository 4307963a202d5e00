"""``nexus:worker``: the queue worker Deployment (``python -m app.worker``) and its HPA."""

from __future__ import annotations

from pydantic import Field, model_validator

from stacks.config.base import ConfigModel
from stacks.config.sections import check_min_max


class WorkerConfig(ConfigModel):
    """``nexus:worker``: the export worker pods. They run the API's image with another command."""

    min_replicas: int = Field(default=1, ge=1, le=1000)
    """HPA minimum (at least one, so queued jobs always have a consumer)."""
    max_replicas: int = Field(default=4, ge=1, le=1000)
    """HPA maximum."""
    cpu: int = Field(default=500, ge=100, le=64000)
    """CPU request per pod, millicores (the HPA's utilisation is a percentage of it)."""
    cpu_limit: int | None = Field(default=None, ge=100, le=64000)
    """CPU limit per pod, millicores (default: none, so bursts are not throttled)."""
    memory_mib: int = Field(default=512, ge=64, le=262144)
    """Memory request and limit per pod, MiB (equal, so the pod is never the first evicted on pressure)."""
    target_cpu_utilization: int = Field(default=70, ge=10, le=100)
    """HPA CPU target, percent of the request."""
    concurrency: int = Field(default=8, ge=1, le=256)
    """Jobs one worker pod runs at once (NEXUS_WORKER_CONCURRENCY)."""

    @model_validator(mode="after")
    def _bounds(self) -> WorkerConfig:
        check_min_max("minReplicas", self.min_replicas, "maxReplicas", self.max_replicas)
        if self.cpu_limit is not None:
            check_min_max("cpu", self.cpu, "cpuLimit", self.cpu_limit)
        return self
