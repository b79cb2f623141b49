"""initlab: a NumPy laboratory for neural-network weight initialization."""

from importlib.metadata import PackageNotFoundError, version

from initlab.errors import InitlabError
from initlab.init import calculate_gain, describe, fans, get_initializer

try:
    __version__ = version("initlab")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

__all__ = ["InitlabError", "__version__", "calculate_gain", "describe", "fans", "get_initializer"]
