"""The processing job's code on what SageMaker's scikit-learn image has: Python 3.9, numpy 1.24, pyarrow, boto3.

The image (aws/sagemaker-scikit-learn-container 1.2-1) has neither orjson nor a protobuf runtime the project's
gencode accepts, so monitoring.processing and everything it imports use the standard library, numpy, pyarrow and
boto3 only. The last test runs the entry point in `.venv-processing` (Python 3.9 with the image's numpy, pyarrow and
boto3 pins, requirements-processing.txt) from a zip of monitoring.layout.CODE_PACKAGES, as the job's PYTHONPATH
holds them.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from monitoring.layout import CODE_PACKAGES, ENTRY_MODULE
from tests.conftest import REPO_ROOT
from tests.monitoring.traffic import ENDPOINT, VARIANT, exchanges, in_distribution, make_build, shifted, write_capture
from tests.test_architecture import imported, imported_roots, project_modules

IMAGE_LIBRARIES = {"numpy", "pyarrow", "boto3", "botocore"}
IMAGE_PYTHON = REPO_ROOT / ".venv-processing" / "bin" / "python"


def reachable(entry: str) -> dict[str, Path]:
    """The project modules `entry` imports, directly or not, with their packages' __init__ modules."""
    modules = project_modules()
    found: dict[str, Path] = {}
    todo = [entry]
    while todo:
        name = todo.pop()
        parts = name.split(".")
        for depth in range(1, len(parts) + 1):
            package = ".".join(parts[:depth])
            if package in modules and package not in found:
                found[package] = modules[package]
                todo.extend(imported(modules[package], set(modules)))
    return found


def test_the_entry_point_imports_only_its_packages_the_standard_library_and_the_images_libraries() -> None:
    modules = reachable(ENTRY_MODULE)
    third_party = set().union(*(imported_roots(path) for path in modules.values())) - set(sys.stdlib_module_names)

    assert {"monitoring.processing", "monitoring.reading", "wire.portable", "model_build.baseline"} <= set(modules)
    assert {name.split(".")[0] for name in modules} <= set(CODE_PACKAGES)
    assert third_party - set(CODE_PACKAGES) <= IMAGE_LIBRARIES, third_party


def test_what_the_entry_point_imports_is_python_3_9() -> None:
    for name, path in reachable(ENTRY_MODULE).items():
        source = path.read_text()
        ast.parse(source, feature_version=(3, 9))
        assert "strict=True" not in source, f"{name}: zip(strict=) is Python 3.10"
        assert "from datetime import UTC" not in source, f"{name}: datetime.UTC is Python 3.11"
        assert "dt.UTC" not in source, f"{name}: datetime.UTC is Python 3.11"


def code_zip(where: Path) -> Path:
    """The project's packages as the stack ships them: one zip, importable as it is."""
    archive = where / "code.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        for package in CODE_PACKAGES:
            for path in sorted((REPO_ROOT / package).rglob("*.py")):
                if "_pb2" not in path.name:
                    bundle.write(path, path.relative_to(REPO_ROOT).as_posix())
    return archive


@pytest.mark.slow
@pytest.mark.skipif(not IMAGE_PYTHON.exists(), reason="make .venv-processing/.installed builds the image's Python")
def test_the_job_runs_from_a_zip_on_the_images_python_numpy_and_pyarrow(tmp_path: Path) -> None:
    build = make_build(tmp_path / "build")
    write_capture(tmp_path / "calm", exchanges(build, in_distribution(2000)))
    write_capture(tmp_path / "moved", exchanges(build, shifted(2000)))
    environment = {"PYTHONPATH": str(code_zip(tmp_path)), "PATH": "/usr/bin:/bin"}

    codes = {}
    for name in ("calm", "moved"):
        result = subprocess.run(
            [str(IMAGE_PYTHON), "-m", ENTRY_MODULE, "--capture", str(tmp_path / name), "--baseline", str(build),
             "--report", str(tmp_path / f"{name}-report"), "--endpoint", ENDPOINT, "--variant", VARIANT,
             "--start", "2026-12-01T10:00:00Z", "--end", "2026-12-01T11:00:00Z"],
            cwd=tmp_path, env=environment, capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert result.returncode in (0, 1), result.stderr
        codes[name] = result.returncode

    assert codes == {"calm": 0, "moved": 1}
    report = json.loads((tmp_path / "moved-report" / "report.json").read_text())
    assert report["variants"][VARIANT]["rows"] == 2000
