"""`python -m model_build --engine sagemaker`: train with SageMaker's built-in k-means, then build as usual.

Everything that can be refused is refused before a job starts (options, hyperparameters, instance type, the
stack, the input's rows and features); a job that fails reports its FailureReason; Ctrl-C stops the job. The
build folder is written only after the job's model is downloaded and validated, all or nothing.

With `--align-to BUILD` the job's centroids are renumbered after the previous build's (stable ids) and the model is
repackaged with them in that order: its sha256 is no longer the job's, so the manifest's `aligned_to` records the
job's own artifact (`job_artifact_sha256`, `job_model_data_url`) and the job's ARN beside the alignment.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from aws_facts.instance_types import closest_training_types, training_instance_types
from aws_facts.kmeans_training import TEST_CHANNEL, TRAIN_CHANNEL, HyperparameterError, validate_hyperparameters
from contract.stack import STACK_BASE_NAME, Output, read_outputs
from model_build import sagemaker_input as inputs
from model_build import sagemaker_job as jobs
from model_build.alignment import LoadedModel, align, alignment_table, load_model
from model_build.build import BuildOutputs, BuildRequest, build
from model_build.errors import BuildError
from model_build.manifest import sha256_hex

ENGINE = "sagemaker"
DEFAULT_INSTANCE_TYPE = "ml.m5.xlarge"
REQUIRED_OUTPUTS = (
    Output.TRAINING_DATA_URI,
    Output.TRAINING_OUTPUT_URI,
    Output.TRAINING_ROLE_ARN,
    Output.TRAINING_KEY_ARN,
    Output.TRAINING_IMAGE_URI,
)
# Options of the local engines that mean nothing to a SageMaker job.
LOCAL_ONLY = (
    "dataset", "centroids", "sklearn_model", "max_rows", "trust_pickle",
    "batch_size", "epochs", "threads", "csv_header",  # --engine streaming's; a job takes hyperparameters
)  # fmt: skip


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The `--engine sagemaker` options (`--data`, `--clusters`, `--seed`, `--out` are shared)."""
    group = parser.add_argument_group(
        "train on SageMaker (--engine sagemaker; needs a stack deployed with -c training=true)"
    )
    group.add_argument("--instances", type=int, default=1, help="training instances the train channel is sharded over")
    group.add_argument("--instance-type", default=DEFAULT_INSTANCE_TYPE, help=f"(default {DEFAULT_INSTANCE_TYPE})")
    group.add_argument(
        "--test", type=data_location, help="test rows (file, folder or s3:// prefix): the job reports test:msd/test:ssd"
    )
    group.add_argument(
        "--hyperparameter",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a k-means hyperparameter (mini_batch_size, epochs, extra_center_factor, init_method, ...); repeatable",
    )
    group.add_argument("--stack", default=STACK_BASE_NAME, help=f"stack with the training outputs ({STACK_BASE_NAME})")
    group.add_argument("--max-runtime", type=int, default=jobs.DEFAULT_MAX_RUNTIME_S, help="MaxRuntimeInSeconds")


def data_location(text: str) -> Path | str:
    """`--data`: an `s3://` prefix stays text (a Path would fold its `//`), anything else is a local path."""
    return text if text.startswith("s3://") else Path(text)


def train_on_sagemaker(args: argparse.Namespace, clients: dict[str, Any] | None = None) -> BuildOutputs:
    """Scan and upload the input, run the job, validate its model, write the build folder."""
    _check_options(args)
    requested = _hyperparameters(args)
    # Read before the job: a wrong --align-to should fail in a second, not after a training job.
    previous = load_model(args.align_to, "--align-to") if getattr(args, "align_to", None) else None
    try:
        clients = clients or _clients()
        return _train(args, requested, clients, previous)
    except (BotoCoreError, ClientError) as error:
        raise BuildError(f"AWS call failed: {' '.join(str(error).split())}") from error


