"""DataProcessing's JSONPath (local_aws.transform.jsonpath) on the inputs and outputs of AWS's own examples.

Sources: developer guide "Associate Prediction Results with Input Records" (table "Supported JSONPath
Operators" and section "Batch Transform Examples"), API DataProcessing (InputFilter and OutputFilter
examples), sagemaker-python-sdk#1112 (two ranges in one filter refused).
"""

from __future__ import annotations

from typing import Any

import pytest

from local_aws.transform.jsonpath import JsonPathError, parse

FIVE_COLUMNS = ["id", "c1", "c2", "c3", "c4"]  # "your data includes five columns and the first one is the ID column"
SIX = ["a", "b", "c", "d", "e", "f"]
JOINED_JSON = {"id": 7, "features": [1.0, 2.0], "SageMakerOutput": {"closest_cluster": 3, "distance_to_cluster": 0.5}}


@pytest.mark.parametrize(
    ("path", "record", "selected"),
    [
        ("$", FIVE_COLUMNS, FIVE_COLUMNS),  # "$": the default, everything
        ("$[1:]", FIVE_COLUMNS, ["c1", "c2", "c3", "c4"]),  # "To exclude the first column ... $[1:]"
        ("$[1:4]", [*SIX], ["b", "c", "d", "e"]),  # "$[1:4] specifies the second through fifth columns"
        ("$[:5]", [*SIX, "g"], SIX),  # "[:5] ... from the first column (index 0) through the sixth column"
        ("$[5:]", [*SIX, "g"], ["f", "g"]),  # "[5:] ... from the 6th column through the last column"
        ("$[1,3,5]", SIX, ["b", "d", "f"]),  # table: an array of indexes
        ("$[-1]", SIX, "f"),  # table: "A -1 index refers to the last element in an array"
        ("$[0,-2,-1]", SIX, ["a", "e", "f"]),
        ("$[0,5:]", [*SIX, "g"], ["a", "f", "g"]),  # API DataProcessing, OutputFilter example
        ("$.id", JOINED_JSON, 7),  # table: ".<name>"
        ("$['id','SageMakerOutput']", JOINED_JSON, {"id": 7, "SageMakerOutput": JOINED_JSON["SageMakerOutput"]}),
        ("$.SageMakerOutput.*", JOINED_JSON, [3, 0.5]),  # table: "*", e.g. $.id.*
        ("$.features[*]", JOINED_JSON, [1.0, 2.0]),
        ("$.SageMakerOutput.['closest_cluster']", JOINED_JSON, {"closest_cluster": 3}),  # $.field1.['child1',...]
    ],
)
def test_the_documented_operators_select_as_aws_examples_say(path: str, record: Any, selected: Any) -> None:
    assert parse(path).apply(record) == selected


def test_two_ranges_in_one_filter_are_refused_in_aws_words() -> None:
    with pytest.raises(JsonPathError) as raised:
        parse("$[0:2,246:]")

    assert "only single range filters of format (eg: [1:5]) are supported" in str(raised.value)


@pytest.mark.parametrize("path", ["$..features", "$[?(@.id)]", "features", "$[0:2:1]"])
def test_operators_outside_the_subset_are_refused(path: str) -> None:
    with pytest.raises(JsonPathError):
        parse(path)


def test_an_index_beyond_the_record_is_an_error() -> None:
    with pytest.raises(JsonPathError, match="index out of range"):
        parse("$[0,9]").apply(SIX)
