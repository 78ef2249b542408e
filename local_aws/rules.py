"""The rules the local AWS enforces beyond moto, by id; each can be relaxed to show its test then fails.

`LOCAL_AWS_RELAX=rule-id,rule-id` (read by the control plane and the runtime when they start) switches
rules off. It exists to prove that each rule's test depends on its rule; nothing else should set it.
"""

from __future__ import annotations

import os

RELAX_VARIABLE = "LOCAL_AWS_RELAX"

RULES = {
    "api-model-validation": "every request is checked against botocore's model of its operation (required members, "
    "enums, ranges, lengths, patterns) before the service sees it",
    "cfn-sagemaker-names": "unnamed SageMaker resources: logical id + 12 random characters, no stack prefix",
    "sagemaker-arn-lower-case": "SageMaker ARNs carry model, endpoint-config and endpoint names in lower case",
    "iam-evaluation": "calls made with a role's credentials are authorized against its policies",
    "iam-condition-keys": "aws:ResourceTag conditions are evaluated; an unknown condition key denies",
    "instance-type-enum": "an instance type outside botocore's ProductionVariantInstanceType is refused",
    "kms-local-storage": "KmsKeyId with a local-storage instance type is refused",
    "duplicate-variant-names": "two production variants with one name are refused",
    "shadow-variant-limits": "a shadow variant needs exactly one production variant, both instance-based",
    "serverless-exclusions": "serverless variants refuse data capture and rolling deployments",
    "canary-size": "canary size is 1-50 % of the fleet",
    "linear-step-size": "linear step size is 10-50 % of the fleet",
    "wait-intervals": "WaitIntervalInSeconds and TerminationWaitInSeconds are 0-3600",
    "execution-timeout": "MaximumExecutionTimeoutInSeconds is 600-28800",
    "execution-timeout-covers-waits": "MaximumExecutionTimeoutInSeconds exceeds the deployment's total waiting time",
    "execution-role-artifact": "the execution role must allow s3:GetObject on the model artifact",
    "execution-role-image": "the execution role must allow pulling the image from ECR",
    "execution-role-logs": "the execution role must allow writing the endpoint's CloudWatch logs",
    "execution-role-alarms": "on update with auto-rollback, the execution role must allow cloudwatch:DescribeAlarms",
    "model-health-check": "a model the container cannot load fails the endpoint, not the first invocation",
    "stack-rollback": "a failed resource fails the stack, which rolls back and leaves nothing behind",
    "alarm-rollback": "an alarm in ALARM while a blue/green update bakes rolls the endpoint back to the old config",
    "retain-variant-properties": "UpdateEndpoint resets instance count and weight unless they are retained",
    "autoscaled-instance-type": "an update changing the instance type of an autoscaled variant fails",
    "autoscaled-variant-removal": "an update removing a production variant that is a scalable target fails",
    "async-inference-in-place": "an update cannot add or remove AsyncInferenceConfig (real-time <-> asynchronous)",
    "guardrails-variant-names": "an update with a DeploymentConfig keeps the old config's variant names",
    "invoke-authorization": "InvokeEndpoint is authorized against the caller's role",
    "s3-missing-object-list-bucket": "reading a missing object answers AccessDenied unless the caller may "
    "s3:ListBucket",
    "s3-sse-kms-caller": "writing to or reading from an SSE-KMS bucket needs kms:GenerateDataKey / kms:Decrypt on "
    "its key",
    "async-durable-queue": "an accepted asynchronous invocation outlives a crash of the runtime: a replaced one "
    "answers it, with the same InferenceId and output location",
    "async-instance-capacity": "MaxConcurrentInvocationsPerInstance x the current instance count bounds the "
    "asynchronous requests answered at once; with 0 instances they wait in the queue",
    "async-backlog-metrics": "the runtime publishes ApproximateBacklogSize(PerInstance) and HasBacklogWithoutCapacity "
    "of each asynchronous endpoint to CloudWatch",
    "async-output-kms": "asynchronous answers and errors are written SSE-KMS with OutputConfig.KmsKeyId",
    "async-execution-role": "asynchronous requests are read, answered, failed and notified as the endpoint's "
    "execution role: a denied call fails that invocation",
    "async-request-ttl": "an asynchronous request queued past its RequestTTLSeconds, or processed past its "
    "InvocationTimeoutSeconds, fails as expired",
    "serverless-concurrency": "more concurrent invocations than MaxConcurrency are throttled",
    "transform-job-limits": "CreateTransformJob refuses MaxPayloadInMB outside 1-100, more than 100 MB in flight, "
    "an unsupported JSONPath, and JoinSource across formats",
    "transform-execution-role": "a transform job fails unless its role may read the input and write the output",
    "transform-record-size": "a record larger than MaxPayloadInMB fails its transform job",
    "transform-join-formats": "CreateTransformJob refuses JoinSource Input unless the input is CSV or JSON",
    "transform-filter-formats": "CreateTransformJob refuses InputFilter or OutputFilter unless the input is CSV or "
    "JSON",
    "transform-jsonpath": "DataProcessing's JSONPath as documented: `*`, `.['a','b']`, one slice among indices, "
    "slices with an inclusive end",
    "transform-join-wrap": "JoinSource Input wraps a JSON record that is not an object as SageMakerInput",
    "job-input-rights": "a job's role needs s3:ListBucket (with s3:prefix) on an S3Prefix input and kms:Decrypt "
    "on the key of each SSE-KMS input object",
    "transform-output-kms": "transform outputs are SSE-KMS with TransformOutput.KmsKeyId (else aws/s3), which the "
    "role must allow kms:GenerateDataKey on",
    "training-hyperparameters": "a k-means training job fails (ClientError) on an unknown hyperparameter",
    "training-image": "a training job fails unless its image is the region's built-in k-means image",
    "training-execution-role": "a training job fails unless its role may pull the image, read every input "
    "object, write the model and use the output and volume KMS keys",
    "training-input-listed": "CreateTrainingJob is refused when an S3Prefix channel has no objects or the role "
    "may not s3:ListBucket its bucket",
    "training-pipe-csv": "a k-means training job fails (ClientError) on a CSV channel in Pipe mode",
    "training-stop-terminal": "StopTrainingJob on a job in a terminal status is refused",
    "training-feature-dim": "a k-means training job fails (ClientError) when rows are not feature_dim wide",
    "processing-jobs-run": "CreateProcessingJob runs the job: inputs downloaded, the container's command run, "
    "outputs uploaded at the end, Completed or Failed with a FailureReason and ExitMessage (moto: Completed at once)",
    "processing-image": "the local AWS runs processing jobs on the region's prebuilt scikit-learn image only",
    "processing-job-role": "a processing job fails unless its role may pull the image, read every input, write "
    "every output and create a grant on its volume KMS key",
    "processing-paths": "CreateProcessingJob refuses a LocalPath outside /opt/ml/processing/ and a repeated "
    "InputName or OutputName",
    "pass-role": "CreateProcessingJob and CreateTrainingJob with a role's credentials need iam:PassRole on its "
    "RoleArn (iam:PassedToService sagemaker.amazonaws.com)",
    "service-role-trust": "a service acts as a role only if the role's trust policy allows its service principal "
    "(with aws:SourceAccount, and aws:SourceArn where sent): Scheduler for a schedule, SageMaker for a processing job",
    "schedule-target-role": "a schedule calls its target's API with its role's credentials, so the role's policy "
    "decides",
    "alarm-evaluation": "PutMetricData evaluates the alarms on that metric and moves them between OK, ALARM and "
    "INSUFFICIENT_DATA, notifying their SNS actions",
    "serverless-cold-start": "the first invocation after a serverless (re)deploy can answer ModelNotReadyException",
    "model-package-approval-default": "a versioned model package created without ModelApprovalStatus is "
    "PendingManualApproval",
    "model-package-update-merge": "UpdateModelPackage changes only what it is given: metadata merged, approval status "
    "and description kept",
    "model-package-transitions": "an Approved or Rejected model package cannot go back to PendingManualApproval "
    "(not among the transitions AWS lists)",
    "model-package-deploy-approved": "CreateModel with a ModelPackageName refuses a package that is not Approved",
    "model-package-events": "creating a versioned model package or changing its ModelApprovalStatus sends a SageMaker "
    "Model Package State Change event to the default bus, delivered to the SQS, SNS and log-group targets of matching "
    "rules",
    "events-sqs-queue-policy": "EventBridge delivers to an SQS queue only if its policy allows events.amazonaws.com "
    "sqs:SendMessage (for the rule's aws:SourceArn)",
    "model-package-group-policy": "PutModelPackageGroupPolicy stores a policy document (JSON with a Statement list) "
    "for an existing group, GetModelPackageGroupPolicy answers it",
    "cfn-resource-validation": "a resource CloudFormation creates is checked against the API model of the call its "
    "handler makes: a property that breaks it fails the resource",
    "cfn-endpoint-name": "AWS::SageMaker::Endpoint keeps the EndpointName its template declares",
    "cfn-previous-parameters": "UsePreviousValue of a parameter never recorded leaves it out: its default applies",
    "cfn-update-dependents": "an update modifies every resource that references a modified one, after it",
    "cfn-managed-policy-delete": "deleting an AWS::IAM::ManagedPolicy detaches it from its roles and deletes it",
    "cfn-managed-policy-update": "updating an AWS::IAM::ManagedPolicy deletes the old policy and creates the new one",
    "cfn-kms-key-tags": "AWS::KMS::Key takes its tags as {Key, Value}",
    "cfn-kms-key-update": "a changed AWS::KMS::Key policy, description, tags, rotation or state updates the key in "
    "place",
    "cfn-log-group-update": "a renamed AWS::Logs::LogGroup is replaced (the old one deleted in cleanup)",
    "cfn-remove-in-cleanup": "a resource removed from the template is deleted in the cleanup phase, after the "
    "update; if the update fails it stays",
    "cfn-delete-failed": "a resource that cannot be deleted (a bucket holding objects) leaves the stack DELETE_FAILED",
    "cfn-cleanup-delete-failed": "a resource the update's cleanup cannot delete is left behind, out of the stack, "
    "with a DELETE_FAILED event; the update still completes",
    "cfn-change-sets": "change sets run as CreateStack/UpdateStack do, say what they replace, and a missing one "
    "answers ChangeSetNotFound",
}


def relaxed() -> frozenset[str]:
    named = {name.strip() for name in os.environ.get(RELAX_VARIABLE, "").split(",") if name.strip()}
    unknown = named - RULES.keys()
    if unknown:
        raise ValueError(f"{RELAX_VARIABLE}: unknown rules {sorted(unknown)}; known: {sorted(RULES)}")
    return frozenset(named)


def enforced(rule: str) -> bool:
    assert rule in RULES, rule
    return rule not in relaxed()
