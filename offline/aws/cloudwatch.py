"""CloudWatch: log groups and metric alarms."""

from __future__ import annotations

from typing import Any

from ..cloud import Ctx, Emulation, register
from .common import NAME, NAME_OR_PREFIX, get, named_arn


def _log_group(ctx: Ctx) -> dict[str, Any]:
    return {"arn": ctx.arn("logs", f"log-group:{ctx.get('name')}")}


register(
    # CloudWatch
    Emulation(
        type="aws:cloudwatch/logGroup:LogGroup",
        id=get("name"),
        autonames=(NAME_OR_PREFIX,),
        compute=_log_group,
    ),
    Emulation(
        type="aws:cloudwatch/metricAlarm:MetricAlarm",
        id=get("name"),
        autonames=(NAME,),
        compute=named_arn("cloudwatch", "alarm"),
    ),
)
