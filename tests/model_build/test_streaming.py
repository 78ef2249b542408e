"""`--engine streaming`: mini-batch k-means over chunks, bounded memory, the same build folder as every engine."""

from __future__ import annotations

import hashlib
import json
import threading
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from sklearn.cluster import KMeans, MiniBatchKMeans

from model_build import chunks, streaming
from model_build.cli import main
from model_build.errors import BuildError
from model_build.reference import ReferenceSet
from model_build.streaming import Reservoir, StreamingOptions, squared_distance_sum, train_streaming
from recordio.codec import encode_rows
from tests.conftest import run_module

OUTPUT_FILES = ["baseline.json", "centroids.png", "manifest.json", "model.tar.gz", "reference.npz"]


def blobs(count: int, features: int = 16, clusters: int = 5, seed: int = 0) -> npt.NDArray[np.float32]:
    """Well-separated clusters, rows in random order."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 10, size=(clusters, features))
    picks = rng.integers(0, clusters, size=count)
    return (centres[picks] + rng.normal(0, 1, size=(count, features))).astype(np.float32)


def write_csv(path: Path, rows: npt.NDArray[np.float32]) -> Path:
    np.savetxt(path, rows, fmt="%.9g", delimiter=",")
    return path


def manifest(out: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((out / "manifest.json").read_text())
    return loaded


def test_the_cli_trains_on_a_csv_file_and_writes_the_usual_build_folder(tmp_path: Path) -> None:
    rows = blobs(3000)
    data = write_csv(tmp_path / "rows.csv", rows)
    out = tmp_path / "out"

    result = run_module(
        "model_build", ["--engine", "streaming", "--data", data, "--clusters", "5", "--batch-size", "500", "--out", out]
    )

    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == OUTPUT_FILES
    written = manifest(out)
    assert (written["clusters"], written["feature_dim"]) == (5, 16)
    assert written["training"]["engine"] == "streaming"
    assert (written["training"]["batch_size"], written["training"]["epochs"]) == (500, 1)
    assert written["source"]["rows"] == 3000
    assert written["source"]["files"] == [
        {"path": str(data), "format": "csv", "sha256": hashlib.sha256(data.read_bytes()).hexdigest()}
    ]
    reference = ReferenceSet.from_npz_bytes((out / "reference.npz").read_bytes())
    assert reference.rows.shape == (100, 16)
    assert {row.tobytes() for row in reference.rows} <= {row.tobytes() for row in rows}


def test_streaming_twice_gives_byte_identical_outputs(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "rows.csv", blobs(2000))
    args = ["--engine", "streaming", "--data", str(data), "--clusters", "5", "--batch-size", "300", "--epochs", "2"]

    for out in ("first", "second"):
        assert main([*args, "--out", str(tmp_path / out)]) == 0

    for name in OUTPUT_FILES:
        assert (tmp_path / "first" / name).read_bytes() == (tmp_path / "second" / name).read_bytes(), name


def test_the_trainer_sees_no_chunk_larger_than_the_batch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = write_csv(tmp_path / "rows.csv", blobs(5000))
    asked: list[int] = []
    fitted: list[int] = []
    real_iter_chunks, real_partial_fit = chunks.iter_chunks, MiniBatchKMeans.partial_fit

    def recording_chunks(path: Path, rows: int, **kwargs: Any) -> Iterator[npt.NDArray[np.float32]]:
        asked.append(rows)
        return real_iter_chunks(path, rows, **kwargs)

    def recording_fit(self: MiniBatchKMeans, chunk: npt.NDArray[np.float32], *args: Any, **kwargs: Any) -> Any:
        fitted.append(len(chunk))
        return real_partial_fit(self, chunk, *args, **kwargs)

    monkeypatch.setattr(streaming, "iter_chunks", recording_chunks)
    monkeypatch.setattr(MiniBatchKMeans, "partial_fit", recording_fit)

    train_streaming(StreamingOptions(data, clusters=5, batch_rows=400, epochs=2))

    assert asked
    assert set(asked) == {400}
    assert fitted == ([400] * 12 + [200]) * 2


def test_memory_held_is_bounded_by_the_batch_not_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = blobs(40_000, features=32)  # 5.1 MB as float32
    data = write_csv(tmp_path / "rows.csv", rows)
    del rows
    # Arrow reads a few dozen blocks ahead: a constant, made small here beside the file.
    monkeypatch.setattr(chunks, "CSV_BLOCK_BYTES", 16 * 1024)
    train_streaming(StreamingOptions(data, clusters=5, batch_rows=40_000))  # imports done, not measured

    tracemalloc.start()  # numpy reports its buffers to tracemalloc
    try:
        train_streaming(StreamingOptions(data, clusters=5, batch_rows=1000))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert peak < 40_000 * 32 * 4 / 2, f"peak {peak} bytes"


@pytest.mark.parametrize("kind", ["npy", "recordio", "folder"])
def test_every_input_form_trains_to_the_same_centroids(tmp_path: Path, kind: str) -> None:
    rows = blobs(1200)
    expected = train_streaming(StreamingOptions(write_csv(tmp_path / "rows.csv", rows), 5, seed=4, batch_rows=250))
    if kind == "npy":
        data = tmp_path / "rows.npy"
        np.save(data, rows)
    elif kind == "recordio":
        data = tmp_path / "rows.rec"
        data.write_bytes(encode_rows(rows))
    else:
        data = tmp_path / "parts"
        data.mkdir()
        write_csv(data / "part-0", rows[:700])
        np.save(data / "part-1.npy", rows[700:])

    fitted = train_streaming(StreamingOptions(data, 5, seed=4, batch_rows=250))

    np.testing.assert_array_equal(fitted.centroids, expected.centroids)


def test_streaming_finds_the_solution_kmeans_finds_on_separated_clusters(tmp_path: Path) -> None:
    rows = blobs(6000)
    data = write_csv(tmp_path / "rows.csv", rows)

    fitted = train_streaming(StreamingOptions(data, clusters=5, batch_rows=500, epochs=2))

    best = KMeans(5, n_init=3, random_state=0).fit(rows).inertia_
    assert squared_distance_sum(rows, fitted.centroids) <= 1.02 * best
    assert fitted.training["inertia"] == pytest.approx(best, rel=0.05)  # the progressive estimate


def test_the_centroids_do_not_depend_on_the_thread_count(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "rows.csv", blobs(3000, features=40, clusters=8))

    one, two = (train_streaming(StreamingOptions(data, 8, batch_rows=256, threads=n)) for n in (1, 2))

    assert one.centroids.tobytes() == two.centroids.tobytes()


def test_a_bad_row_met_by_the_reader_thread_fails_the_fit_and_stops_the_thread(tmp_path: Path) -> None:
    data = tmp_path / "late.csv"
    data.write_text("1,2\n3,4\n" * 100 + "5,x\n")

    with pytest.raises(BuildError, match=r"late\.csv: line 201 \(row 201\): column 2: 'x'"):
        train_streaming(StreamingOptions(data, 2, batch_rows=10))  # the seeding sample is the first 30 rows

    assert not [thread for thread in threading.enumerate() if thread.name == "model_build-reader"]


def test_a_failing_fit_stops_the_reader_thread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = write_csv(tmp_path / "rows.csv", blobs(5000))
    monkeypatch.setattr(MiniBatchKMeans, "partial_fit", _fails)

    with pytest.raises(KeyboardInterrupt):
        train_streaming(StreamingOptions(data, 5, batch_rows=100))

    assert not [thread for thread in threading.enumerate() if thread.name == "model_build-reader"]


def _fails(*_: Any) -> None:
    raise KeyboardInterrupt


def test_the_reservoir_keeps_every_row_while_fewer_than_its_size_arrive() -> None:
    reservoir = Reservoir(10, seed=0)
    reservoir.add(np.arange(12, dtype=np.float32).reshape(6, 2))

    np.testing.assert_array_equal(reservoir.sample(), np.arange(12).reshape(6, 2))


def test_the_reservoir_samples_the_stream_uniformly() -> None:
    kept: list[float] = []
    for seed in range(300):
        reservoir = Reservoir(5, seed)
        for start in range(0, 1000, 64):
            reservoir.add(np.arange(start, min(start + 64, 1000), dtype=np.float32)[:, None])
        kept.extend(reservoir.sample()[:, 0])

    counts, _ = np.histogram(kept, bins=4, range=(0, 1000))
    assert len(kept) == 1500
    # 375 in each quarter if uniform: neither the first rows (always offered) nor the last are favoured.
    assert counts.min() > 300, counts
    assert counts.max() < 450, counts


def test_a_streaming_build_compares_and_aligns_like_any_other(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write_csv(tmp_path / "rows.csv", blobs(2000))
    args = ["--engine", "streaming", "--data", str(data), "--clusters", "5", "--batch-size", "400"]
    assert main([*args, "--out", str(tmp_path / "live")]) == 0

    assert main([*args, "--seed", "7", "--align-to", str(tmp_path / "live"), "--out", str(tmp_path / "next")]) == 0
    assert main(["compare", str(tmp_path / "live"), str(tmp_path / "next")]) == 0

    printed = capsys.readouterr().out
    assert "aligned to" in printed
    assert "label agreement after alignment 1.0000" in printed
    assert (
        manifest(tmp_path / "next")["aligned_to"]["artifact_sha256"] == manifest(tmp_path / "live")["artifact_sha256"]
    )


def test_the_local_engine_is_named_in_its_manifest(tmp_path: Path) -> None:
    assert main(["--max-rows", "300", "--out", str(tmp_path / "out")]) == 0

    assert manifest(tmp_path / "out")["training"]["engine"] == "local"


REFUSALS: dict[str, tuple[list[str], str]] = {
    "no data": (["--engine", "streaming"], "--engine streaming needs --data PATH"),
    "a dataset": (["--engine", "streaming", "--data", "{csv}", "--dataset", "csv"], "it takes no --dataset"),
    "max rows": (["--engine", "streaming", "--data", "{csv}", "--max-rows", "5"], "it takes no --max-rows"),
    "centroids": (["--engine", "streaming", "--data", "{csv}", "--centroids", "{csv}"], "it takes no --centroids"),
    "batch size without streaming": (["--batch-size", "10"], "--batch-size applies only to --engine streaming"),
    "epochs without streaming": (["--epochs", "2"], "--epochs applies only to --engine streaming"),
    "csv header without streaming": (["--csv-header"], "--csv-header applies only to --engine streaming"),
    "threads without streaming": (["--threads", "2"], "--threads applies only to --engine streaming"),
    "k > rows": (["--engine", "streaming", "--data", "{csv}", "--clusters", "50"], "--clusters 50 is more than the 40"),
    "batch < k": (
        ["--engine", "streaming", "--data", "{csv}", "--clusters", "5", "--batch-size", "4"],
        "--batch-size 4 is less than --clusters 5",
    ),
    "ragged csv": (
        ["--engine", "streaming", "--data", "{ragged}"],
        "ragged.csv: line 81 (row 81): 2 fields, the first row has 16",
    ),
    "missing file": (["--engine", "streaming", "--data", "{missing}"], "nope.csv: no such file or folder"),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_bad_input_is_one_line_and_leaves_the_previous_build_untouched(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    good = write_csv(tmp_path / "good.csv", blobs(40))
    ragged = tmp_path / "ragged.csv"
    ragged.write_text(good.read_text() * 2 + "1,2\n")
    out = tmp_path / "out"
    assert main(["--engine", "streaming", "--data", str(good), "--clusters", "3", "--out", str(out)]) == 0
    before = {path.name: path.read_bytes() for path in out.iterdir()}
    capsys.readouterr()
    args, expected = REFUSALS[case]
    paths = {"csv": str(good), "ragged": str(ragged), "missing": str(tmp_path / "nope.csv")}

    status = main([arg.format(**paths) for arg in args] + ["--out", str(out)])

    stderr = capsys.readouterr().err
    assert status == 1
    assert stderr.count("\n") == 1, stderr
    assert expected in stderr
    assert {path.name: path.read_bytes() for path in out.iterdir()} == before
