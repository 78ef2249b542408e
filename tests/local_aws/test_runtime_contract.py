"""The runtime answers InvokeEndpoint as SageMaker does: over HTTP, through boto3, every format."""

from __future__ import annotations

import io
import json
import tarfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from botocore.exceptions import ClientError

from model_build import ndarray
from model_build.packaging import package_model
from model_build.reference import ReferenceSet
from recordio.codec import decode_predictions, encode_rows
from tests.conftest import RunningLocalAws
from tests.local_aws.strict_account import IMAGE, StrictAccount, hosting_statements

pytestmark = pytest.mark.slow
BUCKET = "contract-models"
ENDPOINT = "contract-endpoint"
SERVERLESS = "contract-serverless"


def _put_model(local_aws: RunningLocalAws, key: str, centroids: np.ndarray[Any, Any]) -> str:
    local_aws.client("s3").put_object(Bucket=BUCKET, Key=key, Body=package_model(ndarray.encode([centroids])))
    return f"s3://{BUCKET}/{key}"


def _create_model(local_aws: RunningLocalAws, name: str, url: str) -> None:
    local_aws.client("sagemaker").create_model(
        ModelName=name,
        ExecutionRoleArn=StrictAccount(local_aws, BUCKET).role(hosting_statements(BUCKET)),
        PrimaryContainer={"Image": IMAGE, "ModelDataUrl": url},
    )


@pytest.fixture(scope="module")
def reference(artifact_dir: Path) -> ReferenceSet:
    return ReferenceSet.from_npz_bytes((artifact_dir / "reference.npz").read_bytes())


@pytest.fixture(scope="module")
def endpoints(local_aws: RunningLocalAws, artifact_dir: Path) -> dict[str, np.ndarray[Any, Any]]:
    """blue: the built model (weight 1); green: other centroids (weight 0); and a serverless endpoint."""
    with tarfile.open(artifact_dir / "model.tar.gz") as archive:
        stream = archive.extractfile("model_algo-1")
        assert stream is not None
        (blue,) = ndarray.decode(stream.read())
    green = np.flipud(blue).copy()
    local_aws.client("s3").create_bucket(Bucket=BUCKET)
    _create_model(local_aws, "contract-blue", _put_model(local_aws, "blue/model.tar.gz", blue))
    _create_model(local_aws, "contract-green", _put_model(local_aws, "green/model.tar.gz", green))
    sagemaker = local_aws.client("sagemaker")
    variant = {"InstanceType": "ml.m5.large", "InitialInstanceCount": 1}
    sagemaker.create_endpoint_config(
        EndpointConfigName="contract-config",
        ProductionVariants=[
            {"VariantName": "blue", "ModelName": "contract-blue", "InitialVariantWeight": 1.0, **variant},
            {"VariantName": "green", "ModelName": "contract-green", "InitialVariantWeight": 0.0, **variant},
        ],
    )
    sagemaker.create_endpoint(EndpointName=ENDPOINT, EndpointConfigName="contract-config")
    sagemaker.create_endpoint_config(
        EndpointConfigName="contract-serverless-config",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": "contract-blue",
                "ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 5},
            }
        ],
    )
    sagemaker.create_endpoint(EndpointName=SERVERLESS, EndpointConfigName="contract-serverless-config")
    return {"blue": blue, "green": green}


def invoke(local_aws: RunningLocalAws, body: bytes | str, **options: Any) -> dict[str, Any]:
    options.setdefault("EndpointName", ENDPOINT)
    options.setdefault("ContentType", "text/csv")
    response: dict[str, Any] = local_aws.client("sagemaker-runtime").invoke_endpoint(Body=body, **options)
    response["Payload"] = response["Body"].read()
    return response


def csv_body(rows: np.ndarray[Any, Any]) -> str:
    return "\n".join(",".join(repr(float(v)) for v in row) for row in rows)


def json_predictions(payload: bytes) -> tuple[list[float], list[float]]:
    predictions = json.loads(payload)["predictions"]
    return [p["closest_cluster"] for p in predictions], [p["distance_to_cluster"] for p in predictions]


def assert_matches(reference: ReferenceSet, closest: list[float], distances: list[float], rows: int) -> None:
    assert closest == [float(c) for c in reference.closest_cluster[:rows]]
    np.testing.assert_allclose(distances, reference.distance_to_cluster[:rows], rtol=1e-6)


