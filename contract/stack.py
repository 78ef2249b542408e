"""The endpoint stack's name and CloudFormation outputs, and the one way to read them back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

STACK_BASE_NAME: Final = "KMeansEndpoint"  # the stack's name; a stage's is `<base>-<stage>`
DELETED_STATUS: Final = "DELETE_COMPLETE"


class Output:
    """The output keys the endpoint stack declares (`CfnOutput` ids) and its users read."""

    ENDPOINT_NAME: Final = "EndpointName"
    ENDPOINT_CONFIG_NAME: Final = "EndpointConfigName"
    EXECUTION_ROLE_ARN: Final = "ExecutionRoleArn"
    MODEL_DATA_URL: Final = "ModelDataUrl"
    ARTIFACT_SHA256: Final = "ArtifactSha256"
    REGION: Final = "Region"
    MODEL_NAME: Final = "ModelName"
    SCORING_BUCKET_NAME: Final = "ScoringBucketName"  # only with -c scoring=true
    # The key the scoring bucket and every transform output are encrypted with (TransformOutput.KmsKeyId:
    # without it SageMaker uses the account's default S3 key); only with -c scoring=true.
    SCORING_KEY_ARN: Final = "ScoringKeyArn"
    MODEL_PACKAGE_ARN: Final = "ModelPackageArn"  # only with -c model_package_group: the approved package served
    # Training on SageMaker (only with -c training=true): where `python -m model_build --engine sagemaker` puts the
    # input and the job writes the model, the role the job runs as, the key for both, and the region's k-means image.
    TRAINING_DATA_URI: Final = "TrainingDataUri"
    TRAINING_OUTPUT_URI: Final = "TrainingOutputUri"
    TRAINING_ROLE_ARN: Final = "TrainingRoleArn"
    TRAINING_KEY_ARN: Final = "TrainingKeyArn"
    TRAINING_IMAGE_URI: Final = "TrainingImageUri"

    @staticmethod
    def of_candidate(prefix: str, key: str) -> str:
        """A challenger's or shadow's own output: `of_candidate("Challenger", Output.MODEL_NAME)`."""
        return f"{prefix}{key}"


@dataclass(frozen=True)
class DeployedStack:
    """What DescribeStacks says of one stack: its status and its outputs by key."""

    name: str
    status: str
    outputs: dict[str, str]


def describe_stack(stack_name: str, cloudformation: Any) -> DeployedStack:
    """The stack's status and outputs; botocore's ClientError as CloudFormation raised it (see is_missing_stack)."""
    (stack,) = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    outputs = {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}
    return DeployedStack(name=stack_name, status=stack["StackStatus"], outputs=outputs)


def read_outputs(stack_name: str, cloudformation: Any) -> dict[str, str]:
    """The stack's outputs by key (DescribeStacks)."""
    return describe_stack(stack_name, cloudformation).outputs


def is_missing_stack(error: Exception) -> bool:
    """Whether a ClientError of DescribeStacks says there is no such stack (CloudFormation's ValidationError)."""
    response: dict[str, Any] = getattr(error, "response", {})
    return response.get("Error", {}).get("Code") == "ValidationError" and "does not exist" in str(error)
