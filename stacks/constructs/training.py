"""What SageMaker training needs (`-c training=true`): a bucket for data and models, and a least-privilege role.

Its own bucket, not prefixes of the scoring bucket: training tables are the largest and most sensitive data the
project touches, so only the training role may read them (the endpoint's execution role has no grant here), and
the bucket's lifetime and access do not hang on `scoring`. The role may list and read `data/`, write `models/`,
pull the region's k-means image, write the training log group and use the stack's key; nothing wider.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Arn, ArnComponents, ArnFormat, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from aws_facts.kmeans_training import TRAINING_LOG_GROUP
from contract import training as grants
from contract.execution_role import Grant
from stacks.constructs.buckets import LoggedBucket
from stacks.nag import acknowledge_wildcard_resource


class TrainingStore(Construct):
    """Exposes what the CLI reads back as outputs: `data_uri`, `output_uri`, `role_arn`."""

    def __init__(self, scope: Construct, construct_id: str, *, key: kms.IKey, image_repository_arn: str) -> None:
        super().__init__(scope, construct_id)
        bucket = LoggedBucket(
            self,
            "Store",
            key=key,
            log_prefix="training-bucket/",
            removal_policy=RemovalPolicy.DESTROY,
            replication_reason="Training data stays in the stack's region; replicating it is a data-residency "
            "decision for its owner, not a default.",
        ).bucket
        self.data_uri = bucket.s3_url_for_object(f"{grants.DATA_PREFIX}/")
        self.output_uri = bucket.s3_url_for_object(f"{grants.MODEL_PREFIX}/")
        data_objects = bucket.arn_for_objects(f"{grants.DATA_PREFIX}/*")
        model_objects = bucket.arn_for_objects(f"{grants.MODEL_PREFIX}/*")
        log_group = _log_group_arn(self)
        statements = [
            _allow(
                grants.LIST_TRAINING_DATA,
                [bucket.bucket_arn],
                {"StringLike": {"s3:prefix": [f"{grants.DATA_PREFIX}/*", grants.DATA_PREFIX]}},
            ),
            _allow(grants.READ_TRAINING_DATA, [data_objects]),
            _allow(grants.WRITE_TRAINED_MODELS, [model_objects]),
            _allow(grants.PULL_TRAINING_IMAGE, [image_repository_arn]),
            _allow(grants.GET_TRAINING_REGISTRY_TOKEN, ["*"]),  # no resource-level permissions
            # `:*`: the group's own actions and its streams; the bare group ARN covers only tagging (CloudWatch
            # Logs, "CloudWatch Logs resources and operations").
            _allow(grants.WRITE_TRAINING_LOGS, [f"{log_group}:*"]),
            _allow(
                grants.PUBLISH_TRAINING_METRICS,
                ["*"],
                {"StringLike": {"cloudwatch:namespace": f"{TRAINING_LOG_GROUP}*"}},
            ),
            _allow(grants.USE_TRAINING_KEY, [key.key_arn]),
            # Only grants SageMaker creates for the instances' volumes (KMS, "Controlling access to grants").
            _allow(grants.GRANT_VOLUME_KEY, [key.key_arn], {"Bool": {"kms:GrantIsForAWSResource": "true"}}),
        ]
        role = iam.Role(
            self, "Role", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"), description="kmeans-byom training"
        )
        policy = iam.ManagedPolicy(self, "Policy", statements=statements, roles=[role])
        self.role_arn = role.role_arn
        self._acknowledge(policy, data_objects, model_objects, f"{log_group}:*")

    @staticmethod
    def _acknowledge(policy: iam.ManagedPolicy, data_objects: str, model_objects: str, log_streams: str) -> None:
        acknowledge_wildcard_resource(
            policy,
            "*",
            "Only for actions without resource-level permissions: ecr:GetAuthorizationToken and "
            "cloudwatch:PutMetricData (conditioned on the SageMaker training namespace).",
        )
        acknowledge_wildcard_resource(
            policy,
            data_objects,
            "A training job reads every object under its input prefix, named by the caller; the grant is the data/ "
            "prefix of this stack's training bucket.",
        )
        acknowledge_wildcard_resource(
            policy,
            model_objects,
            "SageMaker writes <job>/output/model.tar.gz under the output path; the grant is the models/ prefix of "
            "this stack's training bucket.",
        )
        acknowledge_wildcard_resource(
            policy,
            log_streams,
            "SageMaker names one log stream per training instance at run time; the grant is the training log group "
            "and its streams (log-group:NAME:*, the form CloudWatch Logs authorizes group and stream actions on).",
        )


def _log_group_arn(scope: Construct) -> str:
    components = ArnComponents(
        service="logs",
        resource="log-group",
        resource_name=TRAINING_LOG_GROUP,
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )
    return Arn.format(components, Stack.of(scope))


def _allow(grant: Grant, resources: list[str], conditions: dict[str, Any] | None = None) -> iam.PolicyStatement:
    return iam.PolicyStatement(sid=grant.sid, actions=list(grant.actions), resources=resources, conditions=conditions)
