"""The figures the monitor publishes to CloudWatch, per endpoint and variant: one home for their names.

The stack's alarms (driftaws: contract/drift_monitor.py, stacks/constructs/drift_alarms.py) watch these names in
this namespace with these dimensions. Imports nothing: the CDK app may read it.
"""

from __future__ import annotations

from typing import Any

NAMESPACE = "kmeans-byom/Drift"
ENDPOINT_DIMENSION = "EndpointName"
VARIANT_DIMENSION = "VariantName"

SHARE_PSI = "ClusterSharePSI"  # PSI of the cluster shares against the baseline's
OUTLIER_SHARE = "OutlierShare"  # share of rows beyond their cluster's baseline p99 distance
MAX_DISTANCE_PSI = "MaxClusterDistancePSI"  # the largest PSI of one cluster's distances (clusters with enough rows)
ROWS = "RowsAnalysed"  # rows whose answers were read in the window
DRIFT = "Drift"  # 1 when the report's verdict is drift, else 0


def metric_values(report: dict[str, Any]) -> dict[str, tuple[float, str]]:
    """Metric name -> (value, CloudWatch unit) of one variant's report; with too few rows, the row count only
    (a PSI of a handful of rows is noise, and an alarm should see missing data, not a false figure)."""
    rows = {ROWS: (float(report["rows"]), "Count")}
    if report["verdict"] == "too few rows":
        return rows
    minimum = report["thresholds"]["min_cluster_rows"]
    distance_psis = [
        c["distance_psi"] for c in report["clusters"] if c["distance_psi"] is not None and c["rows"] >= minimum
    ]
    return {
        SHARE_PSI: (float(report["share_psi"]), "None"),
        OUTLIER_SHARE: (float(report["beyond_p99_share"]), "None"),
        MAX_DISTANCE_PSI: (float(max(distance_psis, default=0.0)), "None"),
        DRIFT: (1.0 if report["verdict"] == "drift" else 0.0, "None"),
        **rows,
    }
