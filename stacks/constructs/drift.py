"""The scheduled drift monitor: EventBridge Scheduler starts a SageMaker Processing job on the region's prebuilt
scikit-learn image, with the project's monitor code, the baseline and the captured traffic as its inputs."""

from __future__ import annotations

import hashlib
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk import Aws, CfnMapping, CfnRule, Fn, Stack, Token
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_scheduler as scheduler
from constructs import Construct

from aws_facts.processing_image import SKLEARN_ACCOUNTS, SKLEARN_PYTHON, SKLEARN_REPOSITORY, SKLEARN_TAG, image_mapping
from contract import drift_monitor as monitor
from stacks.nag import acknowledge_wildcard_resource

MAPPING_ID = "ScikitLearnImageByRegion"
PROCESSING_LOG_GROUP = "/aws/sagemaker/ProcessingJobs"
INSTANCE_TYPE = "ml.t3.medium"  # the smallest processing type; the monitor streams, so memory stays flat
VOLUME_GB = 10
EXECUTION_ID = "<aws.scheduler.execution-id>"  # unique per attempted invocation (Scheduler user guide)
SCHEDULED_TIME = "<aws.scheduler.scheduled-time>"  # the time this run was due, e.g. 2022-03-22T18:59:43Z
ROOT = Path(__file__).resolve().parents[2]
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # fixed, so the same code zips to the same bytes and the asset never churns


@dataclass(frozen=True)
class MonitorRun:
    """What one run analyses: the endpoint, its variants, the window (the schedule's interval), the job's code."""

    endpoint_name: str
    variant_names: tuple[str, ...]
    window_seconds: int
    code_packages: tuple[str, ...]
    entry_module: str
    baseline_path: Path
    artifact_sha256: str  # the monitor refuses a baseline of another model


class ScikitLearnImage(Construct):
    """The region's prebuilt scikit-learn image (aws_facts.processing_image) as a CfnMapping, refused elsewhere."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        mapping = CfnMapping(Stack.of(self), MAPPING_ID, mapping=image_mapping())
        account = mapping.find_in_map(Aws.REGION, "account")
        domain = mapping.find_in_map(Aws.REGION, "domain")
        self.uri = Fn.join("", [account, ".dkr.ecr.", Aws.REGION, ".", domain, f"/{SKLEARN_REPOSITORY}:{SKLEARN_TAG}"])
        self.repository_arn = Fn.join(
            "", ["arn:", Aws.PARTITION, ":ecr:", Aws.REGION, ":", account, f":repository/{SKLEARN_REPOSITORY}"]
        )
        CfnRule(
            Stack.of(self),
            "RegionHasScikitLearnImage",
            assertions=[
                {
                    "assert": Fn.condition_contains(sorted(SKLEARN_ACCOUNTS), Aws.REGION),
                    "assertDescription": "SageMaker's prebuilt scikit-learn image (the drift monitor's) is not "
                    "published in this region; supported: " + ", ".join(sorted(SKLEARN_ACCOUNTS)),
                }
            ],
        )


def code_zip(packages: tuple[str, ...], root: Path = ROOT) -> Path:
    """The packages' Python sources in one zip (importable as is: PYTHONPATH=<zip>), byte-identical per content."""
    files = sorted(
        path
        for package in packages
        for path in (root / package).rglob("*.py")
        # Sources only: no bytecode, and not the protobuf gencode `make setup` writes (the monitor reads RecordIO
        # with wire.portable; the gencode needs a newer protobuf runtime than the image's).
        if "__pycache__" not in path.parts and not path.name.endswith("_pb2.py")
    )
    if not files:
        raise FileNotFoundError(f"no Python sources in {', '.join(packages)} under {root}")
    digest = hashlib.sha256()
    for path in files:
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    target = Path(tempfile.gettempdir()) / "kmeans-byom-monitor-code" / f"{digest.hexdigest()[:32]}.zip"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".partial")
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in files:
                info = zipfile.ZipInfo(str(path.relative_to(root)), ZIP_TIME)
                info.compress_type, info.external_attr = zipfile.ZIP_DEFLATED, 0o644 << 16
                archive.writestr(info, path.read_bytes())
        partial.replace(target)
    return target


