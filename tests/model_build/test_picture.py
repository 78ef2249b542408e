"""centroids.png: a grid of images for square feature counts, a heat map otherwise."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from model_build.picture import render_centroids


def decode(png: bytes) -> Image.Image:
    return Image.open(io.BytesIO(png))


@pytest.mark.parametrize(("clusters", "side", "expected_size"), [(10, 8, (800, 94)), (12, 28, (840, 196))])
def test_square_features_are_drawn_as_a_grid_of_images(
    clusters: int, side: int, expected_size: tuple[int, int]
) -> None:
    centroids = np.random.default_rng(0).random((clusters, side * side), dtype=np.float32)
    picture = decode(render_centroids(centroids))
    assert picture.format == "PNG"
    assert picture.size == expected_size


def test_other_feature_counts_are_drawn_as_a_heat_map() -> None:
    centroids = np.linspace(0, 1, 5 * 30, dtype=np.float32).reshape(5, 30)
    picture = decode(render_centroids(centroids))
    assert picture.size == (780, 60)
    pixels = np.asarray(picture)
    assert pixels[0, 0] == 255  # the smallest value is drawn white
    assert pixels[-1, -1] == 0  # the largest black


def test_the_same_centroids_give_the_same_bytes() -> None:
    centroids = np.ones((3, 16), dtype=np.float32)
    assert render_centroids(centroids) == render_centroids(centroids.copy())
