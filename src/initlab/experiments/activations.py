"""Inside the network at initialization: per-layer activation and gradient statistics.

An MLP ``a_l = h_{l-1} W_l^T + b_l``, ``h_l = phi(a_l)`` (no bias by default) is drawn for every
init, activation and seed and looked at layer by layer: histogram counts on fixed bins, mean,
std, the fractions saturated and exactly zero, the pre-activation std; then, backward from a
unit-variance random gradient at the top, the std of dL/dh_l and of dL/dW_l. Each measured std
sits beside :func:`initlab.theory.predict` (REFERENCES.md sections 2 and 3).

Streams: seed ``s`` draws the input from ``SeedSequence(s, spawn_key=(0,))``, the top gradient
from ``(1,)``, row block ``b`` of layer ``l``'s weight from ``(2, l, b)`` (about 2^20 entries a
block, fixed by the shape alone; laws that are not elementwise, such as orthogonal, draw the
whole matrix from ``(2, l)``) and layer ``l``'s bias from ``(3, l)``. Every init and
activation sees the same streams (common random numbers) and one draw serves all activations.
Statistics pool all values of all seeds (what theory's ensemble average predicts); per-seed
stds are kept for the figures.

Speed and memory: threads draw row blocks of W and multiply each at once (BLAS kept to one
thread meanwhile, so the two never compete); no weight matrix is ever held whole. The backward
pass draws every block again instead of keeping it, and takes dL/dW's std from (N, N) Gram
matrices, so gradients need no weight-sized memory either.
"""

from __future__ import annotations

import contextlib
import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from initlab.errors import InitlabError, check_positive_int, choose
from initlab.init import get_initializer
from initlab.nn.activations import get_activation
from initlab.results import Result, detail
from initlab.spec import split_specs
from initlab.theory import law_moments, predict

try:  # installed with scikit-learn
    from threadpoolctl import threadpool_limits
except ImportError:  # pragma: no cover
    threadpool_limits = None

PRESETS = {
    "saito": {  # Deep Learning from Scratch 6.2 (REFERENCES.md section 2)
        "inits": ["normal(1)", "normal(0.01)", "lecun", "he", "zeros", "ones", "constant(5)"],
        "activations": ["sigmoid", "relu", "tanh"], "depth": 5, "width": 100, "batch": 1000},
    "cs231n": {  # the 10-layer tanh/ReLU study (REFERENCES.md section 3)
        "inits": ["normal(0.01)", "normal(0.05)", "lecun", "he"],
        "activations": ["tanh", "relu"], "depth": 10, "width": 4096, "batch": 16},
}
BLOCK = 1 << 20  # entries per independently seeded row block of a weight matrix
_BY_BLOCKS = ("normal", "uniform", "truncated_normal", "constant")  # elementwise i.i.d. laws
#: Saturated outputs (phi' near 0); activations not listed here never count as saturated.
SATURATION = {"tanh": lambda y: np.abs(y) > 0.99, "sigmoid": lambda y: (y < 0.01) | (y > 0.99)}
DIES = 1e3  # a std outside [ref / DIES, ref * DIES] is a dead (or exploded) signal


def preset(name: str) -> dict:
    """Keyword arguments of :func:`run_activations` for a published setting (a fresh copy)."""
    choose(name, PRESETS, "preset")
    return {k: list(v) if isinstance(v, list) else v for k, v in PRESETS[name].items()}


@dataclass
class LayerStats(Result):
    """One layer (``index`` 1-based) of one run: measured statistics beside theory's.

    mean, std, saturated, zero: of h_l over all units, examples and seeds; grad_std: of
    dL/dh_l; weight_grad_std: of the entries of dL/dW_l = delta_l^T h_{l-1}, summed over the
    batch, for a top gradient dL/dh_L of unit variance. Detail fields (saved files only):
    pre-activation std, per-seed stds, histogram counts and the values below/above the bins.
    """

    index: int
    mean: float
    std: float
    saturated: float
    zero: float
    predicted_std: float | None
    grad_std: float | None = None
    predicted_grad_std: float | None = None
    weight_grad_std: float | None = None
    pre_std: float | None = detail()
    predicted_pre_std: float | None = detail()
    predicted_weight_grad_std: float | None = detail()
    seed_std: list | None = detail()
    seed_grad_std: list | None = detail()
    seed_weight_grad_std: list | None = detail()
    counts: list | None = detail()
    below: int | None = detail()
    above: int | None = detail()


