"""The CustomerMetadataProperties a registered k-means package carries: the one home of their keys and limits.

AWS's limits come from botocore's model of `CustomerMetadataMap` (at most 50 entries; keys 1-128 and values
1-256 characters of letters, digits, spaces and `_.:/=+-@`), read once, so a value that would be refused is
refused here first, in one line, before anything is uploaded or created.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from collections.abc import Mapping
from functools import cache
from typing import Final

import botocore.session

PREFIX: Final = "kmeans-byom:"
MODEL_TYPE: Final = f"{PREFIX}model-type"
ARTIFACT_SHA256: Final = f"{PREFIX}artifact-sha256"
CLUSTERS: Final = f"{PREFIX}clusters"
FEATURES: Final = f"{PREFIX}features"
MANIFEST_URI: Final = f"{PREFIX}manifest-uri"
REFERENCE_URI: Final = f"{PREFIX}reference-uri"
REFERENCE_SHA256: Final = f"{PREFIX}reference-sha256"
ALIGNED_TO: Final = f"{PREFIX}aligned-to"  # the previous artifact's sha256 the build kept its ids from
COMPARED_TO: Final = f"{PREFIX}compared-to"  # the approved package the comparison below is with
AGREEMENT: Final = f"{PREFIX}agreement"  # aligned label agreement on the new build's reference rows
ADJUSTED_RAND_INDEX: Final = f"{PREFIX}adjusted-rand-index"
VERDICT: Final = f"{PREFIX}verdict"

KMEANS: Final = "kmeans"  # MODEL_TYPE's value
SAME_SOLUTION: Final = "same-solution"  # VERDICT's values (the comparison's sentence has characters AWS refuses)
DIFFERENT_SOLUTION: Final = "different-solution"
NONE: Final = "none"  # ALIGNED_TO when the build was not aligned

REQUIRED: Final = (MODEL_TYPE, ARTIFACT_SHA256, CLUSTERS, FEATURES, MANIFEST_URI, REFERENCE_URI, REFERENCE_SHA256)
COMPARISON: Final = (COMPARED_TO, AGREEMENT, ADJUSTED_RAND_INDEX, VERDICT)


class MetadataError(ValueError):
    """Metadata AWS would refuse; the message names the key and the limit."""


@cache
def limits() -> tuple[int, int, int, re.Pattern[str]]:
    """(max entries, max key length, max value length, allowed characters) from botocore's SageMaker model."""
    model = botocore.session.get_session().get_service_model("sagemaker")
    entries = model.shape_for("CustomerMetadataMap").metadata["max"]
    key = model.shape_for("CustomerMetadataKey").metadata["max"]
    value = model.shape_for("CustomerMetadataValue").metadata["max"]
    # The model's pattern is Java's `([\p{L}\p{Z}\p{N}_.:\/=+\-@]*)${1,256}`; Python's re has no \p{...}, so the
    # same class is spelled with \w (letters, digits, _) and the separators \p{Z} names, listed from Unicode's
    # categories (not \s: that would also let tabs and line breaks through, which are control characters).
    return entries, key, value, re.compile(f"[\\w{re.escape(_separators())}.:/=+\\-@]*")


@cache
def _separators() -> str:
    """Every Unicode separator (categories Zs, Zl, Zp: \\p{Z}), the space among them."""
    return "".join(chr(point) for point in range(sys.maxunicode + 1) if unicodedata.category(chr(point))[0] == "Z")


def check(properties: Mapping[str, str]) -> None:
    """Refuse metadata AWS would refuse, naming the first key that breaks a limit."""
    entries, key_max, value_max, allowed = limits()
    if len(properties) > entries:
        raise MetadataError(f"CustomerMetadataProperties: {len(properties)} entries, AWS allows {entries}")
    for key, value in properties.items():
        for what, text, most in (("key", key, key_max), ("value", value, value_max)):
            if not 1 <= len(text) <= most:
                raise MetadataError(
                    f"CustomerMetadataProperties {key!r}: the {what} has {len(text)} characters (AWS allows 1-{most})"
                )
            if not allowed.fullmatch(text):
                raise MetadataError(
                    f"CustomerMetadataProperties {key!r}: the {what} {text!r} has characters AWS "
                    "refuses (letters, digits, spaces and _.:/=+-@ only)"
                )


def registration_properties(
    *,
    artifact_sha256: str,
    clusters: int,
    features: int,
    manifest_uri: str,
    reference_uri: str,
    reference_sha256: str,
    aligned_to: str | None,
    comparison: tuple[str, float, float, bool] | None,
) -> dict[str, str]:
    """The metadata a registered build carries; `comparison`: (approved package ARN, agreement, ARI, same solution)."""
    properties = {
        MODEL_TYPE: KMEANS,
        ARTIFACT_SHA256: artifact_sha256,
        CLUSTERS: str(clusters),
        FEATURES: str(features),
        MANIFEST_URI: manifest_uri,
        REFERENCE_URI: reference_uri,
        REFERENCE_SHA256: reference_sha256,
        ALIGNED_TO: aligned_to or NONE,
    }
    if comparison is not None:
        arn, agreement, rand_index, same = comparison
        properties |= {
            COMPARED_TO: arn,
            AGREEMENT: f"{agreement:.6f}",
            ADJUSTED_RAND_INDEX: f"{rand_index:.6f}",
            VERDICT: SAME_SOLUTION if same else DIFFERENT_SOLUTION,
        }
    check(properties)
    return properties
