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
from stacks.names import STACK_TAG_KEY
from stacks.settings import Scaling, Settings, read_artifact

if TYPE_CHECKING:
    from stacks.constructs.capture import CaptureBucket


class KMeansEndpointStack(Stack):
    """Exposes what others wire by: `endpoint_name`, `artifact_object_arn` and `outputs`."""

    def __init__(self, scope: Construct, construct_id: str, *, settings: Settings, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.endpoint_name = settings.resolved_endpoint_name(self.stack_name)
        log_group_arn = endpoint_log_group_arn(self, self.endpoint_name)
        artifact = ModelArtifact(self, "Artifact", build=read_artifact(settings))
        self.artifact_object_arn = artifact.object_arn
        key = EncryptionKey(self, "Encryption", kms_key_arn=settings.kms_key_arn, log_group_arn=log_group_arn)
        logs = EndpointLogGroup(
            self, "Logs", endpoint_name=self.endpoint_name, retention_days=settings.log_retention_days, key=key.key
        )
        capture = self._capture_bucket(key, settings.data_capture_sampling_percent) if settings.data_capture else None
        image = KMeansImage(self, "Image")
        alarms = RollbackAlarms(
            self, "Alarms", endpoint_name=self.endpoint_name, variant_name=settings.variant_name,
            thresholds=settings.alarm_thresholds,
        )  # fmt: skip
        role = self._role(
            settings, artifact=artifact, image=image, key=key, log_group_arn=log_group_arn, capture=capture,
            alarms=alarms,
        )  # fmt: skip
        model = self._model(settings, artifact, image, role)
        config = self._config(settings, model, key, capture)
        endpoint = self._endpoint(settings, config, alarms)
        endpoint.node.add_dependency(logs)
        if settings.scaling:
            self._autoscaling(settings.scaling, settings.variant_name).node.add_dependency(endpoint)
        self.outputs = self._outputs(
            EndpointName=endpoint.endpoint_name,
            EndpointConfigName=config.config_name,
            ModelName=model.model_name,
            ExecutionRoleArn=role.role_arn,
            ModelDataUrl=artifact.model_data_url,
            ArtifactSha256=artifact.sha256,
            Region=Aws.REGION,
        )
        for tag, value in settings.tags.items():
            Tags.of(self).add(tag, value)

    def _role(
        self,
        settings: Settings,
        *,
        artifact: ModelArtifact,
        image: KMeansImage,
        key: EncryptionKey,
        log_group_arn: str,
        capture: CaptureBucket | None,
        alarms: RollbackAlarms,
    ) -> ExecutionRole:
        return ExecutionRole(
            self,
            "ExecutionRole",
            artifact_object_arn=artifact.object_arn,
            image_repository_arn=image.repository_arn,
            log_group_arn=log_group_arn,
            key_arn=key.key_arn,
            rollback_alarm_arns=alarms.alarm_arns,
            capture_objects_arn=capture.objects_arn if capture else None,
            network=settings.network,
        )

    def _model(
        self, settings: Settings, artifact: ModelArtifact, image: KMeansImage, role: ExecutionRole
    ) -> KMeansModel:
        model = KMeansModel(
            self,
            "Model",
            image_uri=image.uri,
            model_data_url=artifact.model_data_url,
            role_arn=role.role_arn,
            network=settings.network,
            serverless=settings.serverless,
        )
        # Without the policy attached first, SageMaker "could not access model data".
        model.node.add_dependency(role.policy)
        Tags.of(model).add(STACK_TAG_KEY, self.stack_name)  # reached by this tag, as the config is
        return model

    def _config(
        self, settings: Settings, model: KMeansModel, key: EncryptionKey, capture: CaptureBucket | None
    ) -> EndpointConfig:
        config = EndpointConfig(
            self,
            "EndpointConfig",
            model_name=model.model_name,
            capacity=settings.capacity,
            key_arn=key.key_arn,
            capture=capture.target if capture else None,
        )
        # Its generated name is unknown to IAM policies written before deploy; the tag is how they reach it.
        Tags.of(config).add(STACK_TAG_KEY, self.stack_name)
        return config

    def _endpoint(self, settings: Settings, config: EndpointConfig, alarms: RollbackAlarms) -> Endpoint:
        return Endpoint(
            self,
            "Endpoint",
            endpoint_name=self.endpoint_name,
            config_name=config.config_name,
            deployment=settings.deployment,
            rollback_alarm_names=alarms.alarm_names,
            retain_scaled_capacity=settings.autoscaling,
        )

    # Optional pieces are imported only when used: each CDK module costs start-up time on every synth.
    def _capture_bucket(self, key: EncryptionKey, sampling_percent: int) -> CaptureBucket:
        from stacks.constructs.capture import CaptureBucket

        return CaptureBucket(self, "DataCapture", key=key.key, sampling_percent=sampling_percent)

    def _autoscaling(self, scaling: Scaling, variant_name: str) -> Construct:
        from stacks.constructs.scaling import VariantAutoscaling

        return VariantAutoscaling(
            self, "Autoscaling", endpoint_name=self.endpoint_name, variant_name=variant_name, scaling=scaling
        )

    def _outputs(self, **values: str) -> dict[str, CfnOutput]:
        return {name: CfnOutput(self, name, value=value) for name, value in values.items()}
