"""Every production-variant type botocore knows falls in exactly one storage table."""

from __future__ import annotations

from aws_facts.instance_types import (
    EBS_ONLY_FAMILIES,
    LOCAL_STORAGE_FAMILIES,
    closest_types,
    family,
    production_variant_types,
)


def test_every_production_variant_type_is_in_exactly_one_storage_table() -> None:
    families = {family(instance_type) for instance_type in production_variant_types()}

    assert len(production_variant_types()) > 200
    assert not EBS_ONLY_FAMILIES & LOCAL_STORAGE_FAMILIES
    assert families - (EBS_ONLY_FAMILIES | LOCAL_STORAGE_FAMILIES) == set(), "classify the new families"
    assert (EBS_ONLY_FAMILIES | LOCAL_STORAGE_FAMILIES) - families == set(), "a family botocore no longer lists"


def test_a_typo_gets_the_nearest_valid_types() -> None:
    assert closest_types("ml.m5.lage")[0] == "ml.m5.large"
    assert closest_types("ml.g6e.xlarg")[0] == "ml.g6e.xlarge"