@dataclass
class ActivationRun(Result):
    """One (init, activation) pair: its layers and where the signal dies (None: healthy)."""

    init: str
    activation: str
    layers: list[LayerStats]
    dies_at: int | None
    grad_dies_at: int | None = detail()
    input_std: float | None = detail()
    edges: list | None = detail()

    def verdict(self) -> str:
        """One line: where the activations and (if measured) the gradients die."""
        text = (f"signal dies at layer {self.dies_at}" if self.dies_at
                else f"healthy through layer {len(self.layers)}")
        saturated = [s.index for s in self.layers if s.saturated > 0.5]
        if saturated:
            text += f" (over half saturated from layer {saturated[0]})"
        if self.layers[0].grad_std is not None:
            text += (f"; gradients die at layer {self.grad_dies_at}" if self.grad_dies_at
                     else "; gradients healthy down to layer 1")
        return f"{self.activation} / {self.init}: {text}"


@dataclass
class ActivationsResult(Result):
    """Every (activation, init) run, activation-major, and the configuration."""

    runs: list[ActivationRun]
    config: dict | None = detail()

    def run(self, init: str, activation: str) -> ActivationRun:
        """The run of one (init, activation) pair, by their spec strings."""
        for r in self.runs:
            if r.init == init and r.activation == activation:
                return r
        raise InitlabError(f"no run for init {init!r} with activation {activation!r}")

    def table(self):
        header = ["activation", "init", "layer", "mean", "std", "theory", "saturated", "zero",
                  "grad std", "theory", "dL/dW std"]
        return header, [[r.activation, r.init, s.index, s.mean, s.std, s.predicted_std,
                         s.saturated, s.zero, s.grad_std, s.predicted_grad_std,
                         s.weight_grad_std] for r in self.runs for s in r.layers]


# ----------------------------------------------------------------------------- statistics
class Moments:
    """Count, mean and sum of squared deviations, pooled over seeds (Chan et al.'s update);
    every seed's own std is kept in ``seed_std``."""

    def __init__(self):
        self.n, self.mean, self.m2, self.seed_std = 0, 0.0, 0.0, []

    def add(self, values: np.ndarray) -> None:
        v = np.asarray(values, dtype=np.float64).ravel()
        mean = float(v.mean())
        self.add_moments(v.size, mean, float(np.square(v - mean).sum()))

    def add_moments(self, n: int, mean: float, m2: float) -> None:
        self.seed_std.append(math.sqrt(m2 / n) if math.isfinite(m2) else math.nan)
        total, shift = self.n + n, mean - self.mean
        self.m2 += m2 + shift * shift * self.n * n / total
        self.mean += shift * n / total
        self.n = total

    @property
    def std(self) -> float:
        return math.sqrt(self.m2 / self.n) if self.n and math.isfinite(self.m2) else math.nan


def weight_grad_moments(delta: np.ndarray, h: np.ndarray) -> tuple[int, float, float]:
    """(count, mean, sum of squared deviations) of the entries of dW = delta^T h.

    delta: (N, out), h: (N, in). Where N (out + in) < out in, dW is never formed: its sum of
    squares is sum((delta delta^T) * (h h^T)), from two (N, N) Gram matrices.
    """
    d, x = delta.astype(np.float64), h.astype(np.float64)
    n = d.shape[1] * x.shape[1]
    if d.shape[0] * (d.shape[1] + x.shape[1]) < n:
        s1 = float(d.sum(1) @ x.sum(1))
        s2 = float(np.sum((d @ d.T) * (x @ x.T)))
        return n, s1 / n, max(s2 - s1 * s1 / n, 0.0)
    dw = d.T @ x
    mean = float(dw.mean())
    return n, mean, float(np.square(dw - mean).sum())


