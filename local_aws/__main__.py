"""`python -m local_aws`: see local_aws.cli."""

from __future__ import annotations

import sys

from local_aws.cli import main

sys.exit(main())
