"""Dropout for R replicas at once, each replica's mask from its own random stream (the
layout and conventions of :mod:`initlab.nn.layers`)."""

from __future__ import annotations

import numbers

import numpy as np

from initlab.errors import InitlabError, choose

DROPOUT_MODES = ("inverted", "scaled_at_test")


class Dropout:
    """Dropout with a mask drawn per replica from that replica's own stream.

    Training keeps a unit where u > rate, u ~ U(0, 1) (Srivastava et al., JMLR 2014; the
    inverted form is what PyTorch 2.x's ``nn.Dropout`` computes).
    mode="inverted" (default): train y = x * keep / (1 - rate), test y = x.
    mode="scaled_at_test" (the non-inverted form): train y = x * keep, test y = x * (1 - rate).
    x : (R, N, features) or (N, features) -> y : (R, N, features) in training.
    ``rngs`` (one per replica) is set by the model that holds the layer.
    """

    def __init__(self, rate: float, mode: str = "inverted", rngs=None):
        if isinstance(rate, bool) or not isinstance(rate, numbers.Real) or not 0 <= rate < 1:
            raise InitlabError(f"dropout rate must be a number in [0, 1), got {rate!r}")
        self.rate = float(rate)
        self.mode = choose(mode, DROPOUT_MODES, "dropout mode")
        self.rngs = rngs
        self._mask = None

    def parameters(self) -> list:
        return []

    def forward(self, x: np.ndarray, train: bool = False) -> np.ndarray:
        if not train or self.rate == 0.0:
            scale = 1.0 - self.rate if self.mode == "scaled_at_test" else 1.0
            self._mask = scale if scale != 1.0 else None
            return x * scale if scale != 1.0 else x
        if self.rngs is None:
            raise InitlabError("this Dropout layer has no random streams; put it in a model")
        shape = x.shape[-2:]
        keep = np.empty((len(self.rngs), *shape), dtype=bool)
        for r, rng in enumerate(self.rngs):
            np.greater(_uniform(rng, shape, x.dtype), self.rate, out=keep[r])
        scale = 1.0 / (1.0 - self.rate) if self.mode == "inverted" else 1.0
        self._mask = keep * x.dtype.type(scale)
        return x * self._mask

    def backward(self, grad: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        if not input_grad:
            return None
        return grad if self._mask is None else grad * self._mask

    def release(self) -> None:
        """Drop the mask kept for backward (a pass that no backward follows)."""
        self._mask = None

    def select(self, idx, rngs=None) -> Dropout:
        return Dropout(self.rate, self.mode, rngs)

    def config(self) -> dict:
        return {"type": "dropout", "rate": self.rate, "mode": self.mode}

    def __repr__(self) -> str:
        extra = "" if self.mode == "inverted" else f", mode={self.mode}"
        return f"Dropout({self.rate}{extra})"


def _uniform(rng, shape, dtype) -> np.ndarray:
    if isinstance(rng, np.random.Generator):
        return rng.random(shape, dtype=np.float32 if dtype == np.float32 else np.float64)
    return rng.random_sample(shape)


__all__ = ["DROPOUT_MODES", "Dropout"]