def _train(
    args: argparse.Namespace, requested: dict[str, str], clients: dict[str, Any], previous: LoadedModel | None
) -> BuildOutputs:
    outputs = _stack_outputs(clients["cloudformation"], args.stack)
    train = _scan(clients["s3"], args.data, args.reference_rows, args.seed)
    if previous is not None and previous.centroids.shape[1] != train.feature_dim:
        raise BuildError(
            f"{previous.where}: has {previous.centroids.shape[1]} features, {train.where} {train.feature_dim}"
        )
    test = _scan(clients["s3"], args.test, 1, args.seed) if args.test is not None else None
    hyperparameters = _with_data(requested, train, test, args.clusters)
    _check_shards(train, args.instances)
    name = jobs.job_name()
    data_prefix = f"{outputs[Output.TRAINING_DATA_URI].rstrip('/')}/{name}"
    train_uri = _placed(clients["s3"], args.data, train, f"{data_prefix}/train", args.instances)
    if not isinstance(args.data, str):
        uploaded = len(inputs.list_objects(clients["s3"], train_uri)[1])
        if uploaded < args.instances:
            inputs.delete_prefix(clients["s3"], data_prefix)
            raise BuildError(_too_few_objects(f"{args.data} (uploaded)", uploaded, args.instances))
    channels = [jobs.Channel(TRAIN_CHANNEL, train_uri, train.content_type)]
    if test is not None:
        test_uri = _placed(clients["s3"], args.test, test, f"{data_prefix}/test", 1)
        channels.append(jobs.Channel(TEST_CHANNEL, test_uri, test.content_type))
    request = jobs.TrainingRequest(
        image=outputs[Output.TRAINING_IMAGE_URI], role_arn=outputs[Output.TRAINING_ROLE_ARN],
        output_uri=outputs[Output.TRAINING_OUTPUT_URI], key_arn=outputs[Output.TRAINING_KEY_ARN],
        hyperparameters=hyperparameters, channels=channels, instance_type=args.instance_type,
        instance_count=args.instances, max_runtime_s=args.max_runtime,
    )  # fmt: skip
    try:
        arn = jobs.start(clients["sagemaker"], request, name)
    except BuildError:
        inputs.delete_prefix(clients["s3"], data_prefix)  # what this run uploaded: no job will read it
        raise
    print(f"started training job {name}: {args.instances} x {args.instance_type}, k={args.clusters}, {train.rows} rows")
    described = _waited(clients["sagemaker"], name)
    jobs.outcome(described)
    metrics = jobs.final_metrics(described)
    for metric, value in sorted(metrics.items()):
        print(f"{metric} = {value:.6g}")
    built = _built(args, s3=clients["s3"], described=described, arn=arn, request=request, train=train, metrics=metrics)
    return build(_aligned(built, previous, arn) if previous is not None else built, args.out)


def _waited(sagemaker: Any, name: str) -> dict[str, Any]:
    progress = jobs.Progress(name)
    try:
        return jobs.wait(sagemaker, name, progress)
    except (BotoCoreError, ClientError):
        jobs.stop(sagemaker, name, progress)  # no job is left running behind a failed wait
        raise


def _built(
    args: argparse.Namespace,
    *,
    s3: Any,
    described: dict[str, Any],
    arn: str,
    request: jobs.TrainingRequest,
    train: inputs.Scanned,
    metrics: dict[str, float],
) -> BuildRequest:
    uri = described["ModelArtifacts"]["S3ModelArtifacts"]
    artifact = jobs.download_artifact(s3, uri)
    centroids = jobs.centroids_of(artifact, uri, args.clusters, train.feature_dim)
    source = {"kind": "sagemaker-training", "data": str(args.data), "rows": train.rows, "format": train.kind}
    training = {
        "engine": ENGINE,
        "algorithm": "SageMaker built-in k-means (web-scale mini-batch k-means, local Lloyd reduction)",
        "clusters": args.clusters,
        "job_name": described["TrainingJobName"],
        "job_arn": arn,
        "image": request.image,
        "hyperparameters": request.hyperparameters,
        "instance_type": request.instance_type,
        "instance_count": request.instance_count,
        "metrics": metrics,
        "model_data_url": uri,
        "training_time_s": described.get("TrainingTimeInSeconds"),
        "billable_time_s": described.get("BillableTimeInSeconds"),
    }
    return BuildRequest(centroids, train.sample, source, training, artifact=artifact)


def _aligned(request: BuildRequest, previous: LoadedModel, arn: str) -> BuildRequest:
    """The job's centroids renumbered after `previous`, repackaged (artifact=None): the job's own artifact and
    ARN are recorded beside the alignment, since the served artifact's sha256 is no longer the job's."""
    assert request.artifact is not None
    assert request.training is not None
    alignment = align(request.centroids, previous.centroids)
    print(f"aligned to {previous.where}:\n{alignment_table(alignment)}")
    aligned_to = {
        **alignment.to_manifest(previous.artifact_sha256),
        "job_arn": arn,
        "job_artifact_sha256": sha256_hex(request.artifact),
        "job_model_data_url": request.training["model_data_url"],
    }
    return replace(request, centroids=alignment.apply(request.centroids), artifact=None, aligned_to=aligned_to)


