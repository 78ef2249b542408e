"""`python -m verification`: see verification.cli."""

from __future__ import annotations

import gc
import sys

from verification.cli import main

code = main()
# Exiting: the interpreter's last collection would walk every object botocore's service models made (~0.2 s)
# only to free memory the OS takes back anyway. Frozen objects are left out of it; exit handlers still run.
gc.freeze()
sys.exit(code)
