"""SageMaker's built-in k-means *training* algorithm: its documented hyperparameters, channels and metrics.

Source: the developer guide's "K-Means Hyperparameters" page (names, which are required, valid values,
defaults), "K-Means Algorithm" (train channel ShardedByS3Key, test channel FullyReplicated, CSV or
RecordIO-protobuf) and "Common Data Formats for Training" (CSV without labels: `text/csv;label_size=0`).
Hyperparameters travel as strings (API CreateTrainingJob, HyperParameters).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Final

TRAIN_CHANNEL: Final = "train"
TEST_CHANNEL: Final = "test"
CSV_CONTENT_TYPE: Final = "text/csv;label_size=0"
RECORDIO_CONTENT_TYPE: Final = "application/x-recordio-protobuf"
TRAINING_LOG_GROUP: Final = "/aws/sagemaker/TrainingJobs"
METRICS: Final = ("test:msd", "test:ssd")  # minimised; reported only with a test channel
REQUIRED: Final = ("k", "feature_dim")


# What `auto` evaluates to. The guide does not say; a real job's log does (sagemaker-python-sdk#2815, k=8,
# feature_dim=7): "'extra_center_factor' was set to 'auto', evaluated to 10." ("shrinking 80 centers into 8"),
# and ten "local kmeans attempt #0..#9" lines for local_lloyd_num_trials=auto. Only that one k was observed:
# we use the same values for every k.
AUTO_EXTRA_CENTER_FACTOR: Final = 10
AUTO_LOCAL_LLOYD_NUM_TRIALS: Final = 10


class HyperparameterError(ValueError):
    """A hyperparameter the k-means algorithm would refuse; the message names it and what is allowed."""


def _positive_int(text: str) -> bool:
    return bool(re.fullmatch(r"[1-9]\d*", text))


def _non_negative_int(text: str) -> bool:
    return bool(re.fullmatch(r"0|[1-9]\d*", text))


def _positive_int_or_auto(text: str) -> bool:
    return text == "auto" or _positive_int(text)


def _unit_float(text: str) -> bool:
    try:
        value = float(text)
    except ValueError:
        return False
    return 0.0 <= value <= 1.0


def _eval_metrics(text: str) -> bool:
    try:
        metrics = json.loads(text)
    except json.JSONDecodeError:
        return False
    return (
        isinstance(metrics, list)
        and bool(metrics)
        and set(metrics) <= {"msd", "ssd"}
        and len(set(metrics)) == len(metrics)
    )


def _one_of(*allowed: str) -> Callable[[str], bool]:
    return lambda text: text in allowed


# name -> (check, what is allowed, default); the defaults are AWS's, listed for the README and the manifest.
HYPERPARAMETERS: Final[dict[str, tuple[Callable[[str], bool], str, str | None]]] = {
    "feature_dim": (_positive_int, "a positive integer", None),
    "k": (_positive_int, "a positive integer", None),
    "epochs": (_positive_int, "a positive integer", "1"),
    "eval_metrics": (_eval_metrics, 'a JSON list of "msd" and/or "ssd"', '["msd"]'),
    "extra_center_factor": (_positive_int_or_auto, "a positive integer or auto", "auto"),
    "half_life_time_size": (_non_negative_int, "a non-negative integer", "0"),
    "init_method": (_one_of("random", "kmeans++"), "random or kmeans++", "random"),
    "local_lloyd_init_method": (_one_of("random", "kmeans++"), "random or kmeans++", "kmeans++"),
    "local_lloyd_max_iter": (_positive_int, "a positive integer", "300"),
    "local_lloyd_num_trials": (_positive_int_or_auto, "a positive integer or auto", "auto"),
    "local_lloyd_tol": (_unit_float, "a float in [0, 1]", "0.0001"),
    "mini_batch_size": (_positive_int, "a positive integer", "5000"),
    # Not on the page, but in the algorithm's own defaults (its training log prints them) and always sent by the
    # SageMaker Python SDK's KMeans estimator: refusing it would refuse what AWS accepts.
    "force_dense": (_one_of("true", "false", "True", "False"), "true or false", "true"),
    # The algorithm's internal settings, also in its default-input.json as a real job's log prints it
    # (sagemaker-python-sdk#2815), with those defaults. Undocumented: the values allowed are the defaults and
    # what MXNet (which the algorithm runs on) takes for each; the local AWS accepts them and runs unchanged.
    "_disable_wait_to_read": (_one_of("true", "false", "True", "False"), "true or false", "false"),
    "_enable_profiler": (_one_of("true", "false", "True", "False"), "true or false", "false"),
    "_kvstore": (
        _one_of("auto", "local", "device", "dist_sync", "dist_device_sync", "dist_async"),
        "auto, local, device, dist_sync, dist_device_sync or dist_async",
        "auto",
    ),
    "_log_level": (_one_of("debug", "info", "warning", "error", "critical"), "a logging level (info, ...)", "info"),
    "_num_gpus": (lambda text: text == "auto" or _non_negative_int(text), "a non-negative integer or auto", "auto"),
    "_num_kv_servers": (_positive_int_or_auto, "a positive integer or auto", "1"),
    "_num_slices": (_positive_int, "a positive integer", "1"),
    "_tuning_objective_metric": (_one_of("", "test:msd", "test:ssd"), "empty, test:msd or test:ssd", ""),
}


def validate_hyperparameters(values: Mapping[str, str]) -> dict[str, str]:
    """The hyperparameters as AWS takes them (strings), or HyperparameterError on the first bad one."""
    import difflib

    for name, text in values.items():
        if name not in HYPERPARAMETERS:
            close = difflib.get_close_matches(name, sorted(HYPERPARAMETERS), n=1)
            hint = f"; did you mean {close[0]}?" if close else f"; known: {', '.join(sorted(HYPERPARAMETERS))}"
            raise HyperparameterError(f"hyperparameter {name}: not a k-means hyperparameter{hint}")
        check, allowed, _default = HYPERPARAMETERS[name]
        if not check(text):
            raise HyperparameterError(f"hyperparameter {name}={text!r}: must be {allowed}")
    for name in REQUIRED:
        if name not in values:
            raise HyperparameterError(f"hyperparameter {name}: required")
    return dict(values)