def sparse(row: np.ndarray[Any, Any]) -> dict[str, Any]:
    """A row as the built-in algorithms' sparse format: the non-zero values at their keys, and the width."""
    keys = np.flatnonzero(row)
    return {"data": {"features": {"keys": keys.tolist(), "shape": [len(row)], "values": row[keys].tolist()}}}


def sparse_records(rows: np.ndarray[Any, Any]) -> bytes:
    from recordio.aialgs_data_pb2 import Record
    from recordio.framing import frame

    payloads = []
    for row in rows:
        record, keys = Record(), np.flatnonzero(row)
        tensor = record.features["values"].float32_tensor
        tensor.values.extend(row[keys].tolist())
        tensor.keys.extend(keys.tolist())
        tensor.shape.append(len(row))
        payloads.append(record.SerializeToString())
    return frame(payloads)


REQUESTS: dict[str, Callable[[np.ndarray[Any, Any]], bytes | str]] = {
    "text/csv": csv_body,
    "application/json": lambda rows: json.dumps({"instances": [{"features": r.tolist()} for r in rows]}),
    "application/json (data shape)": lambda rows: json.dumps(
        {"instances": [{"data": {"features": {"values": r.tolist()}}} for r in rows]}
    ),
    "application/json (sparse)": lambda rows: json.dumps({"instances": [sparse(r) for r in rows]}),
    "application/jsonlines": lambda rows: "\n".join(json.dumps({"features": r.tolist()}) for r in rows),
    "application/jsonlines (sparse)": lambda rows: "\n".join(json.dumps(sparse(r)) for r in rows),
    "application/x-recordio-protobuf": encode_rows,
    "application/x-recordio-protobuf (sparse)": sparse_records,
}


@pytest.mark.usefixtures("endpoints")
@pytest.mark.parametrize("kind", REQUESTS)
def test_every_request_format_is_answered_like_the_reference(
    local_aws: RunningLocalAws, reference: ReferenceSet, kind: str
) -> None:
    rows = reference.rows[:25]
    response = invoke(local_aws, REQUESTS[kind](rows), ContentType=kind.split(" ", maxsplit=1)[0])
    assert response["ContentType"] == "application/json"
    assert_matches(reference, *json_predictions(response["Payload"]), rows=25)


@pytest.mark.usefixtures("endpoints")
def test_every_response_format_says_the_same(local_aws: RunningLocalAws, reference: ReferenceSet) -> None:
    body = csv_body(reference.rows[:10])
    as_json = json_predictions(invoke(local_aws, body, Accept="application/json")["Payload"])
    lines = invoke(local_aws, body, Accept="application/jsonlines")["Payload"].decode().splitlines()
    as_lines = (
        [json.loads(x)["closest_cluster"] for x in lines],
        [json.loads(x)["distance_to_cluster"] for x in lines],
    )
    csv_rows = [line.split(",") for line in invoke(local_aws, body, Accept="text/csv")["Payload"].decode().splitlines()]
    as_csv = ([float(c) for c, _ in csv_rows], [float(d) for _, d in csv_rows])
    as_protobuf = decode_predictions(invoke(local_aws, body, Accept="application/x-recordio-protobuf")["Payload"])
    for answer in (as_lines, as_csv, as_protobuf):
        assert answer[0] == as_json[0]
        np.testing.assert_allclose(answer[1], as_json[1], rtol=1e-7)
    assert_matches(reference, *as_json, rows=10)


@pytest.mark.usefixtures("endpoints")
def test_closest_cluster_is_a_float_and_distances_are_float32_exact(
    local_aws: RunningLocalAws, reference: ReferenceSet
) -> None:
    text = invoke(local_aws, csv_body(reference.rows[:1]))["Payload"].decode()
    cluster, distance = int(reference.closest_cluster[0]), float(np.float32(reference.distance_to_cluster[0]))
    # As the k-means docs print it: distance first, the float32 widened to a double, the cluster as a float.
    assert text == f'{{"predictions": [{{"distance_to_cluster": {distance!r}, "closest_cluster": {cluster}.0}}]}}'
    assert float(np.float32(json.loads(text)["predictions"][0]["distance_to_cluster"])) == distance


