"""The k-means training algorithm's parts, without a server: hyperparameters, readers, streaming and reduction."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

from aws_facts.kmeans_training import HyperparameterError, validate_hyperparameters
from local_aws.jobs.lifecycle import JobFailedError
from local_aws.training import hyperparameters
from local_aws.training.algorithm import Score, StreamingKMeans, reduce_centres, reduce_centres_with_msd
from local_aws.training.readers import batches, content_type_error, csv_rows, recordio_rows, rows
from recordio.aialgs_data_pb2 import Record
from recordio.codec import decode_rows, encode_rows
from recordio.framing import frame
from tests.local_aws.test_training_jobs import CENTRES, FEATURES, blobs, csv_bytes

REQUIRED = {"k": "4", "feature_dim": "8"}


def test_defaults_are_the_algorithms_own() -> None:
    params = hyperparameters.parse(REQUIRED)

    assert (params.mini_batch_size, params.epochs, params.init_method) == (5000, 1, "random")
    assert (params.local_lloyd_init_method, params.local_lloyd_max_iter, params.local_lloyd_tol) == (
        "kmeans++",
        300,
        1e-4,
    )
    assert (params.half_life_time_size, params.eval_metrics) == (0, ("msd",))
    # auto: what a real job's log shows for k=8 (sagemaker-python-sdk#2815), "evaluated to 10", ten trials
    assert (params.extra_center_factor, params.local_lloyd_num_trials) == (10, 10)
    assert hyperparameters.parse({**REQUIRED, "k": "8"}).centres_per_instance == 80  # "shrinking 80 centers into 8"


def test_the_sdks_hyperparameters_are_accepted() -> None:
    sent = {**REQUIRED, "force_dense": "True", "eval_metrics": '["msd", "ssd"]', "mini_batch_size": "500",
            "local_lloyd_max_iter": "10", "local_lloyd_tol": "0.5", "local_lloyd_num_trials": "3",
            "local_lloyd_init_method": "random", "half_life_time_size": "0", "epochs": "2",
            "extra_center_factor": "3", "init_method": "kmeans++"}  # fmt: skip

    params = hyperparameters.parse(sent)

    assert params.eval_metrics == ("msd", "ssd")
    assert params.centres_per_instance == 12


BAD = {
    "k": ("-1", "Hyperparameter k: '-1' is not a positive integer"),
    "feature_dim": ("2.5", "Hyperparameter feature_dim: '2.5' is not a positive integer"),
    "epochs": ("0", "Hyperparameter epochs: '0' is not a positive integer"),
    "init_method": ("kmeans", "Hyperparameter init_method: 'kmeans' is not random or kmeans++"),
    "extra_center_factor": ("many", "Hyperparameter extra_center_factor: 'many' is not a positive integer or auto"),
    "half_life_time_size": ("-3", "Hyperparameter half_life_time_size: '-3' is not a non-negative integer"),
    "local_lloyd_tol": ("1.5", "Hyperparameter local_lloyd_tol: '1.5' is not a float in [0, 1]"),
    "eval_metrics": ('["mse"]', "Hyperparameter eval_metrics: '[\"mse\"]' is not a JSON list"),
    "force_dense": ("yes", "Hyperparameter force_dense: 'yes' is not true or false"),
}


@pytest.mark.parametrize("name", BAD)
def test_a_value_outside_its_range_is_a_client_error(name: str) -> None:
    value, message = BAD[name]

    with pytest.raises(JobFailedError) as failed:
        hyperparameters.parse({**REQUIRED, name: value})

    assert str(failed.value).startswith(f"ClientError: {message}")
    assert str(failed.value).endswith("(caused by ValidationError)")


def test_content_types_the_algorithm_refuses() -> None:
    assert content_type_error("text/csv;label_size=0") is None
    assert content_type_error("text/csv") is None
    assert content_type_error("") is None  # RecordIO-protobuf
    assert "label_size=0" in str(content_type_error("text/csv;label_size=1"))
    assert "not application/json" in str(content_type_error("application/json"))


def test_recordio_runs_are_sliced_as_protobuf_decodes_them(tmp_path: Path) -> None:
    values = blobs(3000)
    sparse = Record()
    sparse.features["values"].float32_tensor.values.extend([5.0, 7.0])
    sparse.features["values"].float32_tensor.keys.extend([1, 6])
    sparse.features["values"].float32_tensor.shape.append(FEATURES)
    body = encode_rows(values[:1000]) + frame([sparse.SerializeToString()]) + encode_rows(values[1000:])
    (tmp_path / "rows.rec").write_bytes(body)

    read = np.concatenate(list(recordio_rows(tmp_path / "rows.rec", "s3://b/rows.rec")))

    np.testing.assert_array_equal(read, decode_rows(body))
    assert read.shape == (3001, FEATURES)
    assert list(read[1000]) == [0, 5, 0, 0, 0, 0, 7, 0]


def test_objects_streaming_from_s3_read_as_their_local_copies(tmp_path: Path) -> None:
    values = blobs(2000)
    (tmp_path / "rows.csv").write_bytes(csv_bytes(values))
    (tmp_path / "rows.rec").write_bytes(encode_rows(values))

    for name, content_type in (("rows.csv", "text/csv"), ("rows.rec", "application/x-recordio-protobuf")):
        copy = np.concatenate(list(rows(tmp_path / name, content_type, FEATURES, name)))
        body = io.BytesIO((tmp_path / name).read_bytes())  # what a Pipe-mode channel reads: a stream

        np.testing.assert_array_equal(np.concatenate(list(rows(body, content_type, FEATURES, name))), copy)


@pytest.mark.parametrize("read_as", ["file", "stream"])
def test_a_truncated_recordio_object_fails_the_job(tmp_path: Path, read_as: str) -> None:
    (tmp_path / "rows.rec").write_bytes(encode_rows(blobs(10))[:-9])
    source = tmp_path / "rows.rec" if read_as == "file" else io.BytesIO((tmp_path / "rows.rec").read_bytes())

    with pytest.raises(JobFailedError, match=r"ClientError: s3://b/rows\.rec: a RecordIO record is truncated"):
        list(recordio_rows(source, "s3://b/rows.rec"))


def test_csv_rows_are_float32_and_checked_against_feature_dim(tmp_path: Path) -> None:
    values = blobs(100)
    (tmp_path / "rows.csv").write_bytes(csv_bytes(values))

    read = np.concatenate(list(csv_rows(tmp_path / "rows.csv", "s3://b/rows.csv")))

    np.testing.assert_allclose(read, values, atol=1e-5)
    with pytest.raises(JobFailedError, match="rows have 8 features, but feature_dim is 7"):
        list(rows(tmp_path / "rows.csv", "text/csv", 7, "s3://b/rows.csv"))


def test_batches_are_exactly_the_mini_batch_size() -> None:
    blocks = [np.zeros((7, 2), np.float32), np.ones((5, 2), np.float32), np.zeros((1, 2), np.float32)]

    sizes = [len(batch) for batch in batches(blocks, 4, lambda: None)]

    assert sizes == [4, 4, 4, 1]


def test_two_streams_reduce_to_the_true_centres() -> None:
    params = hyperparameters.parse({**REQUIRED, "mini_batch_size": "100", "init_method": "kmeans++"})
    parts = []
    for instance in range(2):
        stream = StreamingKMeans(params, seed=instance)
        stream.start_epoch()
        for batch in batches([blobs(2000, seed=instance)], params.mini_batch_size, lambda: None):
            stream.update(batch)
        stream.end_epoch(0)
        parts.append(stream.result())

    centroids = reduce_centres(parts, params, seed=0)

    assert [part.rows for part in parts] == [2000, 2000]
    assert sum(part.weights.sum() for part in parts) == pytest.approx(
        4000, rel=0.01
    )  # a reassigned centre keeps a small weight
    assert np.linalg.norm(CENTRES[:, None] - centroids[None], axis=2).min(axis=1).max() < 0.3
    # train msd: the weighted mean squared distance of the merged centres to the centroids, as AWS logs it
    same, msd = reduce_centres_with_msd(parts, params, seed=0)
    np.testing.assert_array_equal(same, centroids)
    merged = np.concatenate([part.centres for part in parts])
    weights = np.concatenate([part.weights for part in parts])
    nearest = ((merged[:, None, :] - centroids[None].astype(np.float64)) ** 2).sum(axis=2).min(axis=1)
    assert msd == pytest.approx(float((nearest * weights).sum() / weights.sum()), rel=1e-3)


def test_a_half_life_weighs_recent_rows_more() -> None:
    params = hyperparameters.parse({"k": "1", "feature_dim": "1", "mini_batch_size": "10",
                                    "extra_center_factor": "1", "half_life_time_size": "10"})  # fmt: skip
    stream = StreamingKMeans(params, seed=0)
    for value in (0.0, 100.0):
        stream.update(np.full((200, 1), value, np.float32))

    assert stream.result().centres[0, 0] > 99  # the old rows' weight halved twenty times over


def test_a_shard_smaller_than_its_centres_is_its_own_rows() -> None:
    params = hyperparameters.parse(REQUIRED)
    stream = StreamingKMeans(params, seed=0)
    stream.update(blobs(5))
    stream.end_epoch(0)

    result = stream.result()

    assert (result.rows, len(result.centres), list(result.weights)) == (5, 5, [1.0] * 5)


def test_score_is_the_squared_distance_to_the_nearest_centroid() -> None:
    score = Score()
    score.add(np.array([[0.0, 0.0], [3.0, 4.0]], np.float32), np.array([[0.0, 0.0], [3.0, 5.0]], np.float32))

    assert (score.ssd, score.msd, score.rows) == (1.0, 0.5, 2)


def test_the_algorithms_own_default_settings_are_accepted() -> None:
    """What a real job's log prints as the algorithm's defaults (sagemaker-python-sdk#2815), underscores included."""
    printed = {
        "init_method": "random", "mini_batch_size": "5000", "epochs": "1", "extra_center_factor": "auto",
        "local_lloyd_max_iter": "300", "local_lloyd_tol": "0.0001", "local_lloyd_init_method": "kmeans++",
        "local_lloyd_num_trials": "auto", "half_life_time_size": "0", "eval_metrics": '["msd"]', "force_dense": "True",
        "_disable_wait_to_read": "false", "_enable_profiler": "false", "_kvstore": "auto", "_log_level": "info",
        "_num_gpus": "auto", "_num_kv_servers": "1", "_num_slices": "1", "_tuning_objective_metric": "",
        "feature_dim": "7", "k": "8",
    }  # fmt: skip

    params = hyperparameters.parse(printed)

    assert (params.k, params.extra_center_factor) == (8, 10)
    assert validate_hyperparameters({**printed, "_tuning_objective_metric": "test:msd"})
    with pytest.raises(HyperparameterError, match="_kvstore='nowhere': must be auto, local"):
        validate_hyperparameters({**printed, "_kvstore": "nowhere"})
