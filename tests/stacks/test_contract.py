"""The stack keeps the contract its users read: the output keys they look up, the grants as the table writes them."""

from __future__ import annotations

from contract.execution_role import GRANTS
from contract.stack import STACK_BASE_NAME, Output
from tests.stacks.conftest import Synthesized
from tests.stacks.test_endpoint_stack import actions, policy_statements

ALWAYS = {
    Output.ENDPOINT_NAME,
    Output.ENDPOINT_CONFIG_NAME,
    Output.EXECUTION_ROLE_ARN,
    Output.MODEL_DATA_URL,
    Output.ARTIFACT_SHA256,
    Output.REGION,
    Output.MODEL_NAME,
}


def test_the_stack_declares_every_output_its_users_read(default: Synthesized, with_shadow: Synthesized) -> None:
    shadow = {Output.of_candidate("Shadow", key) for key in (Output.MODEL_NAME, Output.ARTIFACT_SHA256)}

    assert set(default.body["Outputs"]) == ALWAYS
    scoring = {Output.SCORING_BUCKET_NAME, Output.SCORING_KEY_ARN}
    training = {Output.TRAINING_DATA_URI, Output.TRAINING_OUTPUT_URI, Output.TRAINING_ROLE_ARN,
                Output.TRAINING_KEY_ARN, Output.TRAINING_IMAGE_URI}  # fmt: skip
    assert set(with_shadow.body["Outputs"]) == ALWAYS | scoring | shadow | training


def test_the_default_stack_has_the_contracts_name(default: Synthesized) -> None:
    assert default.path.name == f"{STACK_BASE_NAME}.template.json"


def test_every_role_statement_is_a_row_of_the_grant_table_and_every_row_is_granted(
    synthesized: dict[str, Synthesized],
) -> None:
    rows = {grant.sid: set(grant.actions) for grant in GRANTS}
    granted: set[str] = set()
    for name, stack in synthesized.items():
        statements = policy_statements(stack)
        assert statements, name
        for sid, statement in statements.items():
            assert actions(statement) == rows[sid], (name, sid)
        granted |= set(statements)

    assert granted == set(rows)
