"""The endpoint stack's drift monitor: what the settings and the build say, handed to the two constructs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import aws_kms as kms
from constructs import Construct

from model_build.manifest import BASELINE_FILE_NAME
from monitoring.layout import CODE_PACKAGES
from stacks.constructs.capture import CAPTURE_PREFIX
from stacks.constructs.drift import DriftMonitor, MonitorRun
from stacks.constructs.drift_alarms import DriftAlarms
from stacks.settings import Settings, SettingsError, drift_window_seconds, read_artifact

if TYPE_CHECKING:
    from stacks.constructs.capture import CaptureBucket

# Drift is a finding, not a failed job: monitoring.scheduled runs monitoring.layout.ENTRY_MODULE and exits 0 on drift.
MONITOR_ENTRY = "monitoring.scheduled"


def drift_monitor(
    scope: Construct,
    settings: Settings,
    *,
    endpoint_name: str,
    capture: CaptureBucket,
    key: kms.IKey,
    variants: list[str],
) -> DriftMonitor:
    """The schedule, its job and the alarms on its figures, for every variant the endpoint captures."""
    window = drift_window_seconds(settings.drift_schedule)
    baseline = settings.artifact_dir / BASELINE_FILE_NAME
    if not baseline.is_file():
        raise SettingsError(f"context drift_monitoring: {baseline} not found: the build writes it; build again")
    run = MonitorRun(
        endpoint_name=endpoint_name, variant_names=tuple(variants), window_seconds=window,
        code_packages=CODE_PACKAGES, entry_module=MONITOR_ENTRY, baseline_path=baseline,
        artifact_sha256=read_artifact(settings).artifact_sha256,
    )  # fmt: skip
    monitor = DriftMonitor(
        scope, "DriftMonitor", run=run, schedule_expression=settings.drift_schedule, capture=capture.bucket,
        capture_prefix=CAPTURE_PREFIX, key=key,
    )  # fmt: skip
    DriftAlarms(
        scope, "DriftAlarms", endpoint_name=endpoint_name, variant_names=tuple(variants), period_seconds=window,
        topic_arn=settings.alarm_topic_arn,
    )  # fmt: skip
    return monitor
