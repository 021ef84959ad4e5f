"""``python -m lrcore``: the command line (see lrcore.cli)."""
import sys

from lrcore.cli import main

sys.exit(main())