class LayerAccumulator:
    """One layer's histogram counts and pooled moments for one (init, activation)."""

    def __init__(self, edges: np.ndarray, act=None):
        self.edges = edges
        self.saturates = SATURATION.get(act.name) if act is not None else None
        self.act, self.pre, self.grad, self.weight_grad = (Moments() for _ in range(4))
        self.counts = np.zeros(len(edges) - 1, dtype=np.int64)
        self.below = self.above = self.saturated = self.zero = 0

    def add_forward(self, a: np.ndarray, y: np.ndarray) -> None:
        """Add one seed's pre-activations ``a`` and activations ``y`` (both (N, n))."""
        self.pre.add(a)
        self.act.add(y)
        lo, hi = self.edges[0], self.edges[-1]
        self.counts += np.histogram(y, len(self.edges) - 1, (lo, hi))[0]
        self.below += int(np.count_nonzero(y < lo))
        self.above += int(np.count_nonzero(y > hi))
        self.zero += int(np.count_nonzero(y == 0))
        if self.saturates is not None:
            self.saturated += int(np.count_nonzero(self.saturates(y)))

    def stats(self, index: int, theory, grad: bool) -> LayerStats:
        """The :class:`LayerStats` of layer ``index`` (1-based) beside ``theory``."""

        def pick(arr, keep=True):
            return None if arr is None or not keep else float(arr[index - 1])

        n = max(self.act.n, 1)
        return LayerStats(
            index, self.act.mean, self.act.std, self.saturated / n, self.zero / n,
            pick(theory.std), self.grad.std if grad else None, pick(theory.grad_std, grad),
            _rounding_is_zero(self.weight_grad) if grad else None, pre_std=self.pre.std,
            predicted_pre_std=pick(theory.pre_std),
            predicted_weight_grad_std=pick(theory.weight_grad_std, grad),
            seed_std=self.act.seed_std, seed_grad_std=self.grad.seed_std if grad else None,
            seed_weight_grad_std=self.weight_grad.seed_std if grad else None,
            counts=self.counts, below=self.below, above=self.above)


ROUNDING = 1e-4  # a spread below this fraction of the mean is float rounding, not a spread


def _rounding_is_zero(m) -> float:
    """``m.std``, or exactly 0 where it is below ROUNDING |mean|: with constant weights every
    entry of dL/dW is the same number, and only rounding makes them differ."""
    std = m.std
    return 0.0 if math.isfinite(std) and std <= ROUNDING * abs(m.mean) else std


def first_dead(stds, ref: float, order) -> int | None:
    """The first layer (1-based; 0-based indices visited in ``order``) whose std is not within
    a factor 1e3 of ``ref``; None when all are, or when ``ref`` is not a positive number."""
    if not (ref is not None and 0 < ref < math.inf):
        return None
    for i in order:
        ratio = stds[i] / ref if stds[i] is not None else math.nan
        if not 1 / DIES <= ratio <= DIES:
            return i + 1
    return None


