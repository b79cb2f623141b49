"""Gradient-descent optimizers with one ``step(params)`` interface, and L2 weight decay.

Each optimizer updates ``param.value`` in place from ``param.grad`` and keeps its state (created
lazily, on the first step) per parameter. Parameters carry the leading replica axis, so one
optimizer trains R replicas at once; ``step(params, active)`` leaves the replicas whose
``active`` entry is False exactly where they are. Formulas follow ``torch.optim`` (with no
weight decay inside the optimizer; L2 is added to the gradient by :func:`add_l2_grad`).
Names are spec strings: ``sgd``, ``momentum(0.9)``, ``adam(beta1=0.9, beta2=0.999, eps=1e-8)``.

The learning rate is one number, or one per replica (an (R,) array: a learning-rate sweep
trains as one model). A parameter whose ``lr_scale`` a width parametrization has set
(:mod:`initlab.nn.parametrization`) steps at ``lr`` times its multiplier for the optimizer's
``kind``: ``sgd`` for steps proportional to the gradient (SGD, momentum, Nesterov), ``adam`` for
entrywise-normalized ones (Adam, RMSProp, AdaGrad), the split mup's ``MuSGD``/``MuAdam`` make.

>>> opt = get_optimizer("momentum(0.5)", lr=0.1)
>>> opt
Momentum(lr=0.1, momentum=0.5)
"""

from __future__ import annotations

import inspect
import math

import numpy as np

from initlab.errors import InitlabError, check_number
from initlab.spec import bind, lookup, parse_spec


def check_lr(lr) -> float | np.ndarray:
    """``lr`` as a float, or a 1-D array of one learning rate per replica; each finite, > 0."""
    if isinstance(lr, (list, tuple, np.ndarray)):
        rates = np.asarray(lr, dtype=float)
        if rates.ndim != 1 or rates.size == 0:
            raise InitlabError(f"per-replica learning rates must be a non-empty 1-D list, got "
                               f"shape {rates.shape}")
        for r in rates:
            check_number(float(r), "learning rate", 0.0, low_open=True, high_open=True)
        return rates
    return check_number(lr, "learning rate", 0.0, low_open=True, high_open=True)


