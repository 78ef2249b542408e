"""Faster readers for `python -m monitoring drift`, which runs in the project's own environment (orjson installed).

The processing job's image has no orjson, so monitoring.reading defaults to wire.portable's numpy reader; the CLI
passes this one instead: same answers (tests/monitoring/test_accelerated.py compares the reports of both). Arrow's
CSV reader was tried for the sampled requests: at 64 columns its set-up cost more than np.loadtxt's parse.
"""

from __future__ import annotations

from operator import itemgetter

import numpy as np
import orjson

from wire.portable import CLOSEST_CLUSTER, DISTANCE_TO_CLUSTER, Answers

_CLOSEST = itemgetter(CLOSEST_CLUSTER)
_DISTANCE = itemgetter(DISTANCE_TO_CLUSTER)


def read_json_answers_orjson(bodies: list[str], quote: str = '"') -> Answers | None:
    """JSON answers, read by orjson; escaped ones (`quote` `\\\\"`) are unescaped by orjson in one call first.

    None when any is not `{"predictions": [{"closest_cluster": c, "distance_to_cluster": d}, ...]}`: the caller then
    reads them one by one for a precise error.
    """
    try:
        texts = orjson.loads("[" + ",".join(f'"{body}"' for body in bodies) + "]") if quote != '"' else bodies
        closest: list[float] = []
        distances: list[float] = []
        for text in texts:
            predictions = orjson.loads(text)["predictions"]
            closest += map(_CLOSEST, predictions)
            distances += map(_DISTANCE, predictions)
        return np.array(closest, dtype=np.float64), np.array(distances, dtype=np.float64)
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return None
