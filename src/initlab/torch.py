"""Deprecated name of :mod:`initlab.torchbridge` (renamed so that no part of initlab is called
``torch``); importing it warns and gives the same objects."""

import warnings

warnings.warn("initlab.torch is deprecated; import initlab.torchbridge instead",
              DeprecationWarning, stacklevel=2)

from initlab.torchbridge import *  # noqa: E402, F403
from initlab.torchbridge import __all__  # noqa: E402, F401
