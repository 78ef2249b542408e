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


def read_json_answers_batch(bodies: list[bytes], quote: bytes = b'"') -> Answers | None:
    """Many JSON answers in the container's layout at once: one Arrow parse of all their numbers, no object per row.

    The container writes `{"predictions": [{"distance_to_cluster": d, "closest_cluster": c}, ...]}` (wire.answers,
    the k-means docs' example). One translation turns every prediction into a line of five `:`-separated fields,
    the third d and the fifth c, and Arrow's CSV reader, which refuses a line of any other width, reads them; the
    other three must be the keys in their places (each answer's first line starts with its `predictions` key, one
    per answer), and each answer must open and close as the layout does. `quote` is `\\"` for answers still escaped
    inside a capture record's JSON string. Returns None when any answer is laid out otherwise (another key order,
    spacing or key, a null, no predictions): read those one by one with wire.portable.read_answers, which also says
    precisely what is wrong. One leniency, as the np.loadtxt reader before it: a number JSON would refuse but Arrow
    reads (`+1.5`, `.5`, `01`; `nan` and `inf` are then refused as distances by monitoring.analysis) is read as
    that number; the container never writes one.
    """
    head = b"{" + quote + b"predictions" + quote + b": [{"
    if not all(body.startswith(head) and body.endswith(b"}]}") for body in bodies):
        return None
    try:
        table = pa_csv.read_csv(pa.py_buffer(b"".join(bodies).translate(_PREDICTION_LINES)), **_OPTIONS)
    except pa.ArrowInvalid:
        return None
    if not _keys_in_place(table, quote.decode(), len(bodies)):
        return None
    return table.column("closest").to_numpy(), table.column("distance").to_numpy()


def _keys_in_place(table: pa.Table, q: str, answers: int) -> bool:
    """Every line's key fields are the layout's: `predictions` opens each answer once, then each line's distance
    key (after `[{` on an answer's first line, `{` on the others) and its cluster key."""
    expected: dict[str, dict[str, int | None]] = {  # field -> its allowed values -> how many (None: any number)
        "answer": {"": None, f"{{{q}predictions{q}": answers},
        "distance_key": {f" [{{{q}{DISTANCE_TO_CLUSTER}{q}": answers, f" {{{q}{DISTANCE_TO_CLUSTER}{q}": None},
        "closest_key": {f" {q}{CLOSEST_CLUSTER}{q}": None},
    }
    for name, allowed in expected.items():
        counts = {row["values"]: row["counts"] for row in table.column(name).value_counts().to_pylist()}
        if not set(counts) <= set(allowed):
            return False
        if any(wanted is not None and counts.get(value, 0) != wanted for value, wanted in allowed.items()):
            return False
    return True


# `{"distance_to_cluster": d, "closest_cluster": c}, {...` -> `{"distance_to_cluster": d: "closest_cluster": c\n: {...`
_PREDICTION_LINES = bytes.maketrans(b",}]", b":\n\n")
_COLUMNS = ["answer", "distance_key", "distance", "closest_key", "closest"]
_OPTIONS = {
    "read_options": pa_csv.ReadOptions(
        column_names=_COLUMNS,
        use_threads=False,  # the monitor's workers each take a core; Arrow's own threads would only contend
        block_size=16 * 2**20,
    ),
    "parse_options": pa_csv.ParseOptions(delimiter=":", quote_char=False),  # JSON's quotes are plain text here
    "convert_options": pa_csv.ConvertOptions(
        column_types={name: pa.float64() if name in ("distance", "closest") else pa.string() for name in _COLUMNS},
        null_values=[],  # `null` or an empty field is not a number: the exact reader says so
        strings_can_be_null=False,
    ),
}
