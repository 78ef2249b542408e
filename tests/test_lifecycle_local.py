"""`make lifecycle-local` end to end on the local AWS: an approved package deployed with capture and drift monitoring,
no drift, drift (the schedule's job, the alarm, its SNS message), a retrain on the exported traffic with stable ids,
the candidate gate, register, approve, the approval deploys it, verified, and no drift on traffic like the new.

Every assertion reads what AWS (the local one) or the files say, not what the loop printed: a step whose answer were
hard-wired (the monitor's verdicts, the alarm, the served package, the ids) fails here."""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path

import numpy as np
import pytest

from contract.model_package import context_key
from contract.stack import STACK_BASE_NAME, describe_stack
from tests.approval.test_approve_local import context_file as context_file  # noqa: PLC0414 (the fixture)
from tests.conftest import RunningLocalAws
from tests.test_end_to_end import WARM_APP, cdk

pytestmark = pytest.mark.slow
STEPS = 21  # one line each, without the bootstrap step (`bootstrapped` did it)


def test_the_loop_closes_from_drift_to_an_approved_aligned_retrain(
    bootstrapped: RunningLocalAws, context_file: Path, tmp_path: Path
) -> None:
    group = f"lifecycle-{uuid.uuid4().hex[:8]}"
    build, loop = tmp_path / "build", tmp_path / "build" / "lifecycle"
    try:
        result = bootstrapped.run(
            "make", "lifecycle-local", f"BUILD_DIR={build}", f"CDK_OUT={tmp_path / 'cdk.out'}",
            f"LIFECYCLE_GROUP={group}", "LIFECYCLE_BOOTSTRAP=", WARM_APP, timeout=600,
        )  # fmt: skip
        output = result.stdout + result.stderr
        assert result.returncode == 0, output[-6000:]
        facts = json.loads((loop / "lifecycle.json").read_text())
        sagemaker = bootstrapped.client("sagemaker")
        served = describe_stack(STACK_BASE_NAME, bootstrapped.client("cloudformation")).outputs["ModelPackageArn"]
        statuses = [
            sagemaker.describe_model_package(ModelPackageName=arn)["ModelApprovalStatus"]
            for arn in (facts["packages"]["first"], facts["packages"]["candidate"])
        ]
    finally:
        remove_stack(bootstrapped, build, group, context_file)

    transcript = (loop / "transcript.txt").read_text().splitlines()
    print("\n".join(transcript))  # the loop's transcript, for a closing note (pytest -s)
    assert len(transcript) == STEPS + 1, transcript  # one line a step, and the closing line
    assert transcript[-1].startswith("the loop closed in ")
    assert facts["monitor_exit_codes"] == [0, 1, 0]  # no drift, drift, no drift: each the monitor's own exit code
    # The approval deployed each package: the first, then the candidate, both Approved in the registry.
    first, candidate = facts["packages"]["first"], facts["packages"]["candidate"]
    assert first != candidate
    assert facts["served"] == [first, candidate]
    assert served == candidate
    assert statuses == ["Approved", "Approved"]
    for build_name in ("first", "candidate"):  # each deploy the approval made was verified against its package
        verified = json.loads((loop / f"deploy-{build_name}" / "verification.json").read_text())
        assert (verified["exit_code"], verified["result"]) == (0, "passed"), verified
    # The schedule's job moved an alarm on the endpoint's drift metrics to ALARM, and its SNS message arrived.
    firing = [name for name, state in facts["alarm_states"].items() if state == "ALARM"]
    assert firing, facts["alarm_states"]
    assert all(facts["alarm_states_before"][name] != "ALARM" for name in firing)
    delivered = [(m["OldStateValue"], m["NewStateValue"]) for m in facts["alarm_messages"] if m["AlarmName"] in firing]
    assert delivered == [(facts["alarm_states_before"][name], "ALARM") for name in firing]
    # The retrain learned the new cluster under a new id and kept the old ids: the endpoint labels the old
    # clusters' probes as it did before, and the new cluster's under the new id.
    assert facts["candidate_previous_ids"] == [0, 1, 2, 3, None]
    before, after = facts["probe_labels_first"], facts["probe_labels_candidate"]
    assert before[:40] == after[:40]
    assert set(after[40:]) == {4}
    assert set(before[40:]) <= {0, 1, 2, 3}
    # It trained on the exported traffic (in-distribution and shifted) plus the old rows.
    assert np.loadtxt(loop / "recent.csv", delimiter=",").shape == (2400, 8)
    # The gate compared the old clusters' rows (agreement at the default 0.9) and set the new cluster's aside.
    assert facts["gate"]["new_clusters"] == [4]
    assert 0.0 < facts["gate"]["new_cluster_share"] < 1.0
    assert facts["gate"]["agreement"] >= facts["gate"]["min_agreement"] == 0.9


def remove_stack(local_aws: RunningLocalAws, build: Path, group: str, context_file: Path) -> None:
    """Empty the capture buckets, then destroy the stack (synthesized from the group's record, once there is one)."""
    local_aws.run(sys.executable, "-m", "teardown", "--stack", STACK_BASE_NAME, "--force")
    if context_file.exists() and context_key(group) in json.loads(context_file.read_text()):
        cdk(local_aws, build, "destroy", STACK_BASE_NAME, "-c", f"model_package_group={group}", "--force")
    else:  # the loop stopped before its first deploy: at most a stack that never served a package
        local_aws.client("cloudformation").delete_stack(StackName=STACK_BASE_NAME)
