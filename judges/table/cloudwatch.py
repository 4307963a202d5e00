"""The mapping table's rows for CloudWatch: log groups and metric alarms."""

from __future__ import annotations

from ..shapes import name_value
from .model import PREFIX_EXPANDED, Cfn, Row, Tf, To

ROWS: dict[str, Row] = {
    # --- CloudWatch ---
    "aws:cloudwatch/logGroup:LogGroup": Row(
        Cfn(
            "AWS::Logs::LogGroup",
            {
                "name": To("LogGroupName"),
                "namePrefix": PREFIX_EXPANDED,
                "retentionInDays": To("RetentionInDays"),
                "kmsKeyId": To("KmsKeyId"),
                "logGroupClass": To("LogGroupClass"),
                "tags": To("Tags"),
            },
            name=("name", "LogGroupName"),
            tags="list",
        ),
        Tf("aws_cloudwatch_log_group"),
    ),
    "aws:cloudwatch/metricAlarm:MetricAlarm": Row(
        Cfn(
            "AWS::CloudWatch::Alarm",
            {
                "name": To("AlarmName"),
                "alarmActions": To("AlarmActions"),
                "okActions": To("OKActions"),
                "insufficientDataActions": To("InsufficientDataActions"),
                "alarmDescription": To("AlarmDescription"),
                "comparisonOperator": To("ComparisonOperator"),
                "datapointsToAlarm": To("DatapointsToAlarm"),
                "dimensions": To("Dimensions", name_value),
                "evaluationPeriods": To("EvaluationPeriods"),
                "metricName": To("MetricName"),
                "namespace": To("Namespace"),
                "period": To("Period"),
                "statistic": To("Statistic"),
                "extendedStatistic": To("ExtendedStatistic"),
                "threshold": To("Threshold"),
                "treatMissingData": To("TreatMissingData"),
                "unit": To("Unit"),
                "tags": To("Tags"),
            },
            name=("name", "AlarmName"),
            tags="list",
        ),
        Tf("aws_cloudwatch_metric_alarm", maps=frozenset({"tags", "dimensions"})),
    ),
}
