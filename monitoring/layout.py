"""What a SageMaker Processing job needs to run the monitor: its entry module and the packages to ship with it.

The stack zips these packages as the job's code input (importable from the zip: every module is pure Python and
reads no file beside itself) and runs `python3 -m ENTRY_MODULE`. Imports nothing, so the CDK app may read it;
tests/monitoring/test_processing_image.py runs the entry point from such a zip on the image's Python and numpy.
"""

from __future__ import annotations

ENTRY_MODULE = "monitoring.processing"
CODE_PACKAGES = ("monitoring", "model_build", "wire", "recordio")  # what the entry module imports of the project