# ----------------------------------------------------------------------------- random draws
def stream(seed: int, *key: int) -> np.random.Generator:
    """The generator of one named stream of ``seed`` (the keys are in the module docstring)."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=key)))


def _block(law, shape, seed: int, layer: int, block: int, dtype) -> np.ndarray:
    rows = max(1, BLOCK // shape[1])
    n = min(rows, shape[0] - block * rows)
    return law.sample((n, shape[1]), stream(seed, 2, layer, block), np.dtype(dtype).type)


def _n_blocks(shape) -> int:
    return -(-shape[0] // max(1, BLOCK // shape[1]))


def draw_weight(init, shape, seed: int, layer: int, dtype=np.float32) -> np.ndarray:
    """Layer ``layer``'s (out, in) weight for ``seed``, bit for bit as the experiment draws it:
    elementwise laws in row blocks, block b from stream (2, layer, b); other laws
    (orthogonal, sparse, eye) whole, from stream (2, layer)."""
    init = get_initializer(init)
    law = init.law(shape)
    if law.dist not in _BY_BLOCKS:
        return init(shape, stream(seed, 2, layer), dtype=np.dtype(dtype).type)
    return np.concatenate([_block(law, shape, seed, layer, b, dtype)
                           for b in range(_n_blocks(shape))])


def layer_product(init, shape, seed: int, layer: int, x: np.ndarray, dtype=np.float32,
                  threads: int = 1, backward: bool = False) -> np.ndarray:
    """``x @ W.T`` (x: (M, in)) or, ``backward``, ``x @ W`` (x: (M, out)) for the weight W of
    :func:`draw_weight`, without holding W: each row block is multiplied as soon as drawn, in
    ``threads`` threads. Backward, block products are summed in block order (in waves of
    ``threads``), so the result does not depend on the thread count."""
    init = get_initializer(init)
    law = init.law(shape)
    if law.dist not in _BY_BLOCKS:
        w = draw_weight(init, shape, seed, layer, dtype)
        return x @ w if backward else x @ w.T
    rows, blocks = max(1, BLOCK // shape[1]), range(_n_blocks(shape))
    out = None if backward else np.empty((x.shape[0], shape[0]), np.result_type(x, dtype))

    def job(b: int):
        w = _block(law, shape, seed, layer, b, dtype)
        if backward:
            return x[:, b * rows:(b + 1) * rows] @ w
        out[:, b * rows:(b + 1) * rows] = x @ w.T

    with contextlib.ExitStack() as stack:
        run = map
        if threads > 1 and len(blocks) > 1:
            run = stack.enter_context(ThreadPoolExecutor(threads)).map
        if not backward:
            list(run(job, blocks))
            return out
        total = None
        for i in range(0, len(blocks), threads):  # waves: at most `threads` parts held at once
            for part in run(job, blocks[i:i + threads]):
                total = part if total is None else np.add(total, part, out=total)
        return total


def draw_input(spec, shape, seed: int, dtype=np.float32) -> np.ndarray:
    """The (N, n_0) input of ``seed``, drawn from the init-style ``spec`` (``normal``: N(0, 1))."""
    return get_initializer(spec)(shape, stream(seed, 0), dtype=np.dtype(dtype).type)


def draw_bias(std: float, n: int, seed: int, layer: int, dtype=np.float32) -> np.ndarray:
    """Layer ``layer``'s bias for ``seed``: N(0, std^2) from stream (3, layer)."""
    return (stream(seed, 3, layer).standard_normal(n) * std).astype(dtype)


def draw_top_gradient(shape, seed: int, dtype=np.float32) -> np.ndarray:
    """The unit-variance random dL/dh_L fed in at the top, from stream (1,)."""
    return stream(seed, 1).standard_normal(shape, dtype=np.dtype(dtype).type)


# ----------------------------------------------------------------------------- memory
def estimate_memory(sizes, batch: int, n_activations: int = 1, dtype=np.float32,
                    grad: bool = True, whole: bool = False, threads: int = 1) -> int:
    """Peak bytes above what Python and NumPy take: ``threads`` weight blocks and partial
    products (``whole``: orthogonal/sparse/eye, the largest matrix with ~5 float64 copies for
    its QR), a few (A N, width) arrays with float64 copies, and with gradients every layer's
    h and phi'."""
    item, wide = np.dtype(dtype).itemsize, n_activations * batch * max(sizes)
    largest = max(o * i for o, i in zip(sizes[1:], sizes[:-1], strict=False))
    weights = largest * 5 * 8 if whole else threads * (min(BLOCK, largest) + wide) * item
    kept = 2 * n_activations * batch * sum(sizes) * item + 16 * batch**2 if grad else 0
    return weights + wide * (4 * item + 2 * 8) + kept


def check_memory(sizes, batch: int, *args) -> None:
    """Refuse up front, with the estimate, what cannot fit in the memory available now."""
    need = estimate_memory(sizes, batch, *args)
    have = None
    with contextlib.suppress(OSError, ValueError, StopIteration), open("/proc/meminfo") as f:
        have = next(int(ln.split()[1]) * 1024 for ln in f if ln.startswith("MemAvailable:"))
    if have is not None and need > have:
        raise InitlabError(
            f"{len(sizes) - 1} layers of up to {max(sizes)} units with batch {batch} need about "
            f"{need / 2**30:,.1f} GiB of memory, but only {have / 2**30:,.1f} GiB is available; "
            f"use a smaller width or batch")


