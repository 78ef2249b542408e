"""The CLI's answer reader (orjson) and the processing job's (numpy only) make the same report of the same files."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitoring.accelerated import read_json_answers_orjson
from monitoring.processing import analyse_folder
from tests.monitoring.traffic import ENDPOINT, VARIANT, exchanges, in_distribution, make_build, shifted, write_capture

ESCAPED = '\\"'


def test_both_paths_report_the_same(tmp_path: Path) -> None:
    build = make_build(tmp_path / "build")
    write_capture(tmp_path / "capture", exchanges(build, in_distribution(1500)) + exchanges(build, shifted(500)))

    def report(**readers: object) -> dict[str, object]:
        return analyse_folder(tmp_path / "capture", build, endpoint=ENDPOINT, variant=VARIANT, window=None, **readers)  # type: ignore[arg-type]

    numpy_only = report()
    accelerated = report(json_answers=read_json_answers_orjson)

    assert numpy_only["rows"] == 2000
    assert accelerated == numpy_only


@pytest.mark.parametrize("body", ['{"predictions": [{"closest_cluster": 1.0}]}', '{"rows": []}', "not json"])
def test_the_orjson_reader_leaves_what_is_not_an_answer_to_the_exact_reader(body: str) -> None:
    assert read_json_answers_orjson([body]) is None
    assert read_json_answers_orjson([body.replace('"', ESCAPED)], ESCAPED) is None


def test_the_orjson_reader_reads_escaped_and_plain_answers_alike() -> None:
    plain = ['{"predictions": [{"distance_to_cluster": 2.5, "closest_cluster": 3.0}]}']
    escaped = [plain[0].replace('"', ESCAPED)]

    for got in (read_json_answers_orjson(plain), read_json_answers_orjson(escaped, ESCAPED)):
        assert got is not None
        assert (got[0].tolist(), got[1].tolist()) == ([3.0], [2.5])
