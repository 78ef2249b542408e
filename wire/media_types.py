"""The content types of the k-means container's requests and answers (CONTRACTS.md §4, §12, §13)."""

from __future__ import annotations

CSV = "text/csv"
JSON = "application/json"
JSONLINES = "application/jsonlines"
PROTOBUF = "application/x-recordio-protobuf"

REQUEST_TYPES = (CSV, JSON, JSONLINES, PROTOBUF)  # what the container reads (Content-Type)
RESPONSE_TYPES = (JSON, JSONLINES, PROTOBUF, CSV)  # what it answers in (Accept; JSON when absent)
TRANSFORM_CONTENT_TYPES = (CSV, JSONLINES, PROTOBUF)  # a transform job's input (API TransformInput)
TRANSFORM_ACCEPTS = (CSV, JSONLINES)  # a transform job's output (API TransformOutput)
# What DataProcessing's JoinSource Input joins: "You can use input files in JSON and CSV format only" (developer
# guide "Associate prediction results with input records").
TRANSFORM_JOINABLE = (CSV, JSON, JSONLINES)
SPLIT_TYPE_FOR = {CSV: "Line", JSONLINES: "Line", PROTOBUF: "RecordIO"}  # how a transform splits each input


def media_type(header: str | None) -> str:
    """`text/csv; charset=utf-8` -> `text/csv`."""
    return (header or "").split(";")[0].strip().lower()
