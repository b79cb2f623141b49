"""``python -m initlab.cli`` runs the ``initlab`` command."""

import sys

from initlab.cli import main

if __name__ == "__main__":  # worker processes import this module under another name
    sys.exit(main())