class Optimizer:
    """Base class: holds ``lr``, the step count ``t`` and per-parameter state dicts."""

    #: how a parametrization scales this optimizer's per-layer learning rates
    kind = "sgd"

    def __init__(self, lr: float | np.ndarray):
        self.lr = check_lr(lr)
        self.t = 0
        self.state: list[dict] | None = None
        self._rates: list | None = None

    def step(self, params, active: np.ndarray | None = None) -> None:
        """Update every ``p.value`` (R, ...) in place from ``p.grad``.

        active : (R,) bools or None (all). Replicas with False keep their values.
        """
        if self.state is None:
            self.state = [{} for _ in params]
            self._rates = [self.rate(p) for p in params]
        self.t += 1
        frozen = None if active is None or active.all() else ~np.asarray(active)
        saved = [p.value[frozen] for p in params] if frozen is not None else None
        for p, state, lr in zip(params, self.state, self._rates, strict=True):
            self.update(p.value, p.grad, state, lr)
        if saved is not None:
            for p, keep in zip(params, saved, strict=True):
                p.value[frozen] = keep

    def rate(self, p) -> float | np.ndarray:
        """The learning rate of parameter ``p`` (R, ...): ``lr``, along the replica axis when
        there is one per replica, times ``p``'s multipliers for :attr:`kind` where it has them.
        Plain ``lr`` (the same float, so the same bits) otherwise."""
        lr = self.lr
        if isinstance(lr, np.ndarray):
            if lr.size != p.value.shape[0]:
                raise InitlabError(f"got {lr.size} learning rates for {p.value.shape[0]} "
                                   "replicas")
            lr = lr.reshape(-1, *[1] * (p.value.ndim - 1)).astype(p.value.dtype)
        scale = None if p.lr_scale is None else p.lr_scale.get(self.kind)
        return lr if scale is None else lr * scale

    def update(self, w: np.ndarray, g: np.ndarray, state: dict, lr) -> None:
        """One step of ``w`` from ``g`` at learning rate ``lr`` (a float or an array that
        broadcasts against ``w``)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        names = list(inspect.signature(type(self)).parameters)
        return f"{type(self).__name__}({', '.join(f'{n}={getattr(self, n)}' for n in names)})"


#: SGD steps an array in slices of about this many values along its last axis (a model's flat
#: buffer of every parameter): a slice's scaled gradient is still in cache when it is
#: subtracted, where a scratch buffer the size of the model went through memory twice per step.
SGD_SLICE = 1 << 16


class SGD(Optimizer):
    """Plain gradient descent: w <- w - lr g."""

    def update(self, w, g, state, lr):
        # A kept scratch buffer: a fresh temporary each step costs page faults on large nets.
        n = w.shape[-1]
        size = max(1, SGD_SLICE * n // max(1, w.size))  # per slice, over every row
        buf = state.get("buf")
        if buf is None:
            buf = state["buf"] = np.empty_like(g[..., :size])
        per_value = np.ndim(lr) > 0 and np.shape(lr)[-1] == n > 1  # lr_scale along the axis
        for a in range(0, n, size):
            b = min(a + size, n)
            out = buf[..., :b - a]
            np.multiply(g[..., a:b], lr[..., a:b] if per_value else lr, out=out)
            w[..., a:b] -= out


class Momentum(Optimizer):
    """Heavy-ball momentum (torch.optim.SGD form): v <- mu v + g; w <- w - lr v.

    Equal to the v <- mu v - lr g; w <- w + v form for a constant lr.
    """

    def __init__(self, lr: float, momentum: float = 0.9):
        super().__init__(lr)
        self.momentum = check_number(momentum, "momentum", 0.0, 1.0, high_open=True)

    def update(self, w, g, state, lr):
        if not state:
            state["v"] = np.zeros_like(w)
            state["buf"] = np.empty_like(w)
        v, buf = state["v"], state["buf"]
        v *= self.momentum
        v += g
        np.multiply(v, lr, out=buf)
        w -= buf


class Nesterov(Momentum):
    """Nesterov momentum (torch.optim.SGD(nesterov=True) form): v <- mu v + g;
    w <- w - lr (g + mu v)."""

    def update(self, w, g, state, lr):
        if not state:
            state["v"] = np.zeros_like(w)
            state["buf"] = np.empty_like(w)
        v, buf = state["v"], state["buf"]
        v *= self.momentum
        v += g
        np.multiply(v, self.momentum, out=buf)  # buf = lr (g + mu v), without temporaries
        buf += g
        buf *= lr
        w -= buf


class AdaGrad(Optimizer):
    """Duchi et al. (2011): h <- h + g^2; w <- w - lr g / (sqrt(h) + eps)."""

    def __init__(self, lr: float, eps: float = 1e-10):
        super().__init__(lr)
        self.eps = check_number(eps, "eps", 0.0, low_open=True, high_open=True)

    kind = "adam"

    def update(self, w, g, state, lr):
        if not state:
            state["h"] = np.zeros_like(w)
        h = state["h"]
        h += g * g
        w -= lr * g / (np.sqrt(h) + self.eps)


class RMSProp(Optimizer):
    """Tieleman & Hinton (2012): s <- rho s + (1 - rho) g^2; w <- w - lr g / (sqrt(s) + eps)."""

    def __init__(self, lr: float, rho: float = 0.99, eps: float = 1e-8):
        super().__init__(lr)
        self.rho = check_number(rho, "rho", 0.0, 1.0, high_open=True)
        self.eps = check_number(eps, "eps", 0.0, low_open=True, high_open=True)

    kind = "adam"

    def update(self, w, g, state, lr):
        if not state:
            state["s"] = np.zeros_like(w)
        s = state["s"]
        s *= self.rho
        s += (1.0 - self.rho) * g * g
        w -= lr * g / (np.sqrt(s) + self.eps)


class Adam(Optimizer):
    """Kingma & Ba (2015): m <- b1 m + (1 - b1) g; v <- b2 v + (1 - b2) g^2;
    w <- w - lr (m / (1 - b1^t)) / (sqrt(v) / sqrt(1 - b2^t) + eps)."""

    def __init__(self, lr: float, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8):
        super().__init__(lr)
        self.beta1 = check_number(beta1, "beta1", 0.0, 1.0, high_open=True)
        self.beta2 = check_number(beta2, "beta2", 0.0, 1.0, high_open=True)
        self.eps = check_number(eps, "eps", 0.0, low_open=True, high_open=True)

    kind = "adam"

    def update(self, w, g, state, lr):
        if not state:
            state["m"], state["v"] = np.zeros_like(w), np.zeros_like(w)
        m, v = state["m"], state["v"]
        m *= self.beta1
        m += (1.0 - self.beta1) * g
        v *= self.beta2
        v += (1.0 - self.beta2) * g * g
        denom = np.sqrt(v)
        denom /= math.sqrt(1.0 - self.beta2**self.t)
        denom += self.eps
        w -= (lr / (1.0 - self.beta1**self.t)) * (m / denom)


OPTIMIZERS: dict[str, type[Optimizer]] = {
    "sgd": SGD, "momentum": Momentum, "nesterov": Nesterov, "adagrad": AdaGrad,
    "rmsprop": RMSProp, "adam": Adam,
}


def get_optimizer(spec: str | Optimizer, lr: float = 0.01) -> Optimizer:
    """The optimizer named by ``spec`` with learning rate ``lr`` (an Optimizer passes through).

    >>> get_optimizer("adam(beta1=0.8)", lr=1e-3)
    Adam(lr=0.001, beta1=0.8, beta2=0.999, eps=1e-08)
    """
    if isinstance(spec, Optimizer):
        return spec
    name, args, kwargs = parse_spec(spec)
    cls = lookup(OPTIMIZERS, name, "optimizer")
    return cls(lr, **bind(cls, args, kwargs, 1, spec))


# ----------------------------------------------------------------------------- L2 weight decay
def l2_terms(model, l2) -> list[tuple]:
    """Pairs (weight Param, lambda) with lambda > 0, from one float or one per Dense layer."""
    weights = [p for p in model.parameters() if p.decay]
    lams = list(l2) if isinstance(l2, (list, tuple, np.ndarray)) else [l2] * len(weights)
    if len(lams) != len(weights):
        raise InitlabError(f"got {len(lams)} L2 coefficients for {len(weights)} weight layers")
    lams = [check_number(lam, "L2 coefficient", 0.0, high_open=True) for lam in lams]
    return [(w, lam) for w, lam in zip(weights, lams, strict=True) if lam > 0]


def l2_penalty(terms) -> np.ndarray | float:
    """Penalty per replica (R,): sum over layers of lambda / 2 * sum(W^2) (weights only)."""
    total = 0.0
    for w, lam in terms:
        v = w.value
        total = total + (0.5 * lam) * np.einsum("rij,rij->r", v, v)
    return total


def add_l2_grad(terms) -> None:
    """Add the penalty's gradient lambda * W to each weight's ``grad``, in place."""
    for w, lam in terms:
        w.grad += lam * w.value
