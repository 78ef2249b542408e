"""Where the verifier's offline checks write and read in the scoring bucket, and what it names its jobs.

The verifier's grants (stacks/verifier_access.py) are scoped to exactly these names.
"""

from __future__ import annotations

from typing import Final

JOB_PREFIX: Final = "kmeans-verify"  # every transform job and request object the verifier makes starts so
INPUT_PREFIX: Final = "input"  # the scoring bucket's prefixes (stacks/constructs/scoring.py lays it out)
OUTPUT_PREFIX: Final = "output"


def async_request_key(name: str) -> str:
    """The object InvokeEndpointAsync reads the reference rows from."""
    return f"{INPUT_PREFIX}/{name}.csv"


def batch_input_prefix(name: str) -> str:
    """What a verifier's transform job reads: the one object `<prefix>/reference.csv`."""
    return f"{INPUT_PREFIX}/{name}"


def batch_output_prefix(name: str) -> str:
    """Where a verifier's transform job writes: `<prefix>/reference.csv.out`."""
    return f"{OUTPUT_PREFIX}/{name}"
