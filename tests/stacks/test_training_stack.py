"""`-c training=true`: the training bucket, the least-privilege training role and the outputs the CLI reads."""

from __future__ import annotations

import json
from typing import Any

import pytest

from contract import training
from contract.stack import Output
from stacks.settings import SettingsError, settings_from_context
from tests.stacks.conftest import Synthesized

TRAINING_OUTPUTS = {
    Output.TRAINING_DATA_URI,
    Output.TRAINING_OUTPUT_URI,
    Output.TRAINING_ROLE_ARN,
    Output.TRAINING_KEY_ARN,
    Output.TRAINING_IMAGE_URI,
}


def training_policy(synthesized: Synthesized) -> dict[str, dict[str, Any]]:
    """The training role's statements by sid."""
    policies = [
        body for name, body in synthesized.resources("AWS::IAM::ManagedPolicy").items() if name.startswith("Training")
    ]
    assert len(policies) == 1
    return {s["Sid"]: s for s in policies[0]["Properties"]["PolicyDocument"]["Statement"]}


def actions(statement: dict[str, Any]) -> set[str]:
    found = statement["Action"]
    return {found} if isinstance(found, str) else set(found)


def test_training_is_off_by_default(default: Synthesized) -> None:
    assert not TRAINING_OUTPUTS & set(default.body["Outputs"])
    assert not [name for name in default.resources("AWS::IAM::Role") if name.startswith("Training")]


@pytest.mark.parametrize("variant", ["with_shadow", "all_options"])
def test_the_training_role_holds_exactly_the_documented_rows(variant: str, request: pytest.FixtureRequest) -> None:
    statements = training_policy(request.getfixturevalue(variant))

    assert training.TRAINING_GRANTS
    assert list(statements) == [grant.sid for grant in training.TRAINING_GRANTS]
    for grant in training.TRAINING_GRANTS:
        assert actions(statements[grant.sid]) == set(grant.actions)


def test_the_role_lists_and_reads_data_writes_models_and_nothing_wider(with_shadow: Synthesized) -> None:
    statements = training_policy(with_shadow)
    listing, read, write = (statements[g.sid] for g in (training.LIST_TRAINING_DATA, training.READ_TRAINING_DATA,
                                                        training.WRITE_TRAINED_MODELS))  # fmt: skip

    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["data/*", "data"]}}
    assert json.dumps(read["Resource"]).endswith('"/data/*"]]}')
    assert json.dumps(write["Resource"]).endswith('"/models/*"]]}')
    logs = json.dumps(statements[training.WRITE_TRAINING_LOGS.sid]["Resource"])
    assert "log-group:/aws/sagemaker/TrainingJobs:*" in logs  # not the bare group ARN: that one covers tagging only
    assert "Endpoints" not in logs
    assert (
        statements[training.GRANT_VOLUME_KEY.sid]["Resource"] == statements[training.USE_TRAINING_KEY.sid]["Resource"]
    )
    # Only grants SageMaker creates for the volumes (KMS, "Controlling access to grants").
    assert statements[training.GRANT_VOLUME_KEY.sid]["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": "true"}}
    assert "repository/kmeans" in json.dumps(statements[training.PULL_TRAINING_IMAGE.sid]["Resource"])


def test_the_key_is_the_stacks_own_or_the_one_brought(with_shadow: Synthesized, all_options: Synthesized) -> None:
    own = training_policy(with_shadow)[training.USE_TRAINING_KEY.sid]["Resource"]
    brought = training_policy(all_options)[training.USE_TRAINING_KEY.sid]["Resource"]

    assert own == {"Fn::GetAtt": [next(iter(with_shadow.resources("AWS::KMS::Key"))), "Arn"]}
    assert brought == all_options.body["Outputs"][Output.TRAINING_KEY_ARN]["Value"]
    assert brought.startswith("arn:aws:kms:")


def test_the_training_bucket_is_encrypted_with_the_key_and_logged(with_shadow: Synthesized) -> None:
    buckets = {name: body for name, body in with_shadow.resources("AWS::S3::Bucket").items() if "Training" in name}
    store = next(body for name, body in buckets.items() if "AccessLogs" not in name)["Properties"]

    assert len(buckets) == 2  # the bucket and its access-log bucket
    rule = store["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    assert rule["SSEAlgorithm"] == "aws:kms"
    assert "LoggingConfiguration" in store


def test_the_outputs_name_data_models_role_key_and_image(with_shadow: Synthesized) -> None:
    outputs = with_shadow.body["Outputs"]

    assert set(outputs) >= TRAINING_OUTPUTS
    assert json.dumps(outputs[Output.TRAINING_DATA_URI]["Value"]).endswith('"/data/"]]}')
    assert json.dumps(outputs[Output.TRAINING_OUTPUT_URI]["Value"]).endswith('"/models/"]]}')
    assert json.dumps(outputs[Output.TRAINING_IMAGE_URI]["Value"]).endswith('"/kmeans:1"]]}')


def test_the_setting_takes_true_or_false_only() -> None:
    assert settings_from_context({"training": "true"}, check_artifact=False).training
    with pytest.raises(SettingsError, match="context training: expected true or false, got 'yes'"):
        settings_from_context({"training": "yes"}, check_artifact=False)
