"""Limits of SageMaker's deployment guardrails (API reference: BlueGreenUpdatePolicy, TrafficRoutingConfig)."""

from __future__ import annotations

CANARY_PERCENT = (1, 50)  # "The canary size must be at most 50% of the fleet"
LINEAR_STEP_PERCENT = (10, 50)  # "between 10% and 50% of the fleet"
WAIT_INTERVAL_S = (0, 3600)  # TrafficRoutingConfig.WaitIntervalInSeconds
TERMINATION_WAIT_S = (0, 3600)  # BlueGreenUpdatePolicy.TerminationWaitInSeconds
MAXIMUM_EXECUTION_TIMEOUT_S = (600, 28_800)  # BlueGreenUpdatePolicy.MaximumExecutionTimeoutInSeconds
