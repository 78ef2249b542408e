"""`python -m model_build`: see model_build.cli."""

from __future__ import annotations

import sys

from model_build.cli import main

sys.exit(main())
