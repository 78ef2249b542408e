"""`python -m verification`: see verification.cli."""

from __future__ import annotations

import gc
import sys

# A short-lived process whose objects live to its end (modules, botocore's service models, the reference set):
# the cyclic collector would find no garbage worth its time (~0.1 s of start-up, measured) and the interpreter's
# last collection at exit would walk all of them (0.3-0.4 s under load) only to free memory the OS takes back.
# Reference counting still frees everything else at once; frozen objects are left out of that last collection,
# and exit handlers still run.
gc.disable()

from verification.cli import main  # noqa: E402 (after the collector is off: the imports are the first objects)

code = main()
gc.freeze()
sys.exit(code)
