"""Stages (staging, prod) from one file: each is the base settings plus its own overrides."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from stacks.settings import Settings, SettingsError, settings_from_context

STAGES_FILE = Path("stages.json")
STAGE_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9-]{0,20}$")


def load_stages(path: Path = STAGES_FILE) -> dict[str, dict[str, Any]]:
    """Stage name -> its setting overrides, in file order (the promotion order)."""
    try:
        stages = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise SettingsError(f"{path}: cannot read stages ({error})") from error
    if not isinstance(stages, dict) or not stages:
        raise SettingsError(f"{path}: expected {{stage name: {{setting: value}}}}")
    for name, overrides in stages.items():
        if not STAGE_NAME_PATTERN.match(name) or not isinstance(overrides, dict):
            raise SettingsError(f"{path}: stage {name!r} needs a lowercase name and an object of settings")
    return stages


def stage_settings(
    context: Mapping[str, Any], stage: str, stages: Mapping[str, Mapping[str, Any]], *, check_artifact: bool = True
) -> Settings:
    """The base context with the stage's overrides on top, validated like any settings."""
    if stage not in stages:
        raise SettingsError(f"context stage: {stage!r} is not one of {', '.join(stages)} (see {STAGES_FILE})")
    merged = {**context, **stages[stage]}
    try:
        return settings_from_context(merged, check_artifact=check_artifact, other_keys=COMPOSITION_KEYS)
    except SettingsError as error:
        raise SettingsError(f"stage {stage}: {error}") from error


COMPOSITION_KEYS = frozenset({"stage", "pipeline", "connection_arn", "repository", "branch", "github_repository"})