def _check_options(args: argparse.Namespace) -> None:
    for option in LOCAL_ONLY:
        if getattr(args, option, None):
            raise BuildError(f"--{option.replace('_', '-')} applies to the local engines, not --engine {ENGINE}")
    if args.data is None:
        raise BuildError(f"--engine {ENGINE} needs --data PATH or --data s3://bucket/prefix")
    if args.clusters < 1:
        raise BuildError(f"--clusters must be at least 1, got {args.clusters}")
    if args.instances < 1:
        raise BuildError(f"--instances must be at least 1, got {args.instances}")
    if not 1 <= args.max_runtime <= jobs.MAX_RUNTIME_S:
        raise BuildError(
            f"--max-runtime must be 1 to {jobs.MAX_RUNTIME_S:,} seconds (28 days, SageMaker's maximum), "
            f"got {args.max_runtime:,}"
        )
    if args.instance_type not in training_instance_types():
        close = closest_training_types(args.instance_type)
        hint = f"; did you mean {' or '.join(close)}?" if close else f" (e.g. {DEFAULT_INSTANCE_TYPE})"
        raise BuildError(f"--instance-type {args.instance_type}: not a SageMaker training instance type{hint}")


def _hyperparameters(args: argparse.Namespace) -> dict[str, str]:
    """`--hyperparameter NAME=VALUE`s with k from --clusters; feature_dim is checked against the data later."""
    given: dict[str, str] = {}
    for item in args.hyperparameter:
        name, equals, value = item.partition("=")
        if not equals or not name:
            raise BuildError(f"--hyperparameter {item!r}: expected NAME=VALUE")
        given[name.strip()] = value.strip()
    if "k" in given:
        raise BuildError("--hyperparameter k: set the number of clusters with --clusters")
    try:
        validate_hyperparameters({"k": str(args.clusters), "feature_dim": given.get("feature_dim", "1"), **given})
    except HyperparameterError as error:
        raise BuildError(str(error)) from error
    return {"k": str(args.clusters), **given}


def _with_data(
    requested: dict[str, str], train: inputs.Scanned, test: inputs.Scanned | None, clusters: int
) -> dict[str, str]:
    declared = requested.get("feature_dim")
    if declared is not None and int(declared) != train.feature_dim:
        raise BuildError(f"hyperparameter feature_dim={declared}: {train.where} has {train.feature_dim} features")
    if clusters > train.rows:
        raise BuildError(f"--clusters {clusters} is more than the {train.rows} training rows in {train.where}")
    if test is not None and test.feature_dim != train.feature_dim:
        raise BuildError(
            f"--test {test.where}: rows have {test.feature_dim} features, the training rows {train.feature_dim}"
        )
    return {**requested, "feature_dim": str(train.feature_dim)}


def _check_shards(train: inputs.Scanned, instances: int) -> None:
    """ShardedByS3Key deals whole objects: with fewer objects (or rows) than instances, some get no data
    (API S3DataSource, S3DataDistributionType)."""
    if instances > train.rows:
        raise BuildError(f"--instances {instances} is more than the {train.rows} training rows in {train.where}")
    if train.objects is not None and train.objects < instances:
        raise BuildError(_too_few_objects(train.where, train.objects, instances))


def _too_few_objects(where: str, objects: int, instances: int) -> str:
    return (
        f"{where}: {objects} object(s) for --instances {instances}; ShardedByS3Key deals whole objects, so "
        f"{instances - objects} instance(s) would get no data (use at least one object per instance)"
    )


def _stack_outputs(cloudformation: Any, stack: str) -> dict[str, str]:
    try:
        outputs = read_outputs(stack, cloudformation)
    except ClientError as error:
        raise BuildError(f"--stack {stack}: {error.response.get('Error', {}).get('Message', error)}") from error
    missing = [key for key in REQUIRED_OUTPUTS if key not in outputs]
    if missing:
        raise BuildError(f"--stack {stack}: no {missing[0]} output; deploy it with -c training=true")
    return outputs


def _scan(s3: Any, where: Path | str, sample_rows: int, seed: int) -> inputs.Scanned:
    if isinstance(where, str):
        return inputs.scan_s3(s3, where, sample_rows, seed)
    return inputs.scan_local(where, sample_rows, seed)


def _placed(s3: Any, where: Path | str, scanned: inputs.Scanned, prefix: str, parts: int) -> str:
    """The channel's S3 prefix: an `s3://` input where it is, a local one uploaded under `prefix`."""
    if isinstance(where, str):
        return where
    return inputs.upload(s3, where, scanned.kind, parts, prefix)


def _clients() -> dict[str, Any]:
    from contract.clients import NoRegionError, aws_clients

    try:
        return aws_clients(("cloudformation", "sagemaker", "s3"))
    except NoRegionError as error:
        raise BuildError(str(error)) from error
