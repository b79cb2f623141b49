"""Neural-network pieces for R replicas at once: activations, layers, losses, models, files."""

from initlab.nn.activations import ACTIVATIONS, Activation, get_activation
from initlab.nn.dropout import Dropout
from initlab.nn.layers import ActivationLayer, Dense, Param, replica_rngs
from initlab.nn.losses import (
    BinaryCrossEntropy,
    SoftmaxCrossEntropy,
    binary_cross_entropy,
    softmax_cross_entropy,
)
from initlab.nn.model import Sequential, load, mlp
from initlab.nn.norm import BatchNorm, LayerNorm
from initlab.nn.residual import Residual, ScalarBias
from initlab.nn.serialize import save, state_dict, to_torch

__all__ = [
    "ACTIVATIONS", "Activation", "ActivationLayer", "BatchNorm", "BinaryCrossEntropy", "Dense",
    "Dropout", "LayerNorm", "Param", "Sequential", "SoftmaxCrossEntropy", "binary_cross_entropy",
    "get_activation", "load", "mlp", "replica_rngs", "save", "softmax_cross_entropy",
    "state_dict", "to_torch", "Residual", "ScalarBias",
]
