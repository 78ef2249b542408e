"""The k-means training algorithm's own check of its hyperparameters, and their values with AWS's defaults.

Names, types, ranges and defaults from the developer guide's "K-Means Hyperparameters" page; the defaults
match the algorithm's own `default-input.json` as its training log prints it (sagemaker-python-sdk#2815),
which also carries `force_dense` (the SDK's KMeans estimator always sends `force_dense=True`). The algorithm
fails the job, not the API call, with a `ClientError: ... (caused by ValidationError)` FailureReason; the words
for missing required hyperparameters are AWS's own (kubeflow/pipelines#1370), the others follow that form.
`auto` values are not documented; what they evaluate to is what a real job's log shows
(`aws_facts.kmeans_training.AUTO_EXTRA_CENTER_FACTOR`, `AUTO_LOCAL_LLOYD_NUM_TRIALS`: 10 and 10, seen for k=8
only, used for every k).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aws_facts.kmeans_training import (
    AUTO_EXTRA_CENTER_FACTOR,
    AUTO_LOCAL_LLOYD_NUM_TRIALS,
    HYPERPARAMETERS,
    REQUIRED,
)
from local_aws.jobs.lifecycle import JobFailedError

AUTO = "auto"
# Names, what each allows and AWS's defaults have one home, shared with the CLI's check before a job starts.
DEFAULTS: dict[str, str] = {name: default for name, (_, _, default) in HYPERPARAMETERS.items() if default is not None}
KNOWN = frozenset(HYPERPARAMETERS)


@dataclass(frozen=True)
class KMeansHyperparameters:
    """Every hyperparameter of one job, validated, `auto` resolved."""

    k: int
    feature_dim: int
    mini_batch_size: int
    epochs: int
    init_method: str
    extra_center_factor: int
    half_life_time_size: int
    local_lloyd_init_method: str
    local_lloyd_max_iter: int
    local_lloyd_num_trials: int
    local_lloyd_tol: float
    eval_metrics: tuple[str, ...]

    @property
    def centres_per_instance(self) -> int:
        """K = k x extra_center_factor: the centres each instance keeps while it streams."""
        return self.k * self.extra_center_factor


def _failure(message: str) -> JobFailedError:
    return JobFailedError(f"ClientError: {message} (caused by ValidationError)")


def _auto_or_int(text: str) -> int | None:
    return None if text == AUTO else int(text)


def _metrics(text: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(json.loads(text)))


# How each value, once allowed, is read.
READERS: dict[str, Callable[[str], Any]] = {
    "k": int,
    "feature_dim": int,
    "mini_batch_size": int,
    "epochs": int,
    "init_method": str,
    "extra_center_factor": _auto_or_int,
    "half_life_time_size": int,
    "local_lloyd_init_method": str,
    "local_lloyd_max_iter": int,
    "local_lloyd_num_trials": _auto_or_int,
    "local_lloyd_tol": float,
    "eval_metrics": _metrics,
    "force_dense": lambda text: text.lower() == "true",
    # The algorithm's internal settings (its default-input.json): accepted, with nothing to change here.
    **{name: str for name in HYPERPARAMETERS if name.startswith("_")},
}
assert set(READERS) == KNOWN


def _read(name: str, text: str) -> Any:
    check, allowed, _default = HYPERPARAMETERS[name]
    if not check(text):
        raise _failure(f"Hyperparameter {name}: {text!r} is not {allowed}")
    return READERS[name](text)


def parse(given: Mapping[str, str] | None) -> KMeansHyperparameters:
    """The job's hyperparameters, or JobFailedError with the algorithm's ClientError."""
    given = dict(given or {})
    missing = [name for name in REQUIRED if name not in given]
    if missing:
        names = ", ".join(f"'{name}'" for name in missing)
        raise _failure(f"No value(s) were specified for {names} which are required hyperparameter(s)")
    unknown = sorted(set(given) - KNOWN)
    if unknown:
        raise _failure(f"Additional hyperparameters are not allowed ({', '.join(map(repr, unknown))} was unexpected)")
    values = {name: _read(name, text) for name, text in {**DEFAULTS, **given}.items()}
    factor = values["extra_center_factor"]
    trials = values["local_lloyd_num_trials"]
    return KMeansHyperparameters(
        k=values["k"],
        feature_dim=values["feature_dim"],
        mini_batch_size=values["mini_batch_size"],
        epochs=values["epochs"],
        init_method=values["init_method"],
        extra_center_factor=factor if factor is not None else AUTO_EXTRA_CENTER_FACTOR,
        half_life_time_size=values["half_life_time_size"],
        local_lloyd_init_method=values["local_lloyd_init_method"],
        local_lloyd_max_iter=values["local_lloyd_max_iter"],
        local_lloyd_num_trials=trials if trials is not None else AUTO_LOCAL_LLOYD_NUM_TRIALS,
        local_lloyd_tol=values["local_lloyd_tol"],
        eval_metrics=values["eval_metrics"],
    )
