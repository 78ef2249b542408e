"""`python -m monitoring drift`: see monitoring.cli."""

from __future__ import annotations

import sys

from monitoring.cli import main

sys.exit(main())