@pytest.mark.usefixtures("endpoints")
def test_headers_name_the_variant_and_echo_no_custom_attributes(local_aws: RunningLocalAws) -> None:
    response = invoke(local_aws, "0," * 63 + "0", CustomAttributes="trace-id=42")
    assert response["InvokedProductionVariant"] == "blue"  # green has weight 0
    assert "CustomAttributes" not in response  # the built-in container sets none


def test_target_variant_reaches_that_variants_model(
    local_aws: RunningLocalAws, endpoints: dict[str, np.ndarray[Any, Any]]
) -> None:
    green = endpoints["green"]
    response = invoke(local_aws, csv_body(green[2:3]), TargetVariant="green")
    assert response["InvokedProductionVariant"] == "green"
    assert json_predictions(response["Payload"]) == ([2.0], [0.0])


def error_of(local_aws: RunningLocalAws, body: bytes | str, **options: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as raised:
        invoke(local_aws, body, **options)
    response: dict[str, Any] = raised.value.response
    return response


@pytest.mark.usefixtures("endpoints")
@pytest.mark.parametrize(
    ("options", "body", "message"),
    [
        ({"EndpointName": "no-such-endpoint"}, "1", "Endpoint no-such-endpoint of account 123456789012 not found."),
        ({"TargetVariant": "red"}, "1", "Variant red is not part of endpoint contract-endpoint"),
        ({}, b"0," * (3 * 1024 * 1024) + b"0", "exceeds the 6291456 byte limit"),
        ({"EndpointName": SERVERLESS}, b"0," * (2 * 1024 * 1024 + 10) + b"0", "exceeds the 4194304 byte limit"),
        ({"CustomAttributes": "x" * 1025}, "1", "must be at most 1024 ASCII characters"),
    ],
)
def test_requests_the_service_refuses_raise_validation_error(
    local_aws: RunningLocalAws, options: dict[str, Any], body: bytes | str, message: str
) -> None:
    response = error_of(local_aws, body, **options)
    assert response["Error"]["Code"] == "ValidationError"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert message in response["Error"]["Message"]


@pytest.mark.usefixtures("endpoints")
@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/csv", "1,2,3"),
        ("text/csv", "1,2\n3,x"),
        ("text/csv", ""),
        ("application/json", "{not json"),
        ("application/json", '{"instances": [{"values": [1]}]}'),
        ("application/x-recordio-protobuf", b"\x0a\x23\xd7\xce\xff\xff\x00\x00"),
    ],
)
def test_payloads_the_model_cannot_evaluate_raise_model_error(
    local_aws: RunningLocalAws, content_type: str, body: str | bytes
) -> None:
    response = error_of(local_aws, body, ContentType=content_type)
    assert response["Error"]["Code"] == "ModelError"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 424
    assert response["OriginalStatusCode"] == 400
    assert response["OriginalMessage"] == "unable to evaluate payload provided"
    assert response["LogStreamArn"].endswith(":log-group:/aws/sagemaker/Endpoints/contract-endpoint")


@pytest.mark.usefixtures("endpoints")
def test_an_unsupported_content_type_is_a_model_error(local_aws: RunningLocalAws) -> None:
    response = error_of(local_aws, "<rows/>", ContentType="application/xml")
    assert (response["Error"]["Code"], response["OriginalStatusCode"]) == ("ModelError", 415)


def test_a_new_artifact_at_the_same_key_is_picked_up(
    local_aws: RunningLocalAws, endpoints: dict[str, np.ndarray[Any, Any]]
) -> None:
    blue = endpoints["blue"]
    probe = csv_body(blue[:1])
    assert json_predictions(invoke(local_aws, probe)["Payload"])[0] == [0.0]
    _put_model(local_aws, "blue/model.tar.gz", np.roll(blue, 1, axis=0))  # a new ETag
    time.sleep(1.2)  # the runtime re-reads endpoints after 1 s
    try:
        assert json_predictions(invoke(local_aws, probe)["Payload"])[0] == [1.0]
    finally:
        _put_model(local_aws, "blue/model.tar.gz", blue)
        time.sleep(1.2)


def test_raw_http_without_boto3_gets_the_same_error_shape(local_aws: RunningLocalAws) -> None:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(f"{local_aws.config.runtime_url}/endpoints/missing/invocations", data=b"1")
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(request, timeout=10)
    assert raised.value.code == 400
    assert raised.value.headers["x-amzn-ErrorType"] == "ValidationError"
    assert json.load(io.BytesIO(raised.value.read()))["__type"] == "ValidationError"
