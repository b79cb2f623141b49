"""Workload "deep-stats": forward statistics of a 10 x 4096 tanh net (issue 4, goal <= 0.4x).

Every contender is one whole process that draws a 16 x 4096 standard-normal input and ten
4096 x 4096 weights of std 0.01, pushes the batch through ``tanh(x @ W)`` layer by layer (no
bias) and computes per-layer mean, std and a 40-bin histogram on (-1, 1).

- ``initlab``: the command ``initlab activations --activation tanh --init "normal(0.01)"
  --depth 10 --width 4096 --batch 16 --no-grad --json`` (its default dtype, float32).
- ``numpy``: the cs231n lecture's loop: legacy ``np.random.randn(fan_in, fan_out) * 0.01``
  per layer, ``np.tanh(np.dot(X, W))``, float64, the layer outputs kept in a dict, then the
  per-layer means and stds (and the histogram counts the lecture plots). Judged (issue 4's
  0.4x) against ``initlab float64``, the same command with ``--dtype float64``: same dtype
  on both sides.
- ``modern``: the same loop as one writes it on today's NumPy: ``np.random.default_rng`` and
  float32 (``rng.standard_normal((fan_in, fan_out), dtype=np.float32) * 0.01``, ``X @ W``).
  Reported beside the lecture's loop, not judged.
- ``floor``: NumPy drawing the same ten weights and nothing else, in initlab's dtype, split
  over the same thread count as every other contender (the harness's, which is also what
  ``initlab activations`` draws with: its drawing pool follows OMP_NUM_THREADS and BLAS's
  limit); ``Generator.standard_normal`` releases the GIL. Goal (issue "performance"):
  initlab at most 1.2x the floor, whole process, start-up included.
- ``initlab with gradients``: the same command without ``--no-grad``, to document the time
  and memory of the backward pass (issue 4 asks for it); not judged.

Peak memory: each process's ``ru_maxrss``, and above what the same process takes after its
imports alone (goal for initlab: at most 3 weight matrices' worth).
"""

from __future__ import annotations

import numpy as np

from harness import Contender, Workload, child_main, script, threads_from_env

SIZES = {"full": (10, 4096, 16), "quick": (10, 1024, 16), "tiny": (3, 64, 4)}
DTYPE = "float32"  # what `initlab activations` uses by default
STD = 0.01


def run_cs231n(depth: int, width: int, batch: int) -> dict:
    """The lecture's loop, as written there (plus a seed, for repeatable numbers)."""
    np.random.seed(0)  # noqa: NPY002 - the lecture uses the legacy global stream
    D = np.random.randn(batch, width)  # noqa: NPY002
    hidden_layer_sizes = [width] * depth
    nonlinearities = ["tanh"] * len(hidden_layer_sizes)
    Hs = {}
    for i in range(len(hidden_layer_sizes)):
        X = D if i == 0 else Hs[i - 1]
        fan_in = X.shape[1]
        fan_out = hidden_layer_sizes[i]
        W = np.random.randn(fan_in, fan_out) * STD  # noqa: NPY002
        H = np.dot(X, W)
        H = np.tanh(H) if nonlinearities[i] == "tanh" else np.maximum(0, H)
        Hs[i] = H
    layer_means = [float(np.mean(H)) for H in Hs.values()]
    layer_stds = [float(np.std(H)) for H in Hs.values()]
    counts = [np.histogram(H.ravel(), bins=40, range=(-1, 1))[0] for H in Hs.values()]
    assert all(c.sum() == batch * width for c in counts)
    return {"means": layer_means, "stds": layer_stds}


def run_cs231n_modern(depth: int, width: int, batch: int) -> dict:
    """The lecture's loop on modern NumPy: a Generator and float32."""
    rng = np.random.default_rng(0)
    D = rng.standard_normal((batch, width), dtype=np.float32)
    Hs = {}
    for i in range(depth):
        X = D if i == 0 else Hs[i - 1]
        W = rng.standard_normal((X.shape[1], width), dtype=np.float32) * np.float32(STD)
        Hs[i] = np.tanh(X @ W)
    layer_means = [float(np.mean(H)) for H in Hs.values()]
    layer_stds = [float(np.std(H)) for H in Hs.values()]
    counts = [np.histogram(H.ravel(), bins=40, range=(-1, 1))[0] for H in Hs.values()]
    assert all(c.sum() == batch * width for c in counts)
    return {"means": layer_means, "stds": layer_stds}


