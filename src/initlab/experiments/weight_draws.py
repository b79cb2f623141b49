"""The random draws of the activation study: named streams, and weights streamed in row blocks.

Streams: seed ``s`` draws the input from ``SeedSequence(s, spawn_key=(0,))``, the top gradient
from ``(1,)``, row block ``b`` of layer ``l``'s weight from ``(2, l, b)`` (about 2^20 entries a
block, fixed by the shape alone; laws that are not elementwise, such as orthogonal, draw the
whole matrix from ``(2, l)``) and layer ``l``'s bias from ``(3, l)``. Every init and
activation sees the same streams (common random numbers).

Speed and memory: threads draw row blocks of W and multiply each at once; no weight matrix of
a large net is ever held whole (a small one, :func:`keeps_weights`, keeps its blocks for the
backward passes, :class:`LayerWeight`). :func:`check_memory` refuses up front what cannot fit.
"""

from __future__ import annotations

import contextlib
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from initlab.errors import InitlabError
from initlab.init import get_initializer
from initlab.runtime.cores import usable_cores

BLOCK = 1 << 20  # entries per independently seeded row block of a weight matrix
_BY_BLOCKS = ("normal", "uniform", "truncated_normal", "constant")  # elementwise i.i.d. laws
KEEP = 1 << 26  # bytes of weights a net keeps for its backward passes rather than redraw


def default_threads(cap: int = 8) -> int:
    """Threads that draw weights when none are asked for: the thread limit this process was
    given, at most ``cap``. That is the smallest of BLAS's current limit (threadpoolctl: what
    OMP_NUM_THREADS or OPENBLAS_NUM_THREADS set at start, or a ``threadpool_limits`` around
    the call), OMP_NUM_THREADS where set, and the usable cores."""
    limits = [cap, usable_cores()]
    with contextlib.suppress(ValueError):
        limits.append(int(os.environ.get("OMP_NUM_THREADS", "").split(",")[0]))
    try:
        from threadpoolctl import threadpool_info
    except ImportError:  # pragma: no cover - a dependency of initlab
        threadpool_info = list
    limits += [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]
    return max(1, min(limits))


def stream(seed: int, *key: int) -> np.random.Generator:
    """The generator of one named stream of ``seed`` (the keys are in the module docstring)."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=key)))


def _rows(shape) -> int:
    """Rows of a weight block: about :data:`BLOCK` entries, at least one row."""
    return max(1, BLOCK // shape[1])


def _block(law, shape, seed: int, layer: int, block: int, dtype,
           standard: bool = False) -> np.ndarray:
    """Row block ``block`` of the layer's weights drawn from ``law`` (with ``standard``: the
    standard-normal draw a normal law scales to them, :meth:`initlab.init.laws.Law.standard`)."""
    rows = _rows(shape)
    n = min(rows, shape[0] - block * rows)
    draw = law.standard if standard else law.sample
    return draw((n, shape[1]), stream(seed, 2, layer, block), np.dtype(dtype).type)


def _mapper(stack: contextlib.ExitStack, threads: int, n_blocks: int):
    """``map``, or the ``map`` of a pool of ``threads`` threads entered on ``stack`` when there
    are several threads and blocks to share out."""
    if threads > 1 and n_blocks > 1:
        return stack.enter_context(ThreadPoolExecutor(threads)).map
    return map


def _n_blocks(shape) -> int:
    return -(-shape[0] // _rows(shape))


def drawn_whole(init, shape) -> bool:
    """Whether the weights of ``init`` for ``shape`` are drawn whole (laws that are not
    elementwise: orthogonal, sparse, eye), not in row blocks."""
    return get_initializer(init).law(shape).dist not in _BY_BLOCKS


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
    return LayerWeight(init, shape, seed, layer, dtype).product(x, threads, backward)


class LayerWeight:
    """Layer ``layer``'s (out, in) weight for ``seed`` as :func:`draw_weight` draws it, each
    row block drawn when a product first needs it; with ``keep`` the blocks stay, so later
    products (the backward passes) use them instead of drawing them again."""

    def __init__(self, init, shape, seed: int, layer: int, dtype=np.float32,
                 keep: bool = False):
        self.init, self.shape, self.seed, self.layer = get_initializer(init), shape, seed, layer
        self.dtype, self.kept = dtype, {} if keep else None
        self.law = self.init.law(shape)

    def block(self, b: int) -> np.ndarray:
        """Row block ``b`` (the whole matrix, b = 0, for laws that are not elementwise)."""
        w = None if self.kept is None else self.kept.get(b)
        if w is None:
            w = (_block(self.law, self.shape, self.seed, self.layer, b, self.dtype)
                 if self.law.dist in _BY_BLOCKS else
                 draw_weight(self.init, self.shape, self.seed, self.layer, self.dtype))
            if self.kept is not None:
                self.kept[b] = w
        return w

    def product(self, x: np.ndarray, threads: int = 1, backward: bool = False) -> np.ndarray:
        """What :func:`layer_product` returns, from this weight's blocks."""
        if self.law.dist not in _BY_BLOCKS:
            w = self.block(0)
            return x @ w if backward else x @ w.T
        rows, blocks = _rows(self.shape), range(_n_blocks(self.shape))
        out = None if backward else np.empty((x.shape[0], self.shape[0]),
                                             np.result_type(x, self.dtype))

        def job(b: int):
            w = self.block(b)
            if backward:
                return x[:, b * rows:(b + 1) * rows] @ w
            out[:, b * rows:(b + 1) * rows] = x @ w.T

        with contextlib.ExitStack() as stack:
            run = _mapper(stack, threads, len(blocks))
            if not backward:
                list(run(job, blocks))
                return out
            total = None
            for i in range(0, len(blocks), threads):  # waves: at most `threads` parts at once
                for part in run(job, blocks[i:i + threads]):
                    total = part if total is None else np.add(total, part, out=total)
            return total