class ProcessingRole(Construct):
    """What the monitor's processing job may do: read its inputs, write its reports, publish its figures."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        input_object_arns: list[str],
        inputs_bucket_arn: str,
        input_keys: list[str],
        capture: s3.IBucket,
        capture_prefix: str,
        report_prefix: str,
        key_arn: str,
        image_repository_arn: str,
    ) -> None:
        super().__init__(scope, construct_id)
        logs_arn = f"arn:{Aws.PARTITION}:logs:{Aws.REGION}:{Aws.ACCOUNT_ID}:log-group:{PROCESSING_LOG_GROUP}"
        streams_arn = f"{logs_arn}:log-stream:{monitor.JOB_NAME_PREFIX}*"
        capture_objects, report_objects = (
            capture.arn_for_objects(f"{capture_prefix}*"),
            capture.arn_for_objects(f"{report_prefix}*"),
        )
        statements = [
            _allow(monitor.READ_MONITOR_INPUTS, [*input_object_arns, capture_objects]),
            _allow(monitor.LIST_CAPTURE, [capture.bucket_arn], {"StringLike": {"s3:prefix": f"{capture_prefix}*"}}),
            _allow(monitor.LIST_MONITOR_INPUTS, [inputs_bucket_arn], {"StringEquals": {"s3:prefix": input_keys}}),
            _allow(monitor.WRITE_DRIFT_REPORTS, [report_objects]),
            _allow(
                monitor.PUBLISH_DRIFT_METRICS,
                ["*"],
                {"StringEquals": {"cloudwatch:namespace": monitor.METRIC_NAMESPACE}},
            ),
            # CreateLogGroup needs the group with its trailing `:*` (the bare group ARN covers only tagging;
            # CloudWatch Logs, "CloudWatch Logs resources and operations"); the streams stay the monitor's own.
            _allow(monitor.CREATE_PROCESSING_LOG_GROUP, [f"{logs_arn}:*"]),
            _allow(monitor.WRITE_PROCESSING_LOGS, [streams_arn]),
            _allow(monitor.USE_MONITOR_KEY, [key_arn]),
            _allow(monitor.GRANT_VOLUME_KEY, [key_arn]),
            _allow(monitor.PULL_SKLEARN_IMAGE, [image_repository_arn]),
            _allow(monitor.GET_REGISTRY_TOKEN, ["*"]),
        ]
        role = iam.Role(
            self, "Role", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"), description="kmeans-byom drift"
        )
        self.policy = iam.ManagedPolicy(self, "Policy", statements=statements, roles=[role])
        self.role_arn = role.role_arn
        reasons = {
            "*": "Only for actions without resource-level permissions: cloudwatch:PutMetricData (conditioned on "
            "the monitor's own namespace) and ecr:GetAuthorizationToken.",
            f"{logs_arn}:*": "CreateLogGroup alone, on the processing log group (CloudWatch Logs authorizes group "
            "actions on log-group:NAME:*, never on the bare group ARN).",
            streams_arn: "SageMaker names a processing job's log streams <job name>/<host>-<epoch> at run time; "
            "the grant is limited to the monitor's jobs.",
            capture_objects: "SageMaker's data capture picks date-based keys; the grant reads this endpoint's "
            "capture prefix of this stack's own bucket.",
            report_objects: "Each run writes its report under its own scheduled time; the grant is the report "
            "prefix of this endpoint in this stack's own bucket.",
        }
        for resource, reason in reasons.items():
            acknowledge_wildcard_resource(self.policy, resource, reason)


class SchedulerRole(Construct):
    """What EventBridge Scheduler may do: start the monitor's processing jobs and pass them exactly their role."""

    def __init__(self, scope: Construct, construct_id: str, *, processing_role_arn: str) -> None:
        super().__init__(scope, construct_id)
        jobs_arn = (
            f"arn:{Aws.PARTITION}:sagemaker:{Aws.REGION}:{Aws.ACCOUNT_ID}:processing-job/{monitor.JOB_NAME_PREFIX}*"
        )
        statements = [
            _allow(monitor.START_MONITOR_JOB, [jobs_arn]),
            _allow(
                monitor.PASS_PROCESSING_ROLE,
                [processing_role_arn],
                {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            ),
        ]
        role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}}
            ),
            description="kmeans-byom drift schedule",
        )
        self.policy = iam.ManagedPolicy(self, "Policy", statements=statements, roles=[role])
        self.role_arn = role.role_arn
        acknowledge_wildcard_resource(
            self.policy,
            jobs_arn,
            "Each run's job is named after the scheduler's execution id, unknown until it runs; the grant is "
            "the monitor's job-name prefix.",
        )


