"""`python -m monitoring drift` (monitoring.cli) and `python -m monitoring export` (monitoring.export)."""

from __future__ import annotations

import sys

if sys.argv[1:2] == ["export"]:
    from monitoring.export import main as export

    sys.exit(export(sys.argv[2:]))

from monitoring.cli import main

sys.exit(main())
