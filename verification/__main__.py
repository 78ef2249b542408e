"""`python -m verification`: see verification.cli."""

from __future__ import annotations

import sys

from verification.cli import main

sys.exit(main())
