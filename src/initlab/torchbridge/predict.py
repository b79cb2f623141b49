"""Variance propagation through a chain of torch modules, entry by entry, from the actual weights.

The state is, for every entry k of one example's tensor (features, or channels x positions), the
mean mu_k and variance s2_k it has over random inputs. Entries are treated as independent (at
initialization, with zero-mean random weights, distinct units are nearly uncorrelated) and
pre-activations as Gaussian (central limit theorem), as in the mean-field analyses of
LeCun et al. 1998 ("Efficient BackProp"), Glorot & Bengio 2010, He et al. 2015 and Poole et al.
2016. Each module maps the state:

- Linear, Conv1d/2d/3d (and transposed): y = W x + b is linear, so with the actual weights
  E[y] = W mu + b and Var(y) = (W*W) s2, computed by the module itself on mu and s2 (padding,
  stride, dilation and groups included). Pooled over units this is the textbook
  q_out = fan_in Var(w) E[x^2] + Var(b).
- ReLU, LeakyReLU, ELU, SELU, GELU, tanh, sigmoid, softplus, Identity: the Gaussian moments of
  phi(mu_k + sqrt(s2_k) z), z ~ N(0, 1), by initlab's quadrature (``initlab.theory``) with
  initlab's own activation functions.
- BatchNorm: in training mode each channel is normalized by its batch mean and (biased)
  variance, here the channel's pooled mean and variance; in eval mode by the running buffers;
  then times weight plus bias. LayerNorm: the same over its normalized (last) dimensions.
- Dropout(p) in training mode: E[y] = mu, E[y^2] = E[x^2] / (1 - p); in eval mode, nothing.
- AvgPool1d/2d (no padding, or padding counted) and AdaptiveAvgPool1d/2d: the mean of the
  window's means; Var = the window's summed variances / count^2. Flatten, Unflatten: reshape.
- MaxPool1d/2d right after a Gaussian (a Linear/Conv/norm output) or a non-decreasing
  activation of one: max_i phi(x_i) = phi(max_i x_i), and the max of k independent
  N(m, s^2) has density k phi(z) Phi(z)^(k-1) in z = (x - m) / s (order statistics), with m
  and s^2 the window's average pre-activation mean and variance.

Anything else (attention, a module of your own, GELU before max pooling) stops the
prediction: it is marked, not guessed.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import ndtr

from initlab.nn.activations import get_activation
from initlab.theory import NODES, WEIGHTS
from initlab.torchbridge.hooks import torch

nn = torch.nn
F = torch.nn.functional
_AFFINE = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d,
           nn.ConvTranspose3d)
_SHAPE = (nn.Flatten, nn.Unflatten, nn.Identity)
_DROPOUT = (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d)
_CHUNK = 1 << 14  # entries per quadrature block (x 400 nodes)
_MONOTONE = ("identity", "relu", "leaky_relu", "elu", "selu", "tanh", "sigmoid", "softplus")


class Unfollowed(Exception):
    """The theory cannot follow this module; the message says why."""


def activation_spec(module) -> str | None:
    """initlab's name for an elementwise torch activation module (None if it has none)."""
    if isinstance(module, nn.ReLU):
        return "relu"
    if isinstance(module, nn.LeakyReLU):
        return f"leaky_relu({module.negative_slope})"
    if isinstance(module, nn.ELU):
        return f"elu({module.alpha})"
    if isinstance(module, nn.SELU):
        return "selu"
    if isinstance(module, nn.GELU) and module.approximate == "none":
        return "gelu"
    if isinstance(module, nn.Tanh):
        return "tanh"
    if isinstance(module, nn.Sigmoid):
        return "sigmoid"
    if isinstance(module, nn.Softplus) and module.beta == 1:
        return "softplus"
    return None


