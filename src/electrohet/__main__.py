"""``python -m electrohet``: the same command-line interface as the ``electrohet`` script."""

import sys

from electrohet.cli import main

sys.exit(main())
