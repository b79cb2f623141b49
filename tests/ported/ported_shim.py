"""A thin shim so that PyTorch's and Keras' own initializer tests can call initlab.

``init`` mimics ``torch.nn.init`` over NumPy arrays: ``init.xavier_uniform_(a, gain=2)`` fills
the array ``a`` in place with initlab's ``xavier_uniform(gain=2)`` and returns it; ``generator``
is a ``numpy.random.Generator`` (default: the stream set by :func:`manual_seed`).
``initializers`` mimics ``keras.initializers``: classes called as ``init(shape, dtype)`` with
Keras' (in, out, ...) kernel layout, translated to initlab's PyTorch layout and back.
Nothing here computes a law: every number comes from initlab.
"""

from __future__ import annotations

import types

import numpy as np

import initlab.init as il

_state = {"rng": np.random.default_rng(0)}


def manual_seed(seed: int) -> None:
    """Reset the default stream, as ``torch.manual_seed``."""
    _state["rng"] = np.random.default_rng(seed)


def Generator(seed: int = 0) -> np.random.Generator:  # noqa: N802 (torch's spelling)
    return np.random.default_rng(seed)


def _fill(tensor: np.ndarray, name: str, generator=None, **params) -> np.ndarray:
    rng = _state["rng"] if generator is None else generator
    tensor[...] = il.get(name, **params)(tensor.shape, rng, dtype=tensor.dtype)
    return tensor


def _torch_init() -> types.SimpleNamespace:
    def uniform_(t, a=0.0, b=1.0, generator=None):
        return _fill(t, "uniform", generator, a=a, b=b)

    def normal_(t, mean=0.0, std=1.0, generator=None):
        return _fill(t, "normal", generator, mean=mean, std=std)

    def trunc_normal_(t, mean=0.0, std=1.0, a=-2.0, b=2.0, generator=None):
        return _fill(t, "trunc_normal", generator, mean=mean, std=std, a=a, b=b)

    def constant_(t, val):
        return _fill(t, "constant", val=val)

    def ones_(t):
        return _fill(t, "ones")

    def zeros_(t):
        return _fill(t, "zeros")

    def eye_(t):
        return _fill(t, "eye")

    def dirac_(t, groups=1):
        return _fill(t, "dirac", groups=groups)

    def xavier_uniform_(t, gain=1.0, generator=None):
        return _fill(t, "xavier_uniform", generator, gain=gain)

    def xavier_normal_(t, gain=1.0, generator=None):
        return _fill(t, "xavier_normal", generator, gain=gain)

    def kaiming_uniform_(t, a=0.0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
        return _fill(t, "kaiming_uniform", generator, a=a, mode=mode, nonlinearity=nonlinearity)

    def kaiming_normal_(t, a=0.0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
        return _fill(t, "kaiming_normal", generator, a=a, mode=mode, nonlinearity=nonlinearity)

    def orthogonal_(t, gain=1.0, generator=None):
        return _fill(t, "orthogonal", generator, gain=gain)

    def sparse_(t, sparsity, std=0.01, generator=None):
        return _fill(t, "sparse", generator, sparsity=sparsity, std=std)

    return types.SimpleNamespace(calculate_gain=il.calculate_gain, **{
        f.__name__: f for f in (uniform_, normal_, trunc_normal_, constant_, ones_, zeros_, eye_,
                                dirac_, xavier_uniform_, xavier_normal_, kaiming_uniform_,
                                kaiming_normal_, orthogonal_, sparse_)})


init = _torch_init()


def conv(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``F.conv1d/2d/3d(x, w)``: valid cross-correlation, x (N, C, *S), w (O, C, *K)."""
    k = w.shape[2:]
    axes = tuple(range(2, x.ndim))
    windows = np.lib.stride_tricks.sliding_window_view(x, k, axis=axes)  # (N, C, *S', *K)
    letters = "defg"[:len(k)]
    spatial = "pqrs"[:len(k)]
    return np.einsum(f"nc{spatial}{letters},oc{letters}->no{spatial}", windows, w)


# ----------------------------------------------------------------------------- Keras
def _to_torch_shape(shape) -> tuple:
    """Keras' (*kernel, in, out) as PyTorch's (out, in, *kernel)."""
    shape = tuple(shape)
    return shape if len(shape) < 2 else (shape[-1], shape[-2], *shape[:-2])


def _to_keras(w: np.ndarray) -> np.ndarray:
    return w if w.ndim < 2 else np.moveaxis(w, (0, 1), (-1, -2))


class _Keras:
    """Base of the Keras-like classes: ``spec`` and ``seed``, the config, and the call."""

    spec = ""
    gain = 1.0

    def __init__(self, seed=None, **params):
        self.seed = seed
        self.params = params
        self.initializer = il.get(self.spec, **params)
        for k, v in params.items():
            setattr(self, k, v)

    def _rng(self):
        if isinstance(self.seed, np.random.Generator):  # Keras' SeedGenerator: advances
            return self.seed
        return np.random.default_rng(self.seed)  # int: the same draw every call; None: fresh

    def __call__(self, shape, dtype=None):
        w = self.initializer(_to_torch_shape(shape), self._rng(),
                             dtype=np.float32 if dtype is None else dtype)
        return _to_keras(w)

    def get_config(self) -> dict:
        seed = self.seed if not isinstance(self.seed, np.random.Generator) else None
        return {"spec": self.initializer.spec, "seed": seed}

    @classmethod
    def from_config(cls, config: dict):
        obj = cls.__new__(cls)
        obj.seed, obj.params = config["seed"], {}
        obj.initializer = il.get_initializer(config["spec"])
        return obj


def _keras_class(name: str, spec: str, rename=None):
    rename = rename or {}

    def __init__(self, seed=None, **params):  # noqa: N807
        keras_names = dict(params)
        _Keras.__init__(self, seed, **{rename.get(k, k): v for k, v in params.items()})
        for k, v in keras_names.items():
            setattr(self, k, v)

    return type(name, (_Keras,), {"spec": spec, "__init__": __init__})


class Identity(_Keras):
    spec = "eye"

    def __init__(self, gain=1.0):
        super().__init__()
        self.gain = gain

    def __call__(self, shape, dtype=None):
        return super().__call__(shape, dtype) * self.gain

    def get_config(self) -> dict:
        return {**super().get_config(), "gain": self.gain}

    @classmethod
    def from_config(cls, config: dict):
        return cls(config["gain"])


initializers = types.SimpleNamespace(
    Zeros=_keras_class("Zeros", "zeros"),
    Ones=_keras_class("Ones", "ones"),
    Constant=_keras_class("Constant", "constant"),
    Identity=Identity,
    RandomNormal=_keras_class("RandomNormal", "normal", {"stddev": "std"}),
    RandomUniform=_keras_class("RandomUniform", "uniform", {"minval": "a", "maxval": "b"}),
    VarianceScaling=_keras_class("VarianceScaling", "variance_scaling"),
    OrthogonalInitializer=_keras_class("OrthogonalInitializer", "orthogonal"),
    get=lambda name: None if name is None else il.get(name.lower()),
)