class Chain:
    """The per-entry mean and variance of a signal, pushed through one module at a time.

    mu, var : (1, *features) float64 tensors (the batch dimension kept as 1).
    """

    def __init__(self, mean: float, var: float, shape):
        self.mu = torch.full((1, *shape[1:]), float(mean), dtype=torch.float64)
        self.var = torch.full((1, *shape[1:]), float(var), dtype=torch.float64)
        self.gauss = None  # (pre-activation mu, var, activation) while entries are phi(Gaussian)

    def pooled(self) -> tuple[float, float]:
        """(mean, std) over all entries and inputs: what a measured batch estimates."""
        m = float(self.mu.mean())
        second = float((self.var + self.mu * self.mu).mean())
        return m, math.sqrt(max(second - m * m, 0.0))

    @torch.no_grad()
    def step(self, module, in_shape) -> tuple[float, float]:
        """Push the state through ``module`` (whose input had ``in_shape``); (mean, std) after."""
        if tuple(self.mu.shape[1:]) != tuple(in_shape[1:]):
            if math.prod(self.mu.shape[1:]) != math.prod(in_shape[1:]):
                raise Unfollowed(f"its input of shape {tuple(in_shape)} is not the previous "
                                 "module's output")
            self.mu = self.mu.reshape(1, *in_shape[1:])  # a view or flatten between modules
            self.var = self.var.reshape(1, *in_shape[1:])
        spec = activation_spec(module)
        gauss, self.gauss = self.gauss, None
        if isinstance(module, _AFFINE):
            self._affine(module)
        elif spec is not None:
            act = get_activation(spec)
            if gauss is not None and gauss[2].name == "identity":
                self.gauss = (self.mu, self.var, act)
            self._elementwise(act)
        elif isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)):
            self._batchnorm(module)
        elif isinstance(module, nn.LayerNorm):
            self._layernorm(module)
        elif isinstance(module, (nn.MaxPool1d, nn.MaxPool2d)):
            self._maxpool(module, gauss)
        elif isinstance(module, _DROPOUT):
            if module.training and module.p > 0:
                keep = 1.0 - module.p
                second = (self.var + self.mu**2) / keep if keep > 0 else 0 * self.var
                self.mu = self.mu if keep > 0 else 0 * self.mu
                self.var = (second - self.mu**2).clamp_min(0)
        elif isinstance(module, (nn.AvgPool1d, nn.AvgPool2d, nn.AdaptiveAvgPool1d,
                                 nn.AdaptiveAvgPool2d)):
            self._avgpool(module)
        elif isinstance(module, _SHAPE):
            self.mu, self.var = module(self.mu), module(self.var)
            if isinstance(module, nn.Identity):
                self.gauss = gauss
        else:
            raise Unfollowed(f"{type(module).__name__} is not a module the theory follows")
        if isinstance(module, (*_AFFINE, nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d,
                               nn.LayerNorm)):
            self.gauss = (self.mu, self.var, get_activation("identity"))
        return self.pooled()

    def _affine(self, module) -> None:
        params = {n: p.detach().to("cpu", torch.float64) for n, p in module.named_parameters(
            recurse=False)}
        squared = {n: (p * p if n == "weight" else torch.zeros_like(p)) for n, p in params.items()}
        call = torch.func.functional_call
        self.mu = call(module, params, (self.mu,))
        self.var = call(module, squared, (self.var,))

    def _elementwise(self, act, mu=None, var=None, weights=WEIGHTS) -> None:
        """Entries become the moments of act(mu + sqrt(var) z), z weighted by ``weights``."""
        mu = self.mu if mu is None else mu
        var = self.var if var is None else var
        shape = mu.shape
        mu, sd = mu.numpy().ravel(), var.sqrt().numpy().ravel()
        mean, second = np.empty_like(mu), np.empty_like(mu)
        for i in range(0, mu.size, _CHUNK):
            y = act.fn(mu[i:i + _CHUNK, None] + sd[i:i + _CHUNK, None] * NODES)
            mean[i:i + _CHUNK] = y @ weights
            second[i:i + _CHUNK] = (y * y) @ weights
        self.mu = torch.from_numpy(mean).reshape(shape)
        self.var = torch.from_numpy(np.maximum(second - mean * mean, 0.0)).reshape(shape)

    def _maxpool(self, module, gauss) -> None:
        if gauss is None or gauss[2].name not in _MONOTONE:
            raise Unfollowed("max pooling is followed only right after a Linear/Conv/norm "
                             "output or a non-decreasing activation of one")
        if module.dilation not in (1, (1,), (1, 1)) or module.return_indices:
            raise Unfollowed("max pooling with dilation or returned indices")
        dims = self.mu.dim() - 2
        k = module.kernel_size
        count = math.prod(k) if isinstance(k, tuple) else k**dims
        pool = F.avg_pool1d if dims == 1 else F.avg_pool2d
        stride = module.stride if module.stride is not None else k
        mu, var, act = (pool(t, k, stride, module.padding, module.ceil_mode, False)
                        if i < 2 else t for i, t in enumerate(gauss))
        weights = WEIGHTS * count * ndtr(NODES) ** (count - 1)
        self._elementwise(act, mu, var, weights / weights.sum())

    def _normalize(self, dims, weight, bias, eps, batch_stats, running=None) -> None:
        if batch_stats:
            m = self.mu.mean(dim=dims, keepdim=True)
            v = (self.var + self.mu**2).mean(dim=dims, keepdim=True) - m * m
        else:
            m, v = running
        scale = 1.0 / torch.sqrt(v + eps)
        self.mu, self.var = (self.mu - m) * scale, self.var * scale * scale
        if weight is not None:
            w = weight.detach().to("cpu", torch.float64)
            self.mu, self.var = self.mu * w, self.var * w * w
        if bias is not None:
            self.mu = self.mu + bias.detach().to("cpu", torch.float64)

    def _batchnorm(self, module) -> None:
        extra = self.mu.dim() - 2  # (1, C, *spatial): parameters broadcast over positions
        view = (-1, *([1] * extra))
        batch = module.training or module.running_mean is None
        dims = tuple(d for d in range(self.mu.dim()) if d != 1)
        running = None if batch else (module.running_mean.to("cpu", torch.float64).reshape(view),
                                      module.running_var.to("cpu", torch.float64).reshape(view))
        w = None if module.weight is None else module.weight.reshape(view)
        b = None if module.bias is None else module.bias.reshape(view)
        self._normalize(dims, w, b, module.eps, batch, running)

    def _layernorm(self, module) -> None:
        k = len(module.normalized_shape)
        dims = tuple(range(self.mu.dim() - k, self.mu.dim()))
        self._normalize(dims, module.weight, module.bias, module.eps, True)

    def _avgpool(self, module) -> None:
        adaptive = isinstance(module, (nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d))
        if adaptive:
            size = self.mu.shape[2:]
            out = module.output_size if isinstance(module.output_size, (tuple, list)) else \
                (module.output_size,) * len(size)
            out = [s if o is None else o for s, o in zip(size, out, strict=True)]
            counts = torch.ones(1, dtype=torch.float64)
            for axis, (n, o) in enumerate(zip(size, out, strict=True)):
                c = torch.tensor([math.ceil((i + 1) * n / o) - (i * n) // o for i in range(o)],
                                 dtype=torch.float64)
                counts = counts.unsqueeze(-1) * c.reshape(*([1] * axis), -1)
            counts = counts.reshape(1, 1, *out)
        else:
            if module.ceil_mode or getattr(module, "divisor_override", None):
                raise Unfollowed("average pooling with ceil_mode or divisor_override")
            pad = module.padding if isinstance(module.padding, tuple) else (module.padding,)
            if any(pad) and not module.count_include_pad:
                raise Unfollowed("average pooling with padding not counted in the divisor")
            k = module.kernel_size
            counts = float(math.prod(k) if isinstance(k, tuple) else k ** (self.mu.dim() - 2))
        self.mu, self.var = module(self.mu), module(self.var) / counts
