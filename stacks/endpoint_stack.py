"""KMeansEndpointStack: artifact -> role -> Model -> EndpointConfig -> Endpoint, plus what production needs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_cdk import Aws, CfnOutput, Stack, Tags
from constructs import Construct

from stacks.constructs.alarms import RollbackAlarms
from stacks.constructs.artifact import ModelArtifact
from stacks.constructs.encryption import EncryptionKey
from stacks.constructs.endpoint import Endpoint, EndpointConfig
from stacks.constructs.logs import EndpointLogGroup, endpoint_log_group_arn
from stacks.constructs.model import KMeansImage, KMeansModel
from stacks.constructs.role import ExecutionRole
from stacks.nag import acknowledge_findings
from stacks.settings import Settings

if TYPE_CHECKING:
    from stacks.constructs.capture import CaptureBucket


class KMeansEndpointStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, settings: Settings, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.settings = settings
        self.endpoint_name = settings.resolved_endpoint_name(self.stack_name)
        log_group_arn = endpoint_log_group_arn(self, self.endpoint_name)

        self.artifact = ModelArtifact(self, "Artifact", settings=settings)
        self.key = EncryptionKey(self, "Encryption", settings=settings, log_group_arn=log_group_arn).key
        self.logs = EndpointLogGroup(self, "Logs", settings=settings, endpoint_name=self.endpoint_name, key=self.key)
        self.capture = self._capture_bucket() if settings.data_capture else None
        self.image = KMeansImage(self, "Image")
        self.role = ExecutionRole(
            self,
            "ExecutionRole",
            artifact_object_arn=self.artifact.object_arn,
            image_repository_arn=self.image.repository_arn,
            log_group_arn=log_group_arn,
            key=self.key,
            capture_objects_arn=self.capture.objects_arn if self.capture else None,
            subnet_ids=settings.subnet_ids,
            security_group_ids=settings.security_group_ids,
        )
        self.model = KMeansModel(
            self,
            "Model",
            settings=settings,
            image_uri=self.image.uri,
            model_data_url=self.artifact.model_data_url,
            role_arn=self.role.role.role_arn,
        )
        # Without the policy attached first, SageMaker "could not access model data".
        self.model.node.add_dependency(self.role.policy)
        self.config = EndpointConfig(
            self,
            "EndpointConfig",
            settings=settings,
            model_name=self.model.model.attr_model_name,
            key_arn=self.key.key_arn,
            capture_destination=self.capture.destination_uri if self.capture else None,
        )
        self.alarms = RollbackAlarms(
            self, "Alarms", settings=settings, endpoint_name=self.endpoint_name, variant_name=settings.variant_name
        )
        self.endpoint = Endpoint(
            self,
            "Endpoint",
            settings=settings,
            endpoint_name=self.endpoint_name,
            config_name=self.config.config.attr_endpoint_config_name,
            rollback_alarms=self.alarms.alarms,
        )
        self.endpoint.node.add_dependency(self.logs)
        if settings.autoscaling:
            self._autoscaling()
        self._outputs()
        for key, value in settings.tags.items():
            Tags.of(self).add(key, value)
        acknowledge_findings(self)

    # Optional pieces are imported only when used: each CDK module costs start-up time on every synth.
    def _capture_bucket(self) -> CaptureBucket:
        from stacks.constructs.capture import CaptureBucket

        return CaptureBucket(self, "DataCapture", key=self.key)

    def _autoscaling(self) -> None:
        from stacks.constructs.scaling import VariantAutoscaling

        scaling = VariantAutoscaling(self, "Autoscaling", settings=self.settings, endpoint_name=self.endpoint_name)
        scaling.node.add_dependency(self.endpoint)

    def _outputs(self) -> None:
        outputs = {
            "EndpointName": self.endpoint.endpoint.attr_endpoint_name,
            "EndpointConfigName": self.config.config.attr_endpoint_config_name,
            "ModelName": self.model.model.attr_model_name,
            "ExecutionRoleArn": self.role.role.role_arn,
            "ModelDataUrl": self.artifact.model_data_url,
            "ArtifactSha256": self.artifact.sha256,
            "Region": Aws.REGION,
        }
        self.outputs = {name: CfnOutput(self, name, value=value) for name, value in outputs.items()}
