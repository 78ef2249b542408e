import sys

from teardown.cli import main

sys.exit(main())