# ----------------------------------------------------------------------------- one net
def _one_seed(init, acts, sizes, seed, cfg, accs) -> None:
    """Forward (and backward) pass of every activation for one (init, seed); adds to ``accs``.

    Activations are stacked, h: (A, N, n_l), so every weight block is drawn once for all A;
    the backward pass keeps h_l and phi'(a_l) of every layer, (A, N, n_l) each.
    """
    dt, n, depth, threads = cfg["dtype"], cfg["batch"], len(sizes) - 1, cfg["threads"]
    x = draw_input(cfg["input"], (n, sizes[0]), seed, dt)
    h = x[None]  # (1, N, n_0): the first layer's product is shared by all activations
    kept_h, kept_d = [np.broadcast_to(x, (len(acts), *x.shape))], []
    for layer in range(1, depth + 1):
        shape = (sizes[layer], sizes[layer - 1])
        a = layer_product(init, shape, seed, layer, h.reshape(-1, shape[1]), dt, threads)
        a = a.reshape(h.shape[0], n, shape[0])
        if cfg["bias"]:
            a += draw_bias(cfg["bias"], shape[0], seed, layer, dt)
        ys, ds = [], []
        for k, act in enumerate(acts):
            ak = a[k % a.shape[0]]
            ys.append(act.fn(ak).astype(dt, copy=False))  # (gelu would promote to float64)
            accs[k][layer - 1].add_forward(ak, ys[-1])
            if cfg["grad"]:
                ds.append(act.grad(ak, ys[-1]).astype(dt, copy=False))
        h = np.stack(ys)
        if cfg["grad"]:
            kept_h.append(h)
            kept_d.append(np.stack(ds))
    if not cfg["grad"]:
        return
    g = np.broadcast_to(draw_top_gradient((n, sizes[-1]), seed, dt), h.shape)
    for layer in range(depth, 0, -1):
        delta = g * kept_d[layer - 1]
        for k in range(len(acts)):
            accs[k][layer - 1].grad.add(g[k])
            accs[k][layer - 1].weight_grad.add_moments(
                *weight_grad_moments(delta[k], kept_h[layer - 1][k]))
        if layer > 1:
            shape = (sizes[layer], sizes[layer - 1])
            g = layer_product(init, shape, seed, layer, delta.reshape(-1, shape[0]), dt,
                              threads, backward=True).reshape(len(acts), n, shape[1])


# ----------------------------------------------------------------------------- the experiment
def _as_list(value, what: str) -> list:
    items = split_specs(value) if isinstance(value, str) else list(value)
    if not items:
        raise InitlabError(f"give at least one {what}")
    return items


def _layer_sizes(depth, width, sizes) -> list[int]:
    if sizes is None:
        return [check_positive_int(width, "width")] * (check_positive_int(depth, "depth") + 1)
    sizes = [check_positive_int(s, "every layer size") for s in sizes]
    if len(sizes) < 2:
        raise InitlabError(f"sizes must give the input size and at least one layer, got {sizes}")
    return sizes


def _dtype(dtype) -> np.dtype:
    with contextlib.suppress(TypeError):
        if np.dtype(dtype) in (np.float32, np.float64):
            return np.dtype(dtype)
    raise InitlabError(f"dtype must be float32 or float64, got {dtype!r}")


def _edges(act, bins, hist_range) -> np.ndarray:
    n, (lo, hi) = (30, (0.0, 1.0)) if act.name == "sigmoid" else (40, (-1.0, 1.0))
    n = n if bins is None else check_positive_int(bins, "bins")
    if hist_range is not None:
        lo, hi = (float(v) for v in hist_range)
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise InitlabError(f"the histogram range must be finite with lo < hi, got {hist_range}")
    return np.linspace(lo, hi, n + 1)


