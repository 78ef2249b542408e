"""SageMaker production-variant instance types, and which families carry local (instance-store) storage.

The valid types are botocore's `ProductionVariantInstanceType` enum (the API's own list). Whether a family
has local NVMe storage comes from the EC2 instance-type pages ("Instance store specifications"): for those,
AWS encrypts the volume in hardware and CreateEndpointConfig fails when a KmsKeyId is given (API reference,
CreateEndpointConfig, KmsKeyId). `tests/aws_facts` checks that every enum type falls in exactly one table.
"""

from __future__ import annotations

import difflib
from functools import cache

import botocore.session

EBS_ONLY_FAMILIES = frozenset(
    {
        "c4", "c5", "c6g", "c6gn", "c6i", "c6in", "c7g", "c7i", "c8g",
        "inf1", "inf2",
        "m4", "m5", "m6g", "m6i", "m7i", "m8g",
        "p2", "p3",  # ml.p3dn, the one p3 size with NVMe, is not a production-variant type
        "r5", "r6g", "r6i", "r7i", "r8g",
        "t2",
    }
)  # fmt: skip
LOCAL_STORAGE_FAMILIES = frozenset(
    {
        "c5d", "c6gd", "m5d", "m6gd", "r5d", "r6gd", "r7gd",  # the "d" families: NVMe instance store
        "g4dn", "g5", "g6", "g6e",
        "p4d", "p4de", "p5", "p5e", "p5en", "p6-b200", "p6-b300", "p6e-gb200",
        "trn1", "trn1n", "trn2", "dl1",
        # Not yet on the instance-type pages we checked; counted as local storage because leaving the
        # KmsKeyId out deploys on either kind, while giving one fails on local storage.
        "g7", "g7e",
    }
)  # fmt: skip


# Training instance types (botocore `TrainingInstanceType`) whose family is no production-variant type but has
# NVMe instance store: ml.p3dn.24xlarge (EC2 "Instance store specifications": 2 x 900 GB NVMe SSD).
TRAINING_ONLY_LOCAL_STORAGE_FAMILIES = frozenset({"p3dn"})


@cache
def production_variant_types() -> frozenset[str]:
    """Every instance type a production variant may name, from botocore's SageMaker model."""
    model = botocore.session.get_session().get_service_model("sagemaker")
    return frozenset(model.shape_for("ProductionVariantInstanceType").enum)


def family(instance_type: str) -> str:
    """`ml.g6e.xlarge` -> `g6e`."""
    return instance_type.split(".")[1] if instance_type.count(".") == 2 else instance_type


def has_local_storage(instance_type: str) -> bool:
    return family(instance_type) in LOCAL_STORAGE_FAMILIES | TRAINING_ONLY_LOCAL_STORAGE_FAMILIES


def closest_types(instance_type: str) -> list[str]:
    """The valid types nearest a typo, best first (for a "did you mean")."""
    return difflib.get_close_matches(instance_type, sorted(production_variant_types()), n=3, cutoff=0.6)


@cache
def training_instance_types() -> frozenset[str]:
    """Every instance type a training job may name: botocore's `TrainingInstanceType` enum."""
    model = botocore.session.get_session().get_service_model("sagemaker")
    return frozenset(model.shape_for("TrainingInstanceType").enum)


def closest_training_types(instance_type: str) -> list[str]:
    """The training types nearest a typo, best first."""
    return difflib.get_close_matches(instance_type, sorted(training_instance_types()), n=3, cutoff=0.6)
