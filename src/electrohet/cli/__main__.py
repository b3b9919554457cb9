"""``python -m electrohet.cli``: the ``electrohet`` command."""

import sys

from electrohet.cli import main

if __name__ == "__main__":
    sys.exit(main())