def run_activations(inits=("lecun",), activations=("tanh",), *, depth: int = 10,
                    width: int = 4096, sizes=None, batch: int = 16, input: str = "normal",
                    bias: float | None = None, seeds: int = 1, seed: int = 0,
                    dtype: str = "float32", grad: bool = True, bins: int | None = None,
                    hist_range=None, threads: int | None = None,
                    progress: bool = False) -> ActivationsResult:
    """Measure every layer of every (activation, init) MLP at initialization, beside theory.

    Args:
        inits, activations: spec strings (a list, or one comma-separated string).
        depth, width: ``depth`` layers of ``width`` units on a ``width``-wide input; or
        sizes: [n_0, n_1, ..., n_L], the input size then each layer's (overrides both).
        batch: N, rows of the (N, n_0) input, drawn from the init-style spec ``input``.
        bias: None (no bias) or sigma_b: biases drawn from N(0, sigma_b^2).
        seeds, seed: nets drawn from seeds seed, seed+1, ...; statistics pool over them.
        dtype: float32 (fast) or float64. grad: also run the backward pass.
        bins, hist_range: histogram bins and (lo, hi); default 30 on (0, 1) for sigmoid,
            else 40 on (-1, 1), as the sources draw them.
        threads: threads drawing weights (default: the usable cores, at most 8); the result
            does not depend on it.

    >>> r = run_activations("he", "relu", depth=3, width=64, batch=8)
    >>> [layer.index for layer in r.runs[0].layers], r.runs[0].dies_at
    ([1, 2, 3], None)
    """
    inits = [get_initializer(s) for s in _as_list(inits, "init spec")]
    acts = [get_activation(s) for s in _as_list(activations, "activation")]
    sizes, n = _layer_sizes(depth, width, sizes), check_positive_int(batch, "batch")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise InitlabError(f"seed must be an integer >= 0, got {seed!r}")
    seed_list = [seed + s for s in range(check_positive_int(seeds, "seeds"))]
    dt = _dtype(dtype)
    if bias is not None and not (isinstance(bias, (int, float)) and 0 <= bias < math.inf):
        raise InitlabError(f"bias must be None or a finite std >= 0, got {bias!r}")
    edges = [_edges(act, bins, hist_range) for act in acts]
    in_init = get_initializer(input)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    threads = check_positive_int(threads, "threads") if threads else min(8, cores or 1)
    whole = any(i.law((sizes[1], sizes[0])).dist not in _BY_BLOCKS for i in inits)
    check_memory(sizes, n, len(acts), dt, grad, whole, threads)
    cfg = {"dtype": dt, "batch": n, "input": in_init, "bias": bias or 0.0, "grad": grad,
           "threads": threads}
    accs = {(i, k): [LayerAccumulator(edges[k], act) for _ in sizes[1:]]
            for i in range(len(inits)) for k, act in enumerate(acts)}
    inputs = Moments()
    bar = None
    if progress:
        from initlab.progress import Progress
        bar = Progress(len(inits) * len(seed_list), "activations", "net")
    blas = threadpool_limits(1, "blas") if threadpool_limits else contextlib.nullcontext()
    with blas, np.errstate(over="ignore", invalid="ignore"):
        for s in seed_list:
            inputs.add(draw_input(in_init, (n, sizes[0]), s, dt))
            for i, init in enumerate(inits):
                _one_seed(init, acts, sizes, s, cfg, [accs[i, k] for k in range(len(acts))])
                if bar is not None:
                    bar.update()
    if bar is not None:
        bar.close()
    moments = law_moments(in_init.law((n, sizes[0])), (n, sizes[0]))
    moments = moments or (inputs.mean, inputs.std**2)
    runs = []
    for k, act in enumerate(acts):
        for i, init in enumerate(inits):
            weights = [law_moments(init.law(shape), shape)
                       for shape in zip(sizes[1:], sizes[:-1], strict=False)]
            theory = predict(act, weights, sizes, moments, (bias or 0.0) ** 2, n)
            layers = [acc.stats(j + 1, theory, grad) for j, acc in enumerate(accs[i, k])]
            std, grad_std = [s.std for s in layers], [s.grad_std for s in layers]
            depth = len(layers)
            runs.append(ActivationRun(
                init.spec, act.spec, layers, first_dead(std, inputs.std, range(depth)),
                grad_dies_at=first_dead(grad_std, grad_std[-1], range(depth - 2, -1, -1))
                if grad else None, input_std=inputs.std, edges=edges[k]))
    config = {"sizes": sizes, "batch": n, "input": in_init.spec, "bias": bias,
              "seeds": len(seed_list), "seed": seed, "dtype": dt.name, "grad": grad}
    return ActivationsResult(runs, config)
