"""The drift report as a picture: baseline against live cluster shares, and each cluster's distances.

Drawn with Pillow, as model_build.picture draws the centroids (matplotlib is not installed), one band per variant:
- left, the cluster shares: a grey bar for the baseline and a coloured one for the live traffic, per cluster;
- right, one small panel per cluster: the live share of its rows in each of the baseline's ten distance deciles
  (flat at the dashed 10 % line when nothing moved; rows piling up on the right are farther from the centroid
  than the training rows were), and the share beyond the baseline's p99 in the panel's title.
Pillow writes no timestamp: the same report gives the same bytes.
"""

from __future__ import annotations

import io
import math
from typing import Any

from PIL import Image, ImageDraw

WIDTH = 1200
BAND = 330
MARGIN = 12
BASELINE_GREY = (160, 160, 160)
LIVE = (31, 119, 180)
DRIFT = (214, 39, 40)
INK = (0, 0, 0)
PANEL_COLUMNS = 5


def render_report(document: dict[str, Any]) -> bytes:
    """PNG bytes of the report `python -m monitoring drift --json` writes."""
    variants = document["variants"]
    sheet = Image.new("RGB", (WIDTH, BAND * max(1, len(variants))), color=(255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    for index, (variant, report) in enumerate(variants.items()):
        _band(draw, index * BAND, f"{document['endpoint']}/{variant}", report)
    buffer = io.BytesIO()
    sheet.save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()


def _band(draw: ImageDraw.ImageDraw, top: int, name: str, report: dict[str, Any]) -> None:
    colour = DRIFT if report["verdict"] == "drift" else INK
    title = (
        f"{name}: {report['verdict']}, {report['rows']:,} rows, cluster-share PSI {report['share_psi']:.3f}, "
        f"{report['beyond_p99_share']:.1%} beyond p99"
    )
    draw.text((MARGIN, top + 4), title, fill=colour)
    _shares(draw, (MARGIN, top + 24, WIDTH // 3 - MARGIN, top + BAND - MARGIN), report["clusters"])
    _distance_panels(draw, (WIDTH // 3, top + 24, WIDTH - MARGIN, top + BAND - MARGIN), report["clusters"])


def _shares(draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], clusters: list[dict[str, Any]]) -> None:
    left, top, right, bottom = box
    draw.text((left, top), "cluster shares: baseline (grey), live (blue)", fill=INK)
    top += 16
    bottom -= 14
    highest = max([c["baseline_share"] for c in clusters] + [c["live_share"] for c in clusters] + [1e-9])
    slot = (right - left) / len(clusters)
    for index, cluster in enumerate(clusters):
        x = left + index * slot
        for offset, share, fill in (
            (0.1, cluster["baseline_share"], BASELINE_GREY),
            (0.5, cluster["live_share"], LIVE),
        ):
            height = (bottom - top) * share / highest
            draw.rectangle((x + offset * slot, bottom - height, x + (offset + 0.4) * slot, bottom), fill=fill)
        draw.text((x + 0.2 * slot, bottom + 2), str(cluster["cluster"]), fill=INK)
    draw.line((left, bottom, right, bottom), fill=INK)


def _distance_panels(draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], clusters: list[dict[str, Any]]) -> None:
    left, top, right, bottom = box
    draw.text((left, top), "each cluster: live share per baseline distance decile (dashed: 10 %)", fill=INK)
    top += 16
    rows = math.ceil(len(clusters) / PANEL_COLUMNS)
    width, height = (right - left) / PANEL_COLUMNS, (bottom - top) / rows
    for index, cluster in enumerate(clusters):
        x, y = left + (index % PANEL_COLUMNS) * width, top + (index // PANEL_COLUMNS) * height
        _panel(draw, (int(x) + 4, int(y), int(x + width) - 4, int(y + height) - 4), cluster)


def _panel(draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], cluster: dict[str, Any]) -> None:
    left, top, right, bottom = box
    beyond = cluster["beyond_p99_share"]
    label = f"{cluster['cluster']}: {cluster['rows']:,} rows" + (f", {beyond:.0%} > p99" if beyond is not None else "")
    draw.text((left, top), label, fill=INK)
    top += 14
    draw.rectangle((left, top, right, bottom), outline=BASELINE_GREY)
    shares = cluster["distance_bin_shares"] or []
    scale = max([0.3, *shares])
    slot = (right - left) / 10
    for index, share in enumerate(shares):
        height = (bottom - top) * share / scale
        fill = DRIFT if index == len(shares) - 1 and share > 0.2 else LIVE
        draw.rectangle((left + index * slot + 1, bottom - height, left + (index + 1) * slot - 1, bottom), fill=fill)
    expected = bottom - (bottom - top) * 0.1 / scale
    for x in range(left, right, 6):
        draw.line((x, expected, min(x + 3, right), expected), fill=INK)
