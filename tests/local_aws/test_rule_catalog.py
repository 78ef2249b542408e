"""The README's table of what the local AWS enforces: every rule, its source and a test that depends on it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest

from local_aws.rules import RELAX_VARIABLE, RULES
from tests.conftest import REPO_ROOT

ROW = re.compile(r"^\| `(?P<rule>[a-z0-9-]+)` \| (?P<what>[^|]+) \| (?P<source>[^|]+) \| `(?P<test>[^`]+)` \|$")
SLOW_TESTS = ("tests/test_",)  # end-to-end ones (a CDK deploy each), left to the slow suite itself


def catalog() -> dict[str, str]:
    """rule id -> test node id, from the README's table."""
    text = (REPO_ROOT / "README.md").read_text()
    table = text.split("### What the local AWS enforces", 1)[1].split("\n\n")[2]
    rows = [ROW.match(line) for line in table.splitlines()[2:]]
    assert all(rows), [line for line, row in zip(table.splitlines()[2:], rows, strict=True) if not row]
    return {row["rule"]: row["test"] for row in rows if row}


def test_every_rule_is_in_the_table_once_with_a_test_that_exists() -> None:
    rows = catalog()

    assert len(rows) >= 20
    assert set(rows) == set(RULES)
    for rule, node in rows.items():
        path, _, name = node.partition("::")
        assert f"def {name}(" in (REPO_ROOT / path).read_text(), f"{rule}: {node} not found"


SHARDS = 2  # the suite's workers: each relaxed run takes a share of the rules, so they run side by side


@pytest.mark.slow
@pytest.mark.parametrize("shard", range(SHARDS))
def test_with_the_rules_switched_off_their_tests_fail(tmp_path: Path, shard: int) -> None:
    """A run with every rule of this shard whose test is quick switched off: each of those tests must fail."""
    quick = {rule: node for rule, node in catalog().items() if not node.startswith(SLOW_TESTS)}
    shared_out = set(sorted(set(quick.values()))[shard::SHARDS])  # by test: the rules one test holds, relaxed together
    quick = {rule: node for rule, node in quick.items() if node in shared_out}
    report = tmp_path / "relaxed.xml"
    environment = {**os.environ, RELAX_VARIABLE: ",".join(sorted(quick))}

    subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:xdist",
            "--junitxml",
            str(report),
            *sorted(set(quick.values())),  # just the rules' own tests: the rest of their files proves nothing here
        ],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )

    outcomes = _outcomes(report)
    passed = {rule: node for rule, node in quick.items() if outcomes.get(node.split("::")[1]) == "passed"}
    assert not passed, f"these tests pass with their rule switched off: {passed}"


def _outcomes(report: Path) -> dict[str, str]:
    """test function name -> 'failed' if any of its cases failed, else 'passed'."""
    outcomes: dict[str, str] = {}
    for case in ElementTree.parse(report).getroot().iter("testcase"):
        name = case.get("name", "").split("[")[0]
        failed = case.find("failure") is not None or case.find("error") is not None
        outcomes[name] = "failed" if failed or outcomes.get(name) == "failed" else "passed"
    return outcomes
