"""`run --as ROLE`: credentials of one of the stacks' roles, so a command runs with only what it grants."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.exceptions import ClientError

from contract.stack import read_outputs
from local_aws.config import ACCOUNT_ID, DUMMY_KEY_ID, DUMMY_SECRET, REGION, RUN_AS_SESSION_NAME, LocalAwsConfig
from local_aws.processes import LocalAwsError


def _client(service: str, config: LocalAwsConfig) -> Any:
    return boto3.session.Session().client(
        service,
        endpoint_url=config.control_url,
        region_name=REGION,
        aws_access_key_id=DUMMY_KEY_ID,
        aws_secret_access_key=DUMMY_SECRET,
    )


def role_arn(role: str, config: LocalAwsConfig) -> str:
    """ROLE as given: a role ARN, a role name, or STACK.OUTPUT naming a stack output that holds one."""
    if role.startswith("arn:"):
        return role
    if "." in role:
        stack, _, output = role.partition(".")
        return _stack_output(stack, output, config)
    try:
        arn: str = _client("iam", config).get_role(RoleName=role)["Role"]["Arn"]
    except ClientError as error:
        raise LocalAwsError(f"--as {role}: no such role in the local AWS ({error})") from error
    return arn


def _stack_output(stack: str, output: str, config: LocalAwsConfig) -> str:
    try:
        outputs = read_outputs(stack, _client("cloudformation", config))
    except ClientError as error:
        raise LocalAwsError(f"--as {stack}.{output}: no stack {stack} ({error})") from error
    if output not in outputs:
        raise LocalAwsError(f"--as {stack}.{output}: the stack has no output {output} (it has {sorted(outputs)})")
    return str(outputs[output])


def role_credentials(role: str, config: LocalAwsConfig) -> dict[str, str]:
    """The environment that makes boto3, the AWS CLI and the CDK CLI act as `role` on this local AWS."""
    arn = role_arn(role, config)
    if not arn.startswith(f"arn:aws:iam::{ACCOUNT_ID}:role/"):
        raise LocalAwsError(f"--as {role}: {arn} is not a role of account {ACCOUNT_ID}")
    try:
        _client("iam", config).get_role(RoleName=arn.rsplit("/", 1)[-1])
        credentials = _client("sts", config).assume_role(RoleArn=arn, RoleSessionName=RUN_AS_SESSION_NAME)[
            "Credentials"
        ]
    except ClientError as error:
        raise LocalAwsError(f"--as {role}: cannot assume {arn} ({error})") from error
    return {
        "AWS_ACCESS_KEY_ID": credentials["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": credentials["SecretAccessKey"],
        "AWS_SESSION_TOKEN": credentials["SessionToken"],
    }
