"""The grant table: what SageMaker calls is always granted, and each row is one statement."""

from __future__ import annotations

import pytest

from contract.execution_role import GRANTS, HOSTING, PULL_IMAGE, WRITE_ENDPOINT_LOGS, Grant


def test_every_row_has_a_distinct_sid_and_grants_what_sagemaker_calls() -> None:
    assert GRANTS
    assert len({grant.sid for grant in GRANTS}) == len(GRANTS)
    for grant in GRANTS:
        assert grant.used, grant.sid
        assert set(grant.used) <= set(grant.actions), grant.sid


def test_hosting_needs_the_artifact_the_image_and_the_logs_only() -> None:
    assert {grant.sid for grant in HOSTING} == {
        "ReadModelArtifact", "GetRegistryToken", "PullKMeansImage", "WriteEndpointLogs"
    }  # fmt: skip
    assert "ecr:BatchCheckLayerAvailability" not in PULL_IMAGE.used  # a push-side action, granted but never called
    assert "logs:DescribeLogStreams" not in WRITE_ENDPOINT_LOGS.used


def test_a_row_that_uses_an_action_it_does_not_grant_is_refused() -> None:
    with pytest.raises(ValueError, match=r"Broken: used actions \['s3:PutObject'\] are not granted"):
        Grant("Broken", ("s3:GetObject",), used=("s3:PutObject",))
