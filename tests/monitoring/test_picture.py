"""The drift picture: one band per variant, the same bytes for the same report, drift drawn in red."""

from __future__ import annotations

import io
from typing import Any

from PIL import Image

from monitoring.picture import BAND, DRIFT, WIDTH, render_report


def cluster(index: int, live: float, bins: list[float]) -> dict[str, Any]:
    return {
        "cluster": index, "rows": 500, "baseline_share": 0.5, "live_share": live, "distance_bin_shares": bins,
        "beyond_p99_share": bins[-1] / 2,
    }  # fmt: skip


def report(verdict: str, bins: list[float]) -> dict[str, Any]:
    return {
        "verdict": verdict, "rows": 1000, "share_psi": 0.4, "beyond_p99_share": 0.2,
        "clusters": [cluster(0, 0.2, bins), cluster(1, 0.8, bins)],
    }  # fmt: skip


def test_each_variant_gets_a_band_and_the_same_report_draws_the_same_bytes() -> None:
    document = {
        "endpoint": "e",
        "variants": {"AllTraffic": report("no drift", [0.1] * 10), "Shadow": report("drift", [0.0] * 9 + [1.0])},
    }

    first, second = render_report(document), render_report(document)

    assert first == second
    picture = Image.open(io.BytesIO(first)).convert("RGB")
    assert picture.size == (WIDTH, 2 * BAND)
    colours = {colour for _, colour in picture.getcolors(maxcolors=1 << 16) or []}
    assert DRIFT in colours  # the drifting variant's title and its piled-up last decile
