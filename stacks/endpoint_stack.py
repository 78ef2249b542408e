"""KMeansEndpointStack: artifact -> role -> Model -> EndpointConfig -> Endpoint, plus what production needs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_cdk import Aws, CfnOutput, Stack, Tags
from constructs import Construct

from contract.stack import Output
from stacks.constructs.alarms import RollbackAlarms
from stacks.constructs.artifact import ModelArtifact, RegisteredArtifact
from stacks.constructs.encryption import EncryptionKey
from stacks.constructs.endpoint import AsyncTarget, Endpoint, EndpointConfig, ServedModel
from stacks.constructs.logs import EndpointLogGroup, endpoint_log_group_arn
from stacks.constructs.model import KMeansImage, KMeansModel
from stacks.constructs.role import ExecutionRole
from stacks.names import STACK_TAG_KEY
from stacks.settings import CandidateVariant, Settings, read_artifact

if TYPE_CHECKING:
    from stacks.constructs.capture import CaptureBucket
    from stacks.constructs.scoring import ScoringBucket


class KMeansEndpointStack(Stack):
    """Exposes what others wire by: `endpoint_name`, `artifact_object_arn` and `outputs`."""

    def __init__(self, scope: Construct, construct_id: str, *, settings: Settings, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.endpoint_name = settings.resolved_endpoint_name(self.stack_name)
        log_group_arn = endpoint_log_group_arn(self, self.endpoint_name)
        artifact = self._production_artifact(settings)
        challenger, shadow = settings.challenger, settings.shadow
        challenger_artifact = self._artifact("ChallengerArtifact", settings, challenger)
        shadow_artifact = self._artifact("ShadowArtifact", settings, shadow)
        self.artifact_object_arn = artifact.object_arn
        key = EncryptionKey(self, "Encryption", kms_key_arn=settings.kms_key_arn, log_group_arn=log_group_arn)
        Tags.of(key).add(STACK_TAG_KEY, self.stack_name)  # how roles of other stacks reach the generated key
        logs = EndpointLogGroup(
            self, "Logs", endpoint_name=self.endpoint_name, retention_days=settings.log_retention_days, key=key.key
        )
        capture = self._capture_bucket(key, settings.data_capture_sampling_percent) if settings.data_capture else None
        scoring = self._scoring_bucket(key, settings.scoring_bucket_name) if settings.scoring_enabled else None
        image = KMeansImage(self, "Image")
        training = self._training(key, image) if settings.training else {}
        alarms = [self._alarms(settings, "Alarms", settings.variant_name)]
        if challenger:
            alarms.append(self._alarms(settings, "ChallengerAlarms", challenger.variant_name))
        artifacts = [found for found in (artifact, challenger_artifact, shadow_artifact) if found]
        role = self._role(
            settings, artifacts=artifacts, image=image, key=key, log_group_arn=log_group_arn, capture=capture,
            alarms=alarms, scoring=scoring,
        )  # fmt: skip
        model = self._model(settings, "Model", artifact, image, role)
        served = [ServedModel(settings.variant_name, model.model_name, settings.production_weight_percent)]
        outputs = {Output.MODEL_NAME: model.model_name}
        if artifact.model_package_arn is not None:
            outputs[Output.MODEL_PACKAGE_ARN] = artifact.model_package_arn
        if scoring is not None:
            outputs |= {Output.SCORING_BUCKET_NAME: scoring.bucket_name, Output.SCORING_KEY_ARN: key.key_arn}
        if challenger and challenger_artifact:
            challenger_served, more = self._candidate(
                "Challenger", settings, candidate=challenger, artifact=challenger_artifact, image=image, role=role
            )
            served.append(challenger_served)
            outputs |= more
        shadow_served = None
        if shadow and shadow_artifact:
            shadow_served, more = self._candidate(
                "Shadow", settings, candidate=shadow, artifact=shadow_artifact, image=image, role=role
            )
            outputs |= more
        config = self._config(
            settings, served, key, capture=capture, shadow=shadow_served,
            asynchronous=self._async_target(settings, scoring),
        )  # fmt: skip
        endpoint = self._endpoint(settings, config, [name for group in alarms for name in group.alarm_names])
        endpoint.node.add_dependency(logs)
        if settings.drift_monitoring and capture is not None:
            self._drift_monitor(
                settings, capture, key, [v.variant_name for v in [*served, *filter(None, [shadow_served])]]
            )
        if settings.scaling:
            for prefix, variant in zip(("", "Challenger"), served, strict=False):
                scaling = self._autoscaling(f"{prefix}Autoscaling", settings, variant.variant_name)
                scaling.node.add_dependency(endpoint)
        self.outputs = self._outputs(
            {
                Output.ENDPOINT_NAME: endpoint.endpoint_name,
                Output.ENDPOINT_CONFIG_NAME: config.config_name,
                Output.EXECUTION_ROLE_ARN: role.role_arn,
                Output.MODEL_DATA_URL: artifact.model_data_url,
                Output.ARTIFACT_SHA256: artifact.sha256,
                Output.REGION: Aws.REGION,
                **outputs,
                **training,
            }
        )
        for tag, value in settings.tags.items():
            Tags.of(self).add(tag, value)

    def _production_artifact(self, settings: Settings) -> ModelArtifact | RegisteredArtifact:
        if settings.model_package is not None:
            return RegisteredArtifact(self, "Artifact", package=settings.model_package)
        return ModelArtifact(self, "Artifact", build=read_artifact(settings))

    def _artifact(
        self, construct_id: str, settings: Settings, candidate: CandidateVariant | None
    ) -> ModelArtifact | None:
        if candidate is None:
            return None
        return ModelArtifact(self, construct_id, build=read_artifact(settings, candidate.artifact_dir))

    def _candidate(
        self,
        prefix: str,
        settings: Settings,
        *,
        candidate: CandidateVariant,
        artifact: ModelArtifact,
        image: KMeansImage,
        role: ExecutionRole,
    ) -> tuple[ServedModel, dict[str, str]]:
        """A challenger's or shadow's Model, how the config serves it, and the outputs that name it."""
        model = self._model(settings, f"{prefix}Model", artifact, image, role)
        served = ServedModel(candidate.variant_name, model.model_name, candidate.weight_percent)
        return served, {
            Output.of_candidate(prefix, Output.MODEL_NAME): model.model_name,
            Output.of_candidate(prefix, Output.ARTIFACT_SHA256): artifact.sha256,
        }

    def _alarms(self, settings: Settings, construct_id: str, variant_name: str) -> RollbackAlarms:
        return RollbackAlarms(
            self, construct_id, endpoint_name=self.endpoint_name, variant_name=variant_name,
            thresholds=settings.alarm_thresholds,
        )  # fmt: skip

    def _role(
        self,
        settings: Settings,
        *,
        artifacts: list[ModelArtifact | RegisteredArtifact],
        image: KMeansImage,
        key: EncryptionKey,
        log_group_arn: str,
        capture: CaptureBucket | None,
        alarms: list[RollbackAlarms],
        scoring: ScoringBucket | None,
    ) -> ExecutionRole:
        return ExecutionRole(
            self,
            "ExecutionRole",
            artifact_object_arns=[artifact.object_arn for artifact in artifacts],
            image_repository_arn=image.repository_arn,
            log_group_arn=log_group_arn,
            key_arn=key.key_arn,
            rollback_alarm_arns=[arn for group in alarms for arn in group.alarm_arns],
            capture_objects_arn=capture.objects_arn if capture else None,
            network=settings.network,
            scoring=scoring.access if scoring else None,
            notify_topic_arns=settings.asynchronous.topic_arns if settings.asynchronous else None,
        )

    def _model(
        self,
        settings: Settings,
        construct_id: str,
        artifact: ModelArtifact | RegisteredArtifact,
        image: KMeansImage,
        role: ExecutionRole,
    ) -> KMeansModel:
        model = KMeansModel(
            self,
            construct_id,
            image_uri=image.uri,
            model_data_url=artifact.model_data_url,
            role_arn=role.role_arn,
            model_package_name=artifact.model_package_arn,
            network=settings.network,
            serverless=settings.serverless,
        )
        # Without the policy attached first, SageMaker "could not access model data".
        model.node.add_dependency(role.policy)
        Tags.of(model).add(STACK_TAG_KEY, self.stack_name)  # reached by this tag, as the config is
        return model

    def _config(
        self,
        settings: Settings,
        served: list[ServedModel],
        key: EncryptionKey,
        *,
        capture: CaptureBucket | None,
        shadow: ServedModel | None,
        asynchronous: AsyncTarget | None,
    ) -> EndpointConfig:
        config = EndpointConfig(
            self,
            "EndpointConfig",
            served=served,
            shadow=shadow,
            asynchronous=asynchronous,
            capacity=settings.capacity,
            key_arn=key.key_arn,
            capture=capture.target if capture else None,
        )
        # Its generated name is unknown to IAM policies written before deploy; the tag is how they reach it.
        Tags.of(config).add(STACK_TAG_KEY, self.stack_name)
        return config

    def _endpoint(self, settings: Settings, config: EndpointConfig, alarm_names: list[str]) -> Endpoint:
        return Endpoint(
            self,
            "Endpoint",
            endpoint_name=self.endpoint_name,
            config_name=config.config_name,
            deployment=settings.deployment,
            rollback_alarm_names=alarm_names,
            retain_scaled_capacity=settings.autoscaling,
        )

    # Optional pieces are imported only when used: each CDK module costs start-up time on every synth.
    def _capture_bucket(self, key: EncryptionKey, sampling_percent: int) -> CaptureBucket:
        from stacks.constructs.capture import CaptureBucket

        return CaptureBucket(self, "DataCapture", key=key.key, sampling_percent=sampling_percent)

    def _drift_monitor(
        self, settings: Settings, capture: CaptureBucket, key: EncryptionKey, variants: list[str]
    ) -> None:
        from stacks.drift import drift_monitor

        drift_monitor(self, settings, endpoint_name=self.endpoint_name, capture=capture, key=key.key, variants=variants)

    @staticmethod
    def _async_target(settings: Settings, scoring: ScoringBucket | None) -> AsyncTarget | None:
        found = settings.asynchronous
        if found is None or scoring is None:
            return None
        return AsyncTarget(
            output_uri=scoring.async_output_uri,
            failure_uri=scoring.async_failure_uri,
            max_concurrent_invocations=found.max_concurrent_invocations,
            success_topic_arn=found.success_topic_arn,
            error_topic_arn=found.error_topic_arn,
        )

    def _scoring_bucket(self, key: EncryptionKey, bucket_name: str | None) -> ScoringBucket:
        from stacks.constructs.scoring import ScoringBucket

        return ScoringBucket(self, "Scoring", key=key.key, bucket_name=bucket_name)

    def _training(self, key: EncryptionKey, image: KMeansImage) -> dict[str, str]:
        """The training bucket and role (`-c training=true`), as the outputs `python -m model_build` reads."""
        from stacks.constructs.training import TrainingStore

        store = TrainingStore(self, "Training", key=key.key, image_repository_arn=image.repository_arn)
        return {
            Output.TRAINING_DATA_URI: store.data_uri,
            Output.TRAINING_OUTPUT_URI: store.output_uri,
            Output.TRAINING_ROLE_ARN: store.role_arn,
            Output.TRAINING_KEY_ARN: key.key_arn,
            Output.TRAINING_IMAGE_URI: image.uri,
        }

    def _autoscaling(self, construct_id: str, settings: Settings, variant_name: str) -> Construct:
        from stacks.constructs.scaling import BacklogAutoscaling, VariantAutoscaling

        scaling, asynchronous = settings.scaling, settings.asynchronous
        assert scaling is not None
        if asynchronous is not None:
            return BacklogAutoscaling(
                self, construct_id, endpoint_name=self.endpoint_name, variant_name=variant_name, scaling=scaling,
                target_backlog_per_instance=asynchronous.target_backlog_per_instance,
            )  # fmt: skip
        return VariantAutoscaling(
            self, construct_id, endpoint_name=self.endpoint_name, variant_name=variant_name, scaling=scaling
        )

    def _outputs(self, values: dict[str, str]) -> dict[str, CfnOutput]:
        return {name: CfnOutput(self, name, value=value) for name, value in values.items()}
