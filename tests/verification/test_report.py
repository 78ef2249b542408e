"""The report's machine-readable forms: each check with its duration."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree

from verification.checks import CheckResult
from verification.report import Report, write_json, write_junit


def timed_report() -> Report:
    report = Report(endpoint="KMeansEndpoint")
    report.add(CheckResult("endpoint in service", True, "InService", duration_s=0.0123456))
    report.add(CheckResult("predictions AllTraffic text/csv", True, "10 rows", {"rows": 10}, duration_s=1.5))
    return report


def test_the_json_report_gives_each_checks_duration_in_seconds(tmp_path: Path) -> None:
    write_json(timed_report(), tmp_path / "r.json")

    checks = json.loads((tmp_path / "r.json").read_text())["checks"]

    assert [(c["name"], c["duration_s"]) for c in checks] == [
        ("endpoint in service", 0.012),
        ("predictions AllTraffic text/csv", 1.5),
    ]
    assert checks[1]["rows"] == 10


def test_the_junit_report_times_each_testcase_and_the_suite(tmp_path: Path) -> None:
    write_junit(timed_report(), tmp_path / "r.xml")

    suite = ElementTree.parse(tmp_path / "r.xml").getroot()

    assert [case.get("time") for case in suite.iter("testcase")] == ["0.012", "1.500"]
    assert suite.get("time") == "1.512"
