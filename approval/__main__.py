"""`python -m approval`: see approval.cli."""

from __future__ import annotations

import sys

from approval.cli import main

sys.exit(main())
