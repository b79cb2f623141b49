"""initlab: a NumPy laboratory for neural-network weight initialization.

>>> from initlab import mlp, fit
>>> model = mlp([2, 10, 5, 1], init=["zeros", "normal(10)", "he"], seed=0)   # 3 replicas
"""

from importlib.metadata import PackageNotFoundError, version

from initlab.errors import InitlabError
from initlab.init import calculate_gain, describe, fans, get_initializer
from initlab.nn.model import mlp
from initlab.train import accuracy, fit

try:
    __version__ = version("initlab")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

__all__ = ["InitlabError", "__version__", "accuracy", "calculate_gain", "describe", "fans",
           "fit", "get_initializer", "mlp"]
