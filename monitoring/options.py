"""Options both entry points take: the window and the thresholds (argparse only: the processing image runs it)."""

from __future__ import annotations

import argparse
import datetime as dt
import re

from monitoring.reading import UTC, Window
from monitoring.settings import Thresholds

DURATION = re.compile(r"^(\d+)([smhd])$")
SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
THRESHOLD_HELP = {
    "psi_warn": "PSI that is reported as a moderate change (default 0.1)",
    "psi_drift": "PSI that is drift: of the cluster shares, or of one cluster's distances (default 0.25)",
    "max_outlier_share": "share of rows beyond their cluster's baseline p99 distance that is drift (default 0.05)",
    "min_rows": "fewer rows than this give no verdict (default 1000)",
    "min_cluster_rows": "a cluster's distance PSI counts with at least this many rows (default 100)",
    "top_features": "how many of the features that moved most to report (default 5)",
    "feature_sample_every": "read the features of one request in this many (default 20)",
}


def add_window_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--since", type=duration, help="the window ending at --end (default now): 24h, 90m, 3600s, 2d")
    parser.add_argument("--start", type=timestamp, help="window start, ISO 8601 (2026-12-01T00:00:00Z)")
    parser.add_argument("--end", type=timestamp, help="window end, ISO 8601 (default now)")


def add_threshold_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("thresholds (sources: python -m monitoring drift --help, monitoring.settings)")
    for name, text in THRESHOLD_HELP.items():
        kind = float if isinstance(getattr(Thresholds(), name), float) else int
        group.add_argument(f"--{name.replace('_', '-')}", type=kind, help=text)


def duration(text: str) -> dt.timedelta:
    match = DURATION.match(text.strip())
    if not match or int(match.group(1)) == 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration like 24h, 90m, 3600s or 2d")
    return dt.timedelta(seconds=int(match.group(1)) * SECONDS[match.group(2)])


def timestamp(text: str) -> dt.datetime:
    try:
        parsed = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 time like 2026-12-01T17:00:00Z") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def window_from(args: argparse.Namespace, now: dt.datetime | None = None) -> Window:
    """The window the options name; ValueError when they name none or an empty one."""
    end = args.end or now or dt.datetime.now(UTC)
    if (args.since is None) == (args.start is None):
        raise ValueError("give the window as --since DURATION or as --start TIME (with --end, else until now)")
    start = args.start or end - args.since
    if start >= end:
        raise ValueError(f"the window {start.isoformat()} .. {end.isoformat()} is empty")
    return Window(start, end)


def thresholds_from(args: argparse.Namespace) -> Thresholds:
    """Thresholds with the options given; ValueError on a bad value."""
    return Thresholds().with_overrides({name: getattr(args, name) for name in THRESHOLD_HELP})
