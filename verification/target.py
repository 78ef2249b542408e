"""What to verify: the stack's outputs, a `cdk deploy --outputs-file`, or just an endpoint name."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from contract.stack import Output
from model_build.manifest import REFERENCE_FILE_NAME, BuiltModel, ManifestError, read_build
from model_build.reference import ReferenceSet
from verification.errors import ExitCode, VerificationError


@dataclass(frozen=True)
class Target:
    """The endpoint and what the stack declared for it (None where only an endpoint name is known)."""

    endpoint_name: str
    stack_name: str | None = None
    endpoint_config_name: str | None = None
    model_name: str | None = None
    outputs: dict[str, str] = field(default_factory=dict)  # the stack's outputs, when read


@dataclass(frozen=True)
class Expected:
    """The local build: its manifest and reference set."""

    build: BuiltModel
    reference: ReferenceSet


def target_from_outputs(outputs: dict[str, str], stack_name: str | None, where: str) -> Target:
    if Output.ENDPOINT_NAME not in outputs:
        raise VerificationError(
            f"{where}: no {Output.ENDPOINT_NAME} output (is this the k-means stack?)", ExitCode.USAGE
        )
    return Target(
        endpoint_name=outputs[Output.ENDPOINT_NAME],
        stack_name=stack_name,
        endpoint_config_name=outputs.get(Output.ENDPOINT_CONFIG_NAME),
        model_name=outputs.get(Output.MODEL_NAME),
        outputs=dict(outputs),
    )


def outputs_from_file(path: Path, stack_name: str | None) -> tuple[str, dict[str, str]]:
    """The outputs of one stack from `cdk deploy --outputs-file` ({stack: {output: value}})."""
    try:
        stacks = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise VerificationError(f"{path}: cannot read outputs ({error})", ExitCode.USAGE) from error
    if not isinstance(stacks, dict) or not stacks:
        raise VerificationError(f"{path}: expected {{stack name: {{output: value}}}}", ExitCode.USAGE)
    if stack_name is None:
        if len(stacks) != 1:
            raise VerificationError(f"{path}: holds stacks {sorted(stacks)}; choose one with --stack", ExitCode.USAGE)
        stack_name = next(iter(stacks))
    if stack_name not in stacks:
        raise VerificationError(f"{path}: has no stack {stack_name} (found {sorted(stacks)})", ExitCode.USAGE)
    return stack_name, stacks[stack_name]


def load_expected(build_dir: Path) -> Expected:
    try:
        # The deployed artifact is compared with the manifest's hash; the local one need not be here.
        build = read_build(build_dir, check_artifact=False)
        reference = ReferenceSet.from_npz_bytes((build_dir / REFERENCE_FILE_NAME).read_bytes())
    except (OSError, ValueError, KeyError, ManifestError) as error:
        raise VerificationError(
            f"{build_dir}: no usable manifest.json and reference.npz ({error}); build with `make build`",
            ExitCode.USAGE,
        ) from error
    return checked_expected(build, reference, str(build_dir))


def checked_expected(build: BuiltModel, reference: ReferenceSet, where: str) -> Expected:
    """A build (or a registered package) and its reference rows, refused unless the rows are of its width."""
    if reference.rows.ndim != 2 or reference.rows.shape[1] != build.feature_dim:
        raise VerificationError(f"{where}: reference rows do not match the manifest", ExitCode.USAGE)
    return Expected(build=build, reference=_as_float32_rows(reference))


def _as_float32_rows(reference: ReferenceSet) -> ReferenceSet:
    return ReferenceSet(
        rows=np.ascontiguousarray(reference.rows, dtype=np.float32),
        closest_cluster=reference.closest_cluster,
        distance_to_cluster=reference.distance_to_cluster,
        second_cluster=reference.second_cluster,
        tie_gap=reference.tie_gap,
    )
