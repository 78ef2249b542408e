"""Typed, validated stack settings from CDK context (`cdk.json` and `-c key=value`)."""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, TypeVar

from aws_facts import deployment as guardrails
from aws_facts.instance_types import closest_types, has_local_storage, production_variant_types
from aws_facts.kmeans_image import KMEANS_ACCOUNTS, image_uri
from contract.model_package import PackageRecordError, RecordedPackage, context_key, group_name
from model_build.manifest import ARTIFACT_NAME, MANIFEST_FILE_NAME, BuiltModel, ManifestError, read_build

DEPLOYMENT_POLICIES = ("all-at-once", "canary", "linear")
SERVERLESS_MEMORY_MB = (1024, 2048, 3072, 4096, 5120, 6144)
# CloudWatch Logs' allowed retention periods, by days, with the name aws_logs.RetentionDays gives each.
LOG_RETENTION_DAYS = {
    1: "ONE_DAY",
    3: "THREE_DAYS",
    5: "FIVE_DAYS",
    7: "ONE_WEEK",
    14: "TWO_WEEKS",
    30: "ONE_MONTH",
    60: "TWO_MONTHS",
    90: "THREE_MONTHS",
    120: "FOUR_MONTHS",
    150: "FIVE_MONTHS",
    180: "SIX_MONTHS",
    365: "ONE_YEAR",
    400: "THIRTEEN_MONTHS",
    545: "EIGHTEEN_MONTHS",
    731: "TWO_YEARS",
    1096: "THREE_YEARS",
    1827: "FIVE_YEARS",
    2192: "SIX_YEARS",
    2557: "SEVEN_YEARS",
    2922: "EIGHT_YEARS",
}
ENDPOINT_NAME_PATTERN = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
VARIANT_NAME_PATTERN = ENDPOINT_NAME_PATTERN
CHALLENGER_VARIANT_NAME = "Challenger"
SHADOW_VARIANT_NAME = "Shadow"
ASYNC_ENDPOINT_SUFFIX = "-async"
BURSTABLE_PREFIX = "ml.t"
SETTING_KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
KMS_KEY_ARN_PATTERN = re.compile(r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[a-zA-Z0-9-]+$")
SNS_TOPIC_ARN_PATTERN = re.compile(r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$")
BUCKET_NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
SUBNET_PATTERN = re.compile(r"^subnet-[0-9a-f]{8,17}$")
SECURITY_GROUP_PATTERN = re.compile(r"^sg-[0-9a-f]{8,17}$")
BUILD_COMMAND = "make build (or: python -m model_build --out DIR)"
KMEANS_IMAGES = {region: image_uri(region) for region in KMEANS_ACCOUNTS}
RESOLVE_COMMAND = "python -m approval resolve --group {group}"
PARSER = "parser"


class SettingsError(ValueError):
    """A bad context value; the message names the key and what is allowed."""


T = TypeVar("T")


def _as_str(key: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise SettingsError(f"context {key}: expected a non-empty string, got {value!r}")
    return value


def _as_int(key: str, value: Any) -> int:
    if isinstance(value, bool):
        raise SettingsError(f"context {key}: expected an integer, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return int(value)
    raise SettingsError(f"context {key}: expected an integer, got {value!r}")


def _as_bool(key: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise SettingsError(f"context {key}: expected true or false, got {value!r}")


def _as_list(key: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(item.strip() for item in value.split(",") if item.strip())
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return tuple(value)
    raise SettingsError(f"context {key}: expected a list of strings or a comma-separated string, got {value!r}")


def _as_tags(key: str, value: Any) -> dict[str, str]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as error:
            raise SettingsError(
                f'context {key}: expected a JSON object such as {{"team":"ml"}}, got {value!r}'
            ) from error
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise SettingsError(f"context {key}: expected an object of string keys to string values, got {value!r}")
    return dict(value)


def _as_path(key: str, value: Any) -> Path:
    return Path(_as_str(key, value))


def _setting(default: Any, parser: Callable[[str, Any], Any]) -> Any:
    """A Settings field whose context value `parser` reads (the key is the field's name)."""
    return field(default=default, metadata={PARSER: parser})


@dataclass(frozen=True)
class Capacity:
    """The production variant's name and size: instances, or serverless memory and concurrency."""

    variant_name: str
    instance_type: str
    instance_count: int
    serverless_memory_mb: int | None
    serverless_max_concurrency: int | None

    @property
    def serverless(self) -> bool:
        return self.serverless_memory_mb is not None or self.serverless_max_concurrency is not None

    @property
    def volume_key_allowed(self) -> bool:
        """False for instance types with local storage, which refuse an EndpointConfig KmsKeyId."""
        return self.serverless or not has_local_storage(self.instance_type)


@dataclass(frozen=True)
class Network:
    """Where the model runs: network isolation and, optionally, the caller's VPC."""

    isolated: bool
    subnet_ids: tuple[str, ...]
    security_group_ids: tuple[str, ...]

    @property
    def in_vpc(self) -> bool:
        return bool(self.subnet_ids)


@dataclass(frozen=True)
class Deployment:
    """Blue/green traffic shifting of an endpoint update; unguarded when the update changes the variant names."""

    policy: str
    step_percent: int
    wait_seconds: int
    termination_wait_seconds: int
    guarded: bool = True

    @property
    def traffic_shifts(self) -> int:
        """How many waits a blue/green update goes through before the old fleet is retired."""
        return math.ceil(100 / self.step_percent) if self.policy == "linear" else 1

    @property
    def needed_seconds(self) -> int:
        """Every wait and the termination wait, with 10 minutes for provisioning the new fleet."""
        provisioning = guardrails.MAXIMUM_EXECUTION_TIMEOUT_S[0]
        return self.traffic_shifts * self.wait_seconds + self.termination_wait_seconds + provisioning


@dataclass(frozen=True)
class AlarmThresholds:
    """The rollback alarms' thresholds and where they also notify."""

    errors_5xx: int
    model_latency_ms: int
    evaluation_periods: int
    topic_arn: str | None


@dataclass(frozen=True)
class Scaling:
    """Target tracking of the variant's instance count on invocations per instance."""

    min_capacity: int
    max_capacity: int
    target_invocations: int


@dataclass(frozen=True)
class AsyncInference:
    """Asynchronous inference: S3 in, S3 out, notifications, and how a backlog scales the fleet."""

    max_concurrent_invocations: int
    success_topic_arn: str | None
    error_topic_arn: str | None
    target_backlog_per_instance: int

    @property
    def topic_arns(self) -> list[str]:
        return [arn for arn in (self.success_topic_arn, self.error_topic_arn) if arn]


@dataclass(frozen=True)
class CandidateVariant:
    """Another variant (A/B challenger or shadow): its own build, a share of the traffic, production's capacity."""

    artifact_dir: Path
    weight_percent: int
    variant_name: str = CHALLENGER_VARIANT_NAME


@dataclass(frozen=True)
class Settings:
    """Everything the endpoint stack can be told; every field has a context key of the same name."""

    artifact_dir: Path = _setting(Path("build"), _as_path)
    endpoint_name: str | None = _setting(None, _as_str)
    instance_type: str = _setting("ml.m5.large", _as_str)
    instance_count: int = _setting(1, _as_int)
    variant_name: str = _setting("AllTraffic", _as_str)
    serverless_memory_mb: int | None = _setting(None, _as_int)
    serverless_max_concurrency: int | None = _setting(None, _as_int)
    network_isolation: bool | None = _setting(None, _as_bool)
    kms_key_arn: str | None = _setting(None, _as_str)
    subnet_ids: tuple[str, ...] = _setting((), _as_list)
    security_group_ids: tuple[str, ...] = _setting((), _as_list)
    data_capture: bool = _setting(False, _as_bool)
    data_capture_sampling_percent: int = _setting(100, _as_int)
    autoscaling_min: int = _setting(1, _as_int)
    autoscaling_max: int = _setting(1, _as_int)
    autoscaling_target_invocations: int = _setting(1000, _as_int)
    deployment_policy: str = _setting("all-at-once", _as_str)
    deployment_step_percent: int = _setting(10, _as_int)
    deployment_wait_seconds: int = _setting(300, _as_int)
    deployment_termination_wait_seconds: int = _setting(300, _as_int)
    alarm_5xx_errors: int = _setting(1, _as_int)
    alarm_model_latency_ms: int = _setting(1000, _as_int)
    alarm_evaluation_periods: int = _setting(2, _as_int)
    alarm_topic_arn: str | None = _setting(None, _as_str)
    log_retention_days: int = _setting(30, _as_int)
    challenger_artifact_dir: Path | None = _setting(None, _as_path)
    challenger_weight: int = _setting(10, _as_int)
    shadow_artifact_dir: Path | None = _setting(None, _as_path)
    variant_change: bool = _setting(False, _as_bool)
    scoring: bool = _setting(False, _as_bool)
    scoring_bucket_name: str | None = _setting(None, _as_str)
    async_inference: bool = _setting(False, _as_bool)
    async_max_concurrent_invocations: int = _setting(4, _as_int)
    async_target_backlog_per_instance: int = _setting(5, _as_int)
    async_success_topic_arn: str | None = _setting(None, _as_str)
    async_error_topic_arn: str | None = _setting(None, _as_str)
    training: bool = _setting(False, _as_bool)
    drift_monitoring: bool = _setting(False, _as_bool)
    drift_schedule: str = _setting("rate(1 hour)", _as_str)
    tags: Mapping[str, str] = field(default_factory=dict, metadata={PARSER: _as_tags})
    model_package_group: str | None = _setting(None, _as_str)
    # Not a context key of its own: the resolve step's record of the group's package (see registered_package).
    model_package: RecordedPackage | None = field(default=None, metadata={PARSER: None})

    @property
    def serverless(self) -> bool:
        return self.capacity.serverless

    @property
    def in_vpc(self) -> bool:
        return self.network.in_vpc

    @property
    def autoscaling(self) -> bool:
        return self.autoscaling_max > self.autoscaling_min

    @property
    def isolated(self) -> bool:
        """Network isolation: on unless turned off, and off by default for serverless."""
        return self.network_isolation if self.network_isolation is not None else not self.serverless

    @property
    def volume_key_allowed(self) -> bool:
        return self.capacity.volume_key_allowed

    @property
    def artifact_path(self) -> Path:
        return self.artifact_dir / ARTIFACT_NAME

    @property
    def capacity(self) -> Capacity:
        return Capacity(
            variant_name=self.variant_name,
            instance_type=self.instance_type,
            instance_count=self.instance_count,
            serverless_memory_mb=self.serverless_memory_mb,
            serverless_max_concurrency=self.serverless_max_concurrency,
        )

    @property
    def network(self) -> Network:
        return Network(isolated=self.isolated, subnet_ids=self.subnet_ids, security_group_ids=self.security_group_ids)

    @property
    def deployment(self) -> Deployment:
        return Deployment(
            policy=self.deployment_policy,
            step_percent=self.deployment_step_percent,
            wait_seconds=self.deployment_wait_seconds,
            termination_wait_seconds=self.deployment_termination_wait_seconds,
            # AWS refuses guardrails on an update that adds or removes a variant (deployment guardrails, Exclusions).
            guarded=not self.variant_change,
        )

    @property
    def alarm_thresholds(self) -> AlarmThresholds:
        return AlarmThresholds(
            errors_5xx=self.alarm_5xx_errors,
            model_latency_ms=self.alarm_model_latency_ms,
            evaluation_periods=self.alarm_evaluation_periods,
            topic_arn=self.alarm_topic_arn,
        )

    @property
    def scaling(self) -> Scaling | None:
        """Autoscaling when autoscaling_max exceeds autoscaling_min, else None."""
        if not self.autoscaling:
            return None
        return Scaling(
            min_capacity=self.autoscaling_min,
            max_capacity=self.autoscaling_max,
            target_invocations=self.autoscaling_target_invocations,
        )

    @property
    def challenger(self) -> CandidateVariant | None:
        if self.challenger_artifact_dir is None:
            return None
        return CandidateVariant(artifact_dir=self.challenger_artifact_dir, weight_percent=self.challenger_weight)

    @property
    def shadow(self) -> CandidateVariant | None:
        """A candidate that gets a copy of every request and answers no one (its weight: the share copied)."""
        if self.shadow_artifact_dir is None:
            return None
        return CandidateVariant(
            artifact_dir=self.shadow_artifact_dir, weight_percent=100, variant_name=SHADOW_VARIANT_NAME
        )

    @property
    def scoring_enabled(self) -> bool:
        """The scoring bucket: asked for, brought by name, or needed by asynchronous inference."""
        return self.scoring or self.scoring_bucket_name is not None or self.async_inference

    @property
    def asynchronous(self) -> AsyncInference | None:
        if not self.async_inference:
            return None
        return AsyncInference(
            max_concurrent_invocations=self.async_max_concurrent_invocations,
            success_topic_arn=self.async_success_topic_arn,
            error_topic_arn=self.async_error_topic_arn,
            target_backlog_per_instance=self.async_target_backlog_per_instance,
        )

    @property
    def production_weight_percent(self) -> int:
        """The production variant's share of traffic: what the challenger leaves."""
        return 100 - self.challenger_weight if self.challenger else 100

    def resolved_endpoint_name(self, stack_name: str) -> str:
        """The endpoint's stable physical name: set, or the stack name (`-async` added for an asynchronous one).

        AWS cannot turn an endpoint asynchronous, or back, in place; another name makes CloudFormation replace it.
        """
        if self.endpoint_name:
            return self.endpoint_name
        return f"{stack_name}{ASYNC_ENDPOINT_SUFFIX}" if self.async_inference else stack_name


def settings_from_context(
    context: Mapping[str, Any], *, check_artifact: bool = True, other_keys: frozenset[str] = frozenset()
) -> Settings:
    """Build Settings from context values (strings from `-c`, JSON types from cdk.json), then validate.

    `other_keys` are settings of other stacks in the same app, so they are not taken for typos.
    """
    _check_unknown_keys(context, other_keys)
    values = {}
    for setting in fields(Settings):
        raw = context.get(setting.name)
        if raw is not None and setting.metadata[PARSER] is not None:
            values[setting.name] = setting.metadata[PARSER](setting.name, raw)
    settings = Settings(**values)
    if settings.model_package_group is not None:
        settings = replace(settings, model_package=registered_package(context, settings.model_package_group))
    validate(settings, check_artifact=check_artifact)
    return settings


def _check_unknown_keys(context: Mapping[str, Any], other_keys: frozenset[str]) -> None:
    # CDK's own context keys hold '@', ':', '-' or '/'; plain snake_case ones are settings.
    known = {setting.name for setting in fields(Settings) if setting.metadata[PARSER] is not None} | other_keys
    for key in context:
        if SETTING_KEY_PATTERN.match(key) and key not in known:
            close = difflib.get_close_matches(key, sorted(known), n=1)
            hint = f"; did you mean {close[0]}?" if close else f"; known settings: {', '.join(sorted(known))}"
            raise SettingsError(f"context {key}: unknown setting{hint}")


def validate(settings: Settings, *, check_artifact: bool = True) -> None:
    """Raise SettingsError naming the first bad key or impossible combination."""
    checks = (
        _check_names, _check_capacity, _check_serverless, _check_network, _check_deployment, _check_alarms,
        _check_challenger, _check_shadow, _check_scoring, _check_async, _check_registry, _check_drift,
    )  # fmt: skip
    for check in checks:
        check(settings)
    if check_artifact and settings.model_package is None:
        _check_artifact(settings)
        for candidate in (settings.challenger, settings.shadow):
            if candidate is not None:
                _check_candidate_build(settings, candidate)


def _one_of(key: str, value: T, allowed: tuple[T, ...]) -> None:
    if value not in allowed:
        raise SettingsError(f"context {key}: {value!r} is not one of {', '.join(map(str, allowed))}")


def _in_range(key: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise SettingsError(f"context {key}: {value} is outside {low}..{high}")


def _matches(key: str, value: str, pattern: re.Pattern[str], allowed: str) -> None:
    if not pattern.match(value):
        raise SettingsError(f"context {key}: {value!r} is not {allowed}")


def _check_names(settings: Settings) -> None:
    if settings.endpoint_name is not None:
        _matches("endpoint_name", settings.endpoint_name, ENDPOINT_NAME_PATTERN, "1-63 letters, digits or hyphens")
    _matches("variant_name", settings.variant_name, VARIANT_NAME_PATTERN, "1-63 letters, digits or hyphens")
    _one_of("log_retention_days", settings.log_retention_days, tuple(LOG_RETENTION_DAYS))
    if settings.kms_key_arn is not None:
        _matches(
            "kms_key_arn",
            settings.kms_key_arn,
            KMS_KEY_ARN_PATTERN,
            "a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)",
        )


def _check_capacity(settings: Settings) -> None:
    _check_instance_type(settings.instance_type)
    _in_range("instance_count", settings.instance_count, 1, 100)
    # Only an asynchronous endpoint may scale to zero: its requests wait in a queue, not on a connection.
    _in_range("autoscaling_min", settings.autoscaling_min, 0 if settings.async_inference else 1, 100)
    if settings.autoscaling_max < settings.autoscaling_min:
        raise SettingsError(
            f"context autoscaling_max: {settings.autoscaling_max} is below autoscaling_min {settings.autoscaling_min}"
        )
    _in_range("autoscaling_max", settings.autoscaling_max, 1, 100)
    _in_range("autoscaling_target_invocations", settings.autoscaling_target_invocations, 1, 1_000_000)
    if settings.autoscaling and settings.instance_type.startswith(BURSTABLE_PREFIX) and not settings.serverless:
        raise SettingsError(
            f"context instance_type: {settings.instance_type} is burstable; autoscaling "
            f"(autoscaling_max > autoscaling_min) needs a non-ml.t* type"
        )
    if settings.autoscaling and not settings.autoscaling_min <= settings.instance_count <= settings.autoscaling_max:
        raise SettingsError(
            f"context instance_count: {settings.instance_count} must lie within "
            f"autoscaling_min..autoscaling_max ({settings.autoscaling_min}..{settings.autoscaling_max})"
        )


def _check_instance_type(instance_type: str) -> None:
    if instance_type in production_variant_types():
        return
    suggestions = closest_types(instance_type)
    hint = f"; did you mean {' or '.join(suggestions)}?" if suggestions else " (e.g. ml.m5.large)"
    raise SettingsError(f"context instance_type: {instance_type!r} is not a SageMaker real-time instance type{hint}")


def _check_serverless(settings: Settings) -> None:
    if not settings.serverless:
        return
    if settings.serverless_memory_mb is None or settings.serverless_max_concurrency is None:
        raise SettingsError("context serverless_memory_mb and serverless_max_concurrency: set both for serverless")
    _one_of("serverless_memory_mb", settings.serverless_memory_mb, SERVERLESS_MEMORY_MB)
    _in_range("serverless_max_concurrency", settings.serverless_max_concurrency, 1, 200)
    conflicts = {
        "subnet_ids": settings.in_vpc,
        "network_isolation": settings.network_isolation is True,
        "data_capture": settings.data_capture,
        "autoscaling_max": settings.autoscaling,
    }
    for key, conflicting in conflicts.items():
        if conflicting:
            raise SettingsError(
                f"context {key}: serverless endpoints (serverless_memory_mb) support no VPC, network isolation, "
                "data capture or autoscaling"
            )


def _check_network(settings: Settings) -> None:
    for subnet in settings.subnet_ids:
        _matches("subnet_ids", subnet, SUBNET_PATTERN, "a subnet id (subnet-0123abcd...)")
    for group in settings.security_group_ids:
        _matches("security_group_ids", group, SECURITY_GROUP_PATTERN, "a security group id (sg-0123abcd...)")
    if bool(settings.subnet_ids) != bool(settings.security_group_ids):
        raise SettingsError("context subnet_ids and security_group_ids: a VPC endpoint needs both, or neither")
    _in_range("data_capture_sampling_percent", settings.data_capture_sampling_percent, 1, 100)


def _check_deployment(settings: Settings) -> None:
    _one_of("deployment_policy", settings.deployment_policy, DEPLOYMENT_POLICIES)
    step_limits = {"canary": guardrails.CANARY_PERCENT, "linear": guardrails.LINEAR_STEP_PERCENT}
    if settings.deployment_policy in step_limits:
        low, high = step_limits[settings.deployment_policy]
        _in_range("deployment_step_percent", settings.deployment_step_percent, low, high)
        _check_fleet_can_shift(settings)
    _in_range("deployment_wait_seconds", settings.deployment_wait_seconds, *guardrails.WAIT_INTERVAL_S)
    _in_range(
        "deployment_termination_wait_seconds",
        settings.deployment_termination_wait_seconds,
        *guardrails.TERMINATION_WAIT_S,
    )
    needed, allowed = settings.deployment.needed_seconds, guardrails.MAXIMUM_EXECUTION_TIMEOUT_S[1]
    if needed > allowed:
        raise SettingsError(
            f"context deployment_wait_seconds: {settings.deployment.traffic_shifts} shift(s) x "
            f"{settings.deployment_wait_seconds} s + termination wait + 600 s provisioning = {needed} s, over the "
            f"{allowed} s a blue/green update may take; lower the waits or raise deployment_step_percent"
        )


def _check_fleet_can_shift(settings: Settings) -> None:
    """On one instance a canary or linear step is the whole fleet: not a canary, so it is refused."""
    smallest = (
        min(settings.instance_count, settings.autoscaling_min) if settings.autoscaling else settings.instance_count
    )
    if not settings.serverless and smallest < 2:
        raise SettingsError(
            f"context deployment_policy: {settings.deployment_policy} shifts traffic between instances, but the "
            "fleet can be 1 instance, where any step is the whole fleet; use all-at-once (its bake period still "
            "rolls back on the alarms) or at least 2 instances (instance_count, autoscaling_min)"
        )


def _check_alarms(settings: Settings) -> None:
    _in_range("alarm_5xx_errors", settings.alarm_5xx_errors, 1, 1_000_000)
    _in_range("alarm_model_latency_ms", settings.alarm_model_latency_ms, 1, 60_000)
    _in_range("alarm_evaluation_periods", settings.alarm_evaluation_periods, 1, 60)
    if settings.alarm_topic_arn is not None:
        _matches("alarm_topic_arn", settings.alarm_topic_arn, SNS_TOPIC_ARN_PATTERN, "an SNS topic ARN")


def _check_artifact(settings: Settings) -> None:
    for path in (settings.artifact_path, settings.artifact_dir / MANIFEST_FILE_NAME):
        if not path.is_file():
            raise SettingsError(f"{path} not found: build the model first with {BUILD_COMMAND}")


def _check_challenger(settings: Settings) -> None:
    _in_range("challenger_weight", settings.challenger_weight, 1, 99)
    if settings.challenger and settings.variant_name == CHALLENGER_VARIANT_NAME:
        raise SettingsError(f"context variant_name: {CHALLENGER_VARIANT_NAME} is the challenger's variant name")


def _check_async(settings: Settings) -> None:
    if not settings.async_inference:
        return
    _in_range("async_max_concurrent_invocations", settings.async_max_concurrent_invocations, 1, 1000)
    _in_range("async_target_backlog_per_instance", settings.async_target_backlog_per_instance, 1, 1_000_000)
    for key in ("async_success_topic_arn", "async_error_topic_arn"):
        value = getattr(settings, key)
        if value is not None:
            _matches(key, value, SNS_TOPIC_ARN_PATTERN, "an SNS topic ARN")
    conflicts = {
        "serverless_memory_mb": settings.serverless,
        "challenger_artifact_dir": settings.challenger is not None,
        "shadow_artifact_dir": settings.shadow is not None,
    }
    for key, conflicting in conflicts.items():
        if conflicting:
            raise SettingsError(
                f"context async_inference with {key}: asynchronous endpoints take one instance-based variant"
            )


def _check_scoring(settings: Settings) -> None:
    if settings.scoring_bucket_name is not None:
        _matches("scoring_bucket_name", settings.scoring_bucket_name, BUCKET_NAME_PATTERN, "an S3 bucket name")


def _check_shadow(settings: Settings) -> None:
    if settings.shadow is None:
        return
    conflicts = {
        "challenger_artifact_dir": (
            settings.challenger is not None,
            "an endpoint with a shadow takes one production variant",
        ),
        "serverless_memory_mb": (settings.serverless, "serverless endpoints cannot have shadow variants"),
        "data_capture": (
            not settings.data_capture,
            "set data_capture=true: only data capture keeps the shadow's answers",
        ),
    }
    for key, (conflicting, why) in conflicts.items():
        if conflicting:
            raise SettingsError(f"context shadow_artifact_dir with {key}: {why}")


def _check_candidate_build(settings: Settings, candidate: CandidateVariant) -> None:
    """A challenger or shadow answers the same requests as production, so it must take rows of the same width."""
    key = "challenger_artifact_dir" if candidate.variant_name == CHALLENGER_VARIANT_NAME else "shadow_artifact_dir"
    production, other = read_artifact(settings), read_artifact(settings, candidate.artifact_dir)
    if other.feature_dim != production.feature_dim:
        raise SettingsError(
            f"context {key}: {candidate.artifact_dir} has {other.feature_dim} "
            f"features, the production build {settings.artifact_dir} has {production.feature_dim}; both variants "
            "answer the same requests"
        )


def read_artifact(settings: Settings, artifact_dir: Path | None = None) -> BuiltModel:
    """A build the stack deploys (production's by default); refused when its manifest does not describe its artifact."""
    try:
        return read_build(artifact_dir or settings.artifact_dir)
    except ManifestError as error:
        raise SettingsError(str(error)) from error


def registered_package(context: Mapping[str, Any], group: str) -> RecordedPackage:
    """The group's approved package as the resolve step recorded it; synth never asks the registry itself."""
    try:
        key = context_key(group)
        group_name(group)
        recorded = context.get(key)
        if recorded is None:
            raise SettingsError(
                f"context model_package_group: no approved package of {group} is recorded ({key} is not in "
                f"cdk.context.json); run {RESOLVE_COMMAND.format(group=group)} first"
            )
        return RecordedPackage.from_context(recorded, f"context {key}")
    except PackageRecordError as error:
        raise SettingsError(f"context model_package_group: {error}") from error


def _check_registry(settings: Settings) -> None:
    """A registry deploy serves one approved k-means package: the region's built-in image, no other variant."""
    package = settings.model_package
    if package is None:
        return
    region = package.arn.split(":")[3]
    if package.image != KMEANS_IMAGES.get(region):
        raise SettingsError(
            f"context model_package_group: package {package.arn} runs {package.image}, not SageMaker's built-in "
            f"k-means image of {region}"
        )
    for key, present in (("challenger_artifact_dir", settings.challenger), ("shadow_artifact_dir", settings.shadow)):
        if present is not None:
            raise SettingsError(f"context {key}: a registry deploy (model_package_group) serves one package")


# EventBridge Scheduler's rate expressions (user guide, "Schedule types": `rate(value unit)`, unit minute(s),
# hour(s) or day(s)). Only rates: each run analyses the interval since the last, so every record is read once.
DRIFT_RATE_PATTERN = re.compile(r"^rate\((?P<value>[1-9][0-9]*) (?P<unit>minute|minutes|hour|hours|day|days)\)$")
DRIFT_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
# A processing job takes minutes to provision, so shorter runs would overlap; CloudWatch alarm periods above a
# day are not useful for an hourly figure.
DRIFT_WINDOW_RANGE_S = (600, 86400)


def drift_window_seconds(expression: str) -> int:
    """The interval of a `rate(...)` schedule expression in seconds; SettingsError for anything else."""
    found = DRIFT_RATE_PATTERN.match(expression)
    if found is None:
        raise SettingsError(
            f"context drift_schedule: {expression!r} is not a rate expression such as rate(1 hour), "
            "rate(30 minutes) or rate(1 day)"
        )
    value, unit = int(found["value"]), found["unit"]
    if (value == 1) != (not unit.endswith("s")):
        raise SettingsError(f"context drift_schedule: {expression!r}: use {unit.rstrip('s')} for 1, plural otherwise")
    return value * DRIFT_UNIT_SECONDS[unit.rstrip("s")]


def _check_drift(settings: Settings) -> None:
    if not settings.drift_monitoring:
        return
    if not settings.data_capture:
        raise SettingsError("context drift_monitoring: needs data_capture=true (the monitor reads captured traffic)")
    low, high = DRIFT_WINDOW_RANGE_S
    window = drift_window_seconds(settings.drift_schedule)
    if not low <= window <= high:
        raise SettingsError(f"context drift_schedule: {settings.drift_schedule} is outside 10 minutes..1 day")
