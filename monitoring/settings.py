"""The monitor's thresholds: settings with conventional defaults, each with its source.

- Population stability index (PSI) of the cluster shares, and of each cluster's distances over the baseline's
  deciles: below 0.1 no significant change, 0.1 to 0.25 a moderate change, 0.25 and above a significant shift
  (the rule of thumb of N. Siddiqi, "Credit Risk Scorecards", Wiley 2006, as reviewed by J. du Pisanie et al., "A
  critical review of existing and new population stability testing procedures in credit risk scoring",
  arXiv:2303.01227, 2023, and B. Yurdakul, "Statistical properties of the population stability index", 2018). The
  monitor warns at `psi_warn` and calls drift at `psi_drift`.
- Rows beyond the baseline's 99th percentile of their cluster's distance: 1 % by construction on the training
  rows. Drift when the share reaches `max_outlier_share` (default 0.05, five times the expected 1 %: with the
  1,000 rows `min_rows` asks for, a one-sided binomial test puts 5 % at z = 12.7, so noise never trips it, while a
  fifth of the traffic landing far from every centroid does).
- PSI needs enough rows in every bin to mean anything: fewer than `min_rows` rows in the window (default 1,000:
  a hundred expected rows in each of ten bins) report "too few rows", not drift; a cluster's distance PSI counts
  only with `min_cluster_rows` (default 100) of its rows.
- Empty bins: a share of 0 is replaced by `psi_epsilon` (1e-4) before the logarithm, as implementations of the PSI
  commonly do (it bounds a bin's term instead of making it infinite).
- Features: the standardised mean difference (Cohen's d, the difference of means over the pooled standard
  deviation) of each feature, the `top_features` largest reported; informational, not a drift rule: a model's
  clusters can hold steady while an unused feature moves, and the distances already see a move that matters.
- Feature sample: the features of one request in `feature_sample_every` (default 20) are read (50,000 rows of a
  million: a mean's standard error is then under 0.5 % of the feature's spread); the cluster shares and distances
  read every answer.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any


@dataclass(frozen=True)
class Thresholds:
    psi_warn: float = 0.1
    psi_drift: float = 0.25
    max_outlier_share: float = 0.05
    min_rows: int = 1000
    min_cluster_rows: int = 100
    psi_epsilon: float = 1e-4
    top_features: int = 5
    feature_sample_every: int = 20

    def with_overrides(self, overrides: dict[str, Any]) -> Thresholds:
        """These thresholds with some replaced (None leaves one as it is); ValueError on a bad value."""
        given = {key: value for key, value in overrides.items() if value is not None}
        updated = replace(self, **given)
        updated.validate()
        return updated

    def validate(self) -> None:
        if not 0 < self.psi_warn <= self.psi_drift:
            raise ValueError(f"--psi-warn {self.psi_warn} and --psi-drift {self.psi_drift}: need 0 < warn <= drift")
        if not 0 < self.max_outlier_share <= 1:
            raise ValueError(f"--max-outlier-share {self.max_outlier_share}: need a share in (0, 1]")
        for name in ("min_rows", "min_cluster_rows", "top_features", "feature_sample_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"--{name.replace('_', '-')} {getattr(self, name)}: need at least 1")

    def to_json(self) -> dict[str, Any]:
        return {field.name: getattr(self, field.name) for field in fields(self)}
