"""The k-means training algorithm's own check of its hyperparameters, and their values with AWS's defaults.

Names, types, ranges and defaults from the developer guide's "K-Means Hyperparameters" page; the defaults
match the algorithm's own `default-input.json` as its training log prints it (sagemaker-python-sdk#2815),
which also carries `force_dense` (the SDK's KMeans estimator always sends `force_dense=True`). The algorithm
fails the job, not the API call, with a `ClientError: ... (caused by ValidationError)` FailureReason; the words
for missing required hyperparameters are AWS's own (kubeflow/pipelines#1370), the others follow that form.
`auto` values are not documented: `extra_center_factor=auto` is ceil(2 log2 k), at least 4 (with
`init_method=random`, fewer extra centres often leave a cluster uncovered), and
`local_lloyd_num_trials=auto` is 10 trials; that choice is ours.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from local_aws.jobs.lifecycle import JobFailedError

REQUIRED = ("k", "feature_dim")
AUTO = "auto"
INIT_METHODS = ("random", "kmeans++")
EVAL_METRICS = ("msd", "ssd")
AUTO_TRIALS = 10
DEFAULTS: dict[str, str] = {
    "init_method": "random",
    "mini_batch_size": "5000",
    "epochs": "1",
    "extra_center_factor": AUTO,
    "local_lloyd_max_iter": "300",
    "local_lloyd_tol": "0.0001",
    "local_lloyd_init_method": "kmeans++",
    "local_lloyd_num_trials": AUTO,
    "half_life_time_size": "0",
    "eval_metrics": '["msd"]',
    "force_dense": "true",
}
KNOWN = frozenset((*REQUIRED, *DEFAULTS))


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


def _positive_int(name: str, text: str) -> int:
    return _int_at_least(name, text, 1, "a positive integer")


def _non_negative_int(name: str, text: str) -> int:
    return _int_at_least(name, text, 0, "a non-negative integer")


def _int_at_least(name: str, text: str, low: int, what: str) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        value = low - 1
    if value < low or not text.strip().lstrip("+").isdigit():
        raise _failure(f"Hyperparameter {name}: {text!r} is not {what}")
    return value


def _one_of(choices: tuple[str, ...]) -> Callable[[str, str], str]:
    def check(name: str, text: str) -> str:
        if text not in choices:
            raise _failure(f"Hyperparameter {name}: {text!r} is not one of {list(choices)}")
        return text

    return check


def _auto_or_positive_int(name: str, text: str) -> int | None:
    return None if text.strip() == AUTO else _positive_int(name, text)


def _tolerance(name: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0.0 <= value <= 1.0:
        raise _failure(f"Hyperparameter {name}: {text!r} is not a float in [0, 1]")
    return value


def _metrics(name: str, text: str) -> tuple[str, ...]:
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if not isinstance(value, list) or not value or any(item not in EVAL_METRICS for item in value):
        raise _failure(f'Hyperparameter {name}: {text!r} is not a JSON list of "msd" and/or "ssd"')
    return tuple(dict.fromkeys(value))


def _boolean(name: str, text: str) -> bool:
    if text.lower() not in ("true", "false"):
        raise _failure(f"Hyperparameter {name}: {text!r} is not true or false")
    return text.lower() == "true"


PARSERS: dict[str, Callable[[str, str], Any]] = {
    "k": _positive_int,
    "feature_dim": _positive_int,
    "mini_batch_size": _positive_int,
    "epochs": _positive_int,
    "init_method": _one_of(INIT_METHODS),
    "extra_center_factor": _auto_or_positive_int,
    "half_life_time_size": _non_negative_int,
    "local_lloyd_init_method": _one_of(INIT_METHODS),
    "local_lloyd_max_iter": _positive_int,
    "local_lloyd_num_trials": _auto_or_positive_int,
    "local_lloyd_tol": _tolerance,
    "eval_metrics": _metrics,
    "force_dense": _boolean,
}
assert set(PARSERS) == KNOWN


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
    values = {name: PARSERS[name](name, text) for name, text in {**DEFAULTS, **given}.items()}
    factor = values["extra_center_factor"]
    trials = values["local_lloyd_num_trials"]
    return KMeansHyperparameters(
        k=values["k"],
        feature_dim=values["feature_dim"],
        mini_batch_size=values["mini_batch_size"],
        epochs=values["epochs"],
        init_method=values["init_method"],
        extra_center_factor=factor if factor is not None else max(4, math.ceil(2 * math.log2(max(values["k"], 2)))),
        half_life_time_size=values["half_life_time_size"],
        local_lloyd_init_method=values["local_lloyd_init_method"],
        local_lloyd_max_iter=values["local_lloyd_max_iter"],
        local_lloyd_num_trials=trials if trials is not None else AUTO_TRIALS,
        local_lloyd_tol=values["local_lloyd_tol"],
        eval_metrics=values["eval_metrics"],
    )
