"""Files the model_build tests make: MNIST in its IDX, pickle and OpenML-cache forms."""

from __future__ import annotations

import gzip
import hashlib
import json
import pickle
import struct
from pathlib import Path

import numpy as np
import numpy.typing as npt

OPENML_MNIST_ID = 554
OPENML_FILE_ID = 52667


def mnist_like_pixels(count: int, seed: int = 0) -> npt.NDArray[np.uint8]:
    """`count` 28x28 images: ten stroke-like prototypes plus noise, as unsigned bytes."""
    rng = np.random.default_rng(seed)
    prototypes = (rng.random((10, 784)) > 0.8) * 255.0
    picks = np.arange(count) % 10
    noisy = prototypes[picks] + rng.normal(0, 40, size=(count, 784))
    return np.clip(noisy, 0, 255).astype(np.uint8)


def write_idx_images(path: Path, pixels: npt.NDArray[np.uint8], *, compress: bool) -> Path:
    header = struct.pack(">IIII", 0x00000803, len(pixels), 28, 28)
    data = header + pixels.tobytes()
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


def write_mnist_pickle(path: Path, pixels: npt.NDArray[np.uint8]) -> Path:
    """The notebook's mnist.pkl.gz layout: (train, valid, test), each (float32 images, labels)."""
    images = pixels.astype(np.float32) / 255.0
    labels = np.arange(len(images)) % 10
    split = (images, labels)
    with gzip.open(path, "wb") as stream:
        pickle.dump((split, split, split), stream)
    return path


def write_openml_mnist_cache(data_home: Path, pixels: npt.NDArray[np.uint8]) -> None:
    """What fetch_openml('mnist_784', version=1) caches, so it loads with no network."""
    arff = _mnist_arff(pixels)
    download_url = f"https://api.openml.org/data/v1/download/{OPENML_FILE_ID}/mnist_784.arff"
    responses = {
        "api/v1/json/data/list/data_name/mnist_784/limit/2/data_version/1": {
            "data": {"dataset": [{"did": OPENML_MNIST_ID, "name": "mnist_784", "version": 1, "status": "active"}]}
        },
        f"api/v1/json/data/{OPENML_MNIST_ID}": {"data_set_description": _description(arff, download_url)},
        f"api/v1/json/data/features/{OPENML_MNIST_ID}": {"data_features": {"feature": _features()}},
        f"api/v1/json/data/qualities/{OPENML_MNIST_ID}": {
            "data_qualities": {"quality": [{"name": "NumberOfInstances", "value": f"{len(pixels)}.0"}]}
        },
    }
    root = data_home / "openml" / "openml.org"
    for relative, body in responses.items():
        _write_gzip(root / f"{relative}.gz", json.dumps(body).encode())
    _write_gzip(root / f"data/v1/download/{OPENML_FILE_ID}/mnist_784.arff.gz", arff)


def _description(arff: bytes, url: str) -> dict[str, str]:
    return {
        "id": str(OPENML_MNIST_ID),
        "name": "mnist_784",
        "version": "1",
        "format": "ARFF",
        "file_id": str(OPENML_FILE_ID),
        "url": url,
        "default_target_attribute": "class",
        "status": "active",
        "md5_checksum": hashlib.md5(arff).hexdigest(),
        "description": "MNIST-like rows made by the tests",
    }


def _features() -> list[dict[str, object]]:
    pixels = [_feature(index, f"pixel{index + 1}", "numeric") for index in range(784)]
    target = _feature(784, "class", "nominal") | {"is_target": "true", "nominal_value": [str(d) for d in range(10)]}
    return [*pixels, target]


def _feature(index: int, name: str, data_type: str) -> dict[str, object]:
    return {
        "index": str(index),
        "name": name,
        "data_type": data_type,
        "is_target": "false",
        "is_ignore": "false",
        "is_row_identifier": "false",
        "number_of_missing_values": "0",
    }


def _mnist_arff(pixels: npt.NDArray[np.uint8]) -> bytes:
    lines = ["@RELATION mnist_784"]
    lines += [f"@ATTRIBUTE pixel{index + 1} NUMERIC" for index in range(784)]
    lines += ["@ATTRIBUTE class {0,1,2,3,4,5,6,7,8,9}", "@DATA"]
    lines += [",".join(map(str, row)) + f",{number % 10}" for number, row in enumerate(pixels.tolist())]
    return ("\n".join(lines) + "\n").encode()


def _write_gzip(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data))
