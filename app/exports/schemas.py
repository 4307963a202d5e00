from __future__ import annotations

from typing import Literal

import msgspec

ExportStatus = Literal["queued", "running", "done", "failed"]


class ExportAccepted(msgspec.Struct, frozen=True):
    job_id: str
    status: ExportStatus


class ExportState(msgspec.Struct, frozen=True):
    job_id: str
    status: ExportStatus
    download_url: str | None
    attempts: int
    error: str | None = None