class LayerWeights:
    """Layer ``layer``'s weights of one seed for several inits, each as :class:`LayerWeight`
    draws it. The inits with a normal law (lecun, he, normal(s), ...) differ only in scale, so
    each row block is one standard-normal draw (:meth:`initlab.init.laws.Law.standard`),
    made once and scaled for each of them: the same bits as their own draws, at a fraction
    of the drawing time. The others draw their own. With ``keep``, the shared draws (and the
    others' blocks) stay for the backward passes. ``threads``: those :meth:`multiply` uses."""

    def __init__(self, inits, shape, seed: int, layer: int, dtype=np.float32,
                 keep: bool = False, threads: int = 1):
        inits = [get_initializer(i) for i in inits]
        laws = [i.law(shape) for i in inits]
        self.shared = [k for k, law in enumerate(laws) if law.dist == "normal"]
        self.weights = [LayerWeight(i, shape, seed, layer, dtype,
                                    keep and k not in self.shared)
                        for k, i in enumerate(inits)]
        self.shape, self.seed, self.layer, self.dtype = shape, seed, layer, dtype
        self.kept = {} if keep else None
        self.threads = threads

    def multiply(self, jobs, backward: bool = False) -> list[np.ndarray]:
        """:meth:`products` of stacks ``(k, s)``, s (..., M, n), each multiplied as one
        (rows, n) matrix in :attr:`threads` threads: the operator
        :func:`initlab.nn.probe.probe` takes."""
        flat = [(k, s.reshape(-1, s.shape[-1])) for k, s in jobs]
        out = self.products(flat, self.threads, backward)
        return [o.reshape(*s.shape[:-1], o.shape[-1]) for o, (_, s) in zip(out, jobs, strict=True)]

    def standard(self, b: int) -> np.ndarray:
        """The standard-normal draw of row block ``b`` that the normal laws scale."""
        z = None if self.kept is None else self.kept.get(b)
        if z is None:
            z = _block(self.weights[self.shared[0]].law, self.shape, self.seed, self.layer, b,
                       self.dtype, standard=True)
            if self.kept is not None:
                self.kept[b] = z
        return z

    def products(self, jobs, threads: int = 1, backward: bool = False) -> list[np.ndarray]:
        """For each ``(k, x)`` of ``jobs``, what ``LayerWeight(inits[k], ...).product(x,
        threads, backward)`` returns, bit for bit (same blocks, same block order)."""
        out = [None] * len(jobs)
        mine = [j for j, (k, _) in enumerate(jobs) if k in self.shared]
        for j, (k, x) in enumerate(jobs):
            if k not in self.shared:
                out[j] = self.weights[k].product(x, threads, backward)
        if not mine:
            return out
        rows, blocks = _rows(self.shape), range(_n_blocks(self.shape))
        dt = np.dtype(self.dtype).type
        if not backward:
            for j in mine:
                x = jobs[j][1]
                out[j] = np.empty((x.shape[0], self.shape[0]), np.result_type(x, self.dtype))

        def job(b: int) -> list:
            z, parts, law = self.standard(b), [], None
            # one scratch array for every init's w: a fresh one each time costs page faults
            buf = np.empty_like(z)
            for j in mine:
                k, x = jobs[j]
                if law is not self.weights[k].law:  # jobs of one init in a row share w
                    law = self.weights[k].law
                    w = law.scale(z, dt, out=buf)
                if backward:
                    parts.append(x[:, b * rows:(b + 1) * rows] @ w)
                else:
                    out[j][:, b * rows:(b + 1) * rows] = x @ w.T
            return parts

        with contextlib.ExitStack() as stack:
            run = _mapper(stack, threads, len(blocks))
            if not backward:
                list(run(job, blocks))
                return out
            for i in range(0, len(blocks), threads):  # waves, as LayerWeight.product sums
                for parts in run(job, blocks[i:i + threads]):
                    for j, part in zip(mine, parts, strict=True):
                        out[j] = part if out[j] is None else np.add(out[j], part, out=out[j])
            return out


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
#: Bytes of kept arrays (h_l, phi'(a_l), products) of the inits run side by side, at most.
GROUP_BYTES = 1 << 28


