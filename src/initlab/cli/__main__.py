"""``python -m initlab.cli`` runs the ``initlab`` command."""

import sys

from initlab.cli import main

sys.exit(main())