class DriftMonitor(Construct):
    """The schedule, its two roles, and the code and baseline assets; exposes `schedule_name`."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        run: MonitorRun,
        schedule_expression: str,
        capture: s3.IBucket,
        capture_prefix: str,
        key: kms.IKey,
    ) -> None:
        super().__init__(scope, construct_id)
        image = ScikitLearnImage(self, "Image")
        code = s3_assets.Asset(self, "Code", path=str(code_zip(run.code_packages)))
        baseline = s3_assets.Asset(self, "Baseline", path=str(run.baseline_path))
        endpoint_capture = f"{capture_prefix}/{run.endpoint_name}/"
        report_prefix = f"{monitor.REPORT_PREFIX}/{run.endpoint_name}/"
        processing = ProcessingRole(
            self, "ProcessingRole", capture=capture, capture_prefix=endpoint_capture, report_prefix=report_prefix,
            input_object_arns=[code.bucket.arn_for_objects(code.s3_object_key),
                               baseline.bucket.arn_for_objects(baseline.s3_object_key)],
            inputs_bucket_arn=code.bucket.bucket_arn, input_keys=[code.s3_object_key, baseline.s3_object_key],
            key_arn=key.key_arn, image_repository_arn=image.repository_arn,
        )  # fmt: skip
        starter = SchedulerRole(self, "SchedulerRole", processing_role_arn=processing.role_arn)
        request = _job_request(
            run, image_uri=image.uri, role_arn=processing.role_arn, key_arn=key.key_arn,
            code=(code.s3_object_url, code.s3_object_key), baseline=(baseline.s3_object_url, baseline.s3_object_key),
            capture_uri=f"s3://{capture.bucket_name}/{endpoint_capture}",
            report_uri=capture.s3_url_for_object(f"{report_prefix}{SCHEDULED_TIME}/"),
        )  # fmt: skip
        schedule = scheduler.CfnSchedule(
            self,
            "Schedule",
            description=f"kmeans-byom: drift of {run.endpoint_name}'s captured traffic",
            schedule_expression=schedule_expression,
            flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
            state="ENABLED",
            target=scheduler.CfnSchedule.TargetProperty(
                arn="arn:aws:scheduler:::aws-sdk:sagemaker:createProcessingJob",
                role_arn=starter.role_arn,
                input=Stack.of(self).to_json_string(request),
                # A run that cannot start within the window is stale: the next one covers its traffic.
                retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(
                    maximum_event_age_in_seconds=max(60, min(run.window_seconds, 86400)), maximum_retry_attempts=3
                ),
            ),
        )
        schedule.node.add_dependency(starter.policy, processing.policy)
        self.schedule_name = schedule.ref


def _job_request(
    run: MonitorRun,
    *,
    image_uri: str,
    role_arn: str,
    key_arn: str,
    code: tuple[str, str],
    baseline: tuple[str, str],
    capture_uri: str,
    report_uri: str,
) -> dict[str, Any]:
    """CreateProcessingJob's request, as the scheduler sends it (context attributes replaced per run)."""
    code_url, code_key = code
    baseline_url, baseline_key = baseline
    return {
        "ProcessingJobName": f"{monitor.JOB_NAME_PREFIX}{EXECUTION_ID}",
        "RoleArn": role_arn,
        "AppSpecification": {
            "ImageUri": image_uri,
            "ContainerEntrypoint": [SKLEARN_PYTHON, "-m", run.entry_module],
            "ContainerArguments": _arguments(run, f"{monitor.BASELINE_PATH}/{_file_name(baseline_key)}", capture_uri),
        },
        # The code is a zip of pure-Python packages: Python imports straight from it (zipimport), no unpacking.
        "Environment": {"PYTHONPATH": f"{monitor.CODE_PATH}/{_file_name(code_key)}", "AWS_DEFAULT_REGION": Aws.REGION},
        "ProcessingInputs": [
            _input("code", code_url, monitor.CODE_PATH),
            _input("baseline", baseline_url, monitor.BASELINE_PATH),
            # Not the capture: an S3Prefix input would copy the endpoint's whole history every run; the job reads
            # only its window's hour folders from --capture-s3 itself (monitoring.processing.copy_capture).
        ],
        "ProcessingOutputConfig": {
            "Outputs": [
                {
                    "OutputName": "report",
                    "S3Output": {"S3Uri": report_uri, "LocalPath": monitor.REPORT_PATH, "S3UploadMode": "EndOfJob"},
                }
            ],
            "KmsKeyId": key_arn,
        },
        "ProcessingResources": {
            "ClusterConfig": {
                "InstanceCount": 1,
                "InstanceType": INSTANCE_TYPE,
                "VolumeSizeInGB": VOLUME_GB,
                "VolumeKmsKeyId": key_arn,
            }
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": max(60, min(run.window_seconds, 3600))},
    }


def _file_name(key: str) -> str:
    """Where a File-mode S3Prefix input of one object puts it: LocalPath/<the key's last segment>, whatever prefix
    the synthesizer gives asset keys (API S3DataSource.S3Uri: the key below the prefix is kept)."""
    if Token.is_unresolved(key):
        raise ValueError(f"the asset's object key must be known at synth time, not {key}")
    return key.rsplit("/", 1)[-1]


def _arguments(run: MonitorRun, baseline_file: str, capture_uri: str) -> list[str]:
    arguments = [
        "--capture", monitor.CAPTURE_PATH, "--capture-s3", capture_uri,
        "--baseline", baseline_file, "--report", monitor.REPORT_PATH,
        "--endpoint", run.endpoint_name, "--namespace", monitor.METRIC_NAMESPACE,
        "--end", SCHEDULED_TIME, "--since", f"{run.window_seconds}s", "--lag", f"{monitor.CAPTURE_LAG_SECONDS}s",
        "--artifact-sha256", run.artifact_sha256,
    ]  # fmt: skip
    for variant in run.variant_names:
        arguments += ["--variant", variant]
    return arguments


def _input(name: str, uri: str, local_path: str) -> dict[str, Any]:
    return {
        "InputName": name,
        "S3Input": {
            "S3Uri": uri,
            "LocalPath": local_path,
            "S3DataType": "S3Prefix",
            "S3InputMode": "File",
            "S3DataDistributionType": "FullyReplicated",
        },
    }


def _allow(grant: Any, resources: list[str], conditions: dict[str, Any] | None = None) -> iam.PolicyStatement:
    return iam.PolicyStatement(sid=grant.sid, actions=list(grant.actions), resources=resources, conditions=conditions)