def run_floor(depth: int, width: int, batch: int) -> dict:
    """Only draw the ``depth`` weights, each split in row blocks over the thread count."""
    from concurrent.futures import ThreadPoolExecutor

    threads = threads_from_env()
    dtype = np.dtype(DTYPE).type
    seeds = np.random.SeedSequence(0).spawn(depth * threads)
    with ThreadPoolExecutor(threads) as pool:
        for layer in range(depth):
            w = np.empty((width, width), dtype=dtype)
            blocks = np.array_split(np.arange(width), threads)

            def fill(k, w=w, blocks=blocks, layer=layer):
                part = w[blocks[k][0]:blocks[k][-1] + 1]
                np.random.default_rng(seeds[layer * threads + k]).standard_normal(
                    out=part, dtype=dtype)
                part *= dtype(STD)

            list(pool.map(fill, range(threads)))
    return {"last_std": float(w.std())}


CONTENDERS = {"numpy": run_cs231n, "modern": run_cs231n_modern, "floor": run_floor}


def _cli(depth: int, width: int, batch: int, grad: bool = False,
         dtype: str = DTYPE) -> list[str]:
    return ["-m", "initlab.cli", "activations", "--activation", "tanh", "--init",
            f"normal({STD})", "--depth", str(depth), "--width", str(width), "--batch",
            str(batch), "--json", "--dtype", dtype] + ([] if grad else ["--no-grad"])


def workload(size: str, torch_skip: str | None) -> Workload:
    """The deep-stats workload at ``size`` (full, quick or tiny)."""
    depth, width, batch = SIZES[size]
    params = {"depth": depth, "width": width, "batch": batch}
    # Baseline: the same command on a 1 x 8 net - Python, the libraries and the code path,
    # without the data.
    trivial = {"depth": 1, "width": 8, "batch": 1}
    weight_mib = width * width * np.dtype(DTYPE).itemsize / 2**20
    return Workload(
        name="deep-stats",
        title=f"forward stats, tanh normal({STD}), {depth} x {width}, batch {batch}, "
        "whole process",
        contenders=[
            Contender("initlab", _cli(**params), baseline=_cli(**trivial)),
            Contender(f"floor: draw weights ({DTYPE})",
                      script("workload_deep_stats", "floor", **params), goal=1.2, kind="floor",
                      baseline=script("workload_deep_stats", "floor", **trivial),
                      note="the floor: only the draws"),
            Contender("numpy (cs231n loop, default_rng float32)",
                      script("workload_deep_stats", "modern", **params),
                      baseline=script("workload_deep_stats", "modern", **trivial),
                      note="the lecture's loop on modern NumPy, same dtype: not judged"),
            Contender("initlab float64", _cli(**params, dtype="float64"), kind="initlab",
                      baseline=_cli(**trivial, dtype="float64"),
                      note="for the float64 row below"),
            Contender("numpy (cs231n loop, float64)",
                      script("workload_deep_stats", "numpy", **params), goal=0.4,
                      ratio_of="initlab float64",
                      baseline=script("workload_deep_stats", "numpy", **trivial),
                      note="the lecture as written (legacy randn, float64) against initlab "
                      "in float64"),
            Contender("initlab with gradients", _cli(**params, grad=True), kind="initlab",
                      baseline=_cli(**trivial, grad=True),
                      note="the backward pass too: its time and memory, for the record"),
        ],
        memory=True,
        memory_goal_mib=3 * weight_mib,
        notes=[f"memory goal: 3 weight matrices = 3 x {weight_mib:.3g} MiB above the same "
               "command run on a 1 x 8 net"],
    )


if __name__ == "__main__":
    child_main(CONTENDERS)