def init_groups(inits, sizes, batch, n_acts, dtype, grad, threads, keep, tops) -> list[list[int]]:
    """The inits' indices in groups run side by side by the activation study: those with a
    normal law share their draws, as many at once as :data:`GROUP_BYTES` allows; every
    other init alone. The results do not depend on the grouping."""
    shape = (sizes[1], sizes[0])
    normal = [i for i, init in enumerate(inits) if init.law(shape).dist == "normal"]
    one = estimate_memory(sizes, batch, n_acts, dtype, grad, False, threads, keep, tops)
    size = max(1, GROUP_BYTES // max(one, 1))
    return ([normal[k:k + size] for k in range(0, len(normal), size)]
            + [[i] for i in range(len(inits)) if i not in normal])


def estimate_memory(sizes, batch: int, n_activations: int = 1, dtype=np.float32,
                    grad: bool = True, whole: bool = False, threads: int = 1,
                    keep: bool = False, tops: int = 1) -> int:
    """Peak bytes above what Python and NumPy take: ``threads`` weight blocks and partial
    products (``whole``: orthogonal/sparse/eye, the largest matrix with ~5 float64 copies for
    its QR), a few (A N, width) arrays with float64 copies, and with gradients every layer's
    h and phi'; ``keep``: every weight, kept for the backward passes; ``tops``: backward
    passes run side by side, (tops A N, width) arrays each."""
    item, wide = np.dtype(dtype).itemsize, n_activations * batch * max(sizes)
    largest = max(o * i for o, i in zip(sizes[1:], sizes[:-1], strict=False))
    weights = largest * 5 * 8 if whole else threads * (min(BLOCK, largest) + wide) * item
    kept = 2 * n_activations * batch * sum(sizes) * item + 16 * batch**2 if grad else 0
    if grad and keep:
        kept += sum(o * i for o, i in zip(sizes[1:], sizes[:-1], strict=False)) * item
    if grad and tops > 1:
        kept += tops * (wide * (3 * item + 3 * 8) + n_activations * 16 * batch**2)
    return weights + wide * (4 * item + 2 * 8) + kept


def keeps_weights(sizes, dtype=np.float32) -> bool:
    """Whether a net of ``sizes`` keeps its weights from the forward pass for the backward
    passes (at most :data:`KEEP` bytes of them) instead of drawing them again."""
    return sum(o * i for o, i in zip(sizes[1:], sizes[:-1], strict=False)) * np.dtype(
        dtype).itemsize <= KEEP


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

