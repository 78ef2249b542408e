"""Readers at Arrow's C++ speed: big CSV request bodies, and many JSON answers at once.

They need pyarrow and numpy only, which both their users have: the runtime (the project's environment), and the
drift monitor's processing job on SageMaker's scikit-learn image, which installs pyarrow (aws/sagemaker-scikit-learn-
container `docker/1.2-1/base/Dockerfile.cpu`, `conda install pyarrow`; aws_facts.processing_image). Arrow parses
floats correctly rounded, so each value reads exactly as np.loadtxt and `float()` read it
(tests/wire/test_csv_readers.py, tests/wire/test_arrow_readers.py).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.csv as pa_csv

from wire.errors import PayloadError
from wire.portable import CLOSEST_CLUSTER, DISTANCE_TO_CLUSTER, Answers


def read_csv_arrow(body: bytes) -> npt.NDArray[np.float32]:
    """CSV rows, each value to the nearest float64 then float32; the GIL released, so requests parse side by side."""
    columns = [str(index) for index in range(_first_row(body).count(b",") + 1)]
    try:
        table = pa_csv.read_csv(
            pa.py_buffer(body),
            read_options=pa_csv.ReadOptions(column_names=columns),
            convert_options=pa_csv.ConvertOptions(column_types=dict.fromkeys(columns, pa.float64())),
        )
    except pa.ArrowInvalid as error:
        raise PayloadError(f"malformed CSV: {str(error).splitlines()[0]}") from error
    rows = np.empty((table.num_rows, len(columns)), dtype=np.float32)
    for index, column in enumerate(table.columns):
        rows[:, index] = column.to_numpy()  # an empty field is null, hence NaN, which the runtime refuses
    return rows


def _first_row(body: bytes) -> bytes:
    return body.lstrip(b"\r\n").split(b"\n", 1)[0]


def read_json_answers_batch(bodies: list[str], quote: str = '"') -> Answers | None:
    """Many JSON answers in the container's layout at once: one Arrow parse of all their numbers, no object per row.

    The container writes `{"predictions": [{"distance_to_cluster": d, "closest_cluster": c}, ...]}` (wire.answers,
    the k-means docs' example). One translation turns every prediction into a line whose third and fifth
    `:`-separated fields are d and c, and Arrow's CSV reader converts only those two columns; `quote` is `\\"` for
    answers still escaped inside a capture record's JSON string. Counts of each key in its place check the layout
    first. Returns None when any answer is laid out otherwise (another key order, spacing or key, a null): read
    those one by one with wire.portable.read_answers, which also says precisely what is wrong.
    """
    text = "".join(bodies).encode()
    rows = _rows_in_layout(text, len(bodies), quote.encode())
    if rows is None:
        return None
    if not rows:
        return np.zeros(0), np.zeros(0)
    try:
        table = pa_csv.read_csv(pa.py_buffer(text.translate(_PREDICTION_LINES)), **_PREDICTION_OPTIONS)
    except pa.ArrowInvalid:
        return None
    if table.num_rows != rows:
        return None
    return table.column("closest").to_numpy(), table.column("distance").to_numpy()


def _rows_in_layout(text: bytes, answers: int, q: bytes) -> int | None:
    """The number of predictions when each answer has one `predictions` key and each prediction the distance
    first, then the cluster, and no other key; None otherwise."""
    rows = text.count(b"{" + q + DISTANCE_TO_CLUSTER.encode() + q + b": ")
    layout = (
        text.count(b"{" + q + b"predictions" + q + b": [") == answers
        and text.count(b", " + q + CLOSEST_CLUSTER.encode() + q + b": ") == rows
        and text.count(b":") == answers + 2 * rows
    )
    return rows if layout else None


# `{"distance_to_cluster": d, "closest_cluster": c}, {...` -> `{"distance_to_cluster": d: "closest_cluster": c\n: {...`
_PREDICTION_LINES = bytes.maketrans(b",}]", b":\n\n")
_PREDICTION_OPTIONS = {
    "read_options": pa_csv.ReadOptions(
        column_names=["answer", "distance_key", "distance", "closest_key", "closest"],
        use_threads=False,  # the monitor's workers each take a core; Arrow's own threads would only contend
        block_size=16 * 2**20,
    ),
    "parse_options": pa_csv.ParseOptions(delimiter=":", quote_char=False),  # JSON's quotes are plain text here
    "convert_options": pa_csv.ConvertOptions(
        include_columns=["distance", "closest"],
        column_types={"distance": pa.float64(), "closest": pa.float64()},
        null_values=[],  # `null` or an empty field is not a number: the exact reader says so
    ),
}
