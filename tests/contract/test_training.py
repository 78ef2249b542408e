"""The caller's grants for `--engine sagemaker`, derived from the stack's outputs."""

from __future__ import annotations

from contract.stack import Output
from contract.training import DATA_PREFIX, JOB_PREFIX, MODEL_PREFIX, caller_statements

OUTPUTS = {
    Output.TRAINING_DATA_URI: "s3://kmeansendpoint-trainingstore-abc/data/",
    Output.TRAINING_OUTPUT_URI: "s3://kmeansendpoint-trainingstore-abc/models/",
    Output.TRAINING_ROLE_ARN: "arn:aws:iam::123456789012:role/KMeansEndpoint-TrainingRole-XYZ",
    Output.TRAINING_KEY_ARN: "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    Output.TRAINING_IMAGE_URI: "438346466558.dkr.ecr.eu-west-1.amazonaws.com/kmeans:1",
}
STACK_ARN = "arn:aws:cloudformation:eu-west-1:123456789012:stack/KMeansEndpoint/0123"


def test_the_caller_may_pass_exactly_the_training_role_and_only_to_sagemaker() -> None:
    statements = {s["Sid"]: s for s in caller_statements(OUTPUTS, stack_arn=STACK_ARN)}

    passing = statements["PassTrainingRole"]
    assert passing["Action"] == ["iam:PassRole"]
    assert passing["Resource"] == [OUTPUTS[Output.TRAINING_ROLE_ARN]]
    assert passing["Condition"] == {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}


def test_every_grant_is_scoped_to_this_stack_its_bucket_prefixes_key_and_jobs() -> None:
    statements = caller_statements(OUTPUTS, stack_arn=STACK_ARN)
    resources = {s["Sid"]: s["Resource"] for s in statements}

    assert statements
    assert all(r != "*" for s in statements for r in s["Resource"])  # type: ignore[attr-defined]
    assert resources["ReadTrainingStack"] == [STACK_ARN]
    assert resources["RunTrainingJobs"] == [f"arn:aws:sagemaker:eu-west-1:123456789012:training-job/{JOB_PREFIX}-*"]
    assert resources["ListTrainingBucket"] == ["arn:aws:s3:::kmeansendpoint-trainingstore-abc"]
    assert resources["UploadTrainingData"] == [f"arn:aws:s3:::kmeansendpoint-trainingstore-abc/{DATA_PREFIX}/*"]
    assert resources["ReadTrainedModels"] == [f"arn:aws:s3:::kmeansendpoint-trainingstore-abc/{MODEL_PREFIX}/*"]
    assert resources["UseTrainingKey"] == [OUTPUTS[Output.TRAINING_KEY_ARN]]
