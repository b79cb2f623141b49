"""Workload "residual": a residual MLP of width 64 and 256 blocks (issue 30): 784 -> 64, 256
blocks x <- x + W2 relu(W1 x + b1) + b2, 64 -> 10; the last layer of every branch scaled by
1/sqrt(2L) (``scaled_residual(factor=2)``: He without it overflows float32 past ~160 blocks),
SGD, batch 128 with replacement, float32, on the mlp workload's synthetic data.

Goals: initlab <= 1.0x a plain NumPy loop of the same net and <= 0.6x PyTorch, same threads.
Each contender times model construction and the training loop, records the minibatch loss at
every step and ends with the mean loss over the whole training set.

- ``initlab``: ``mlp(..., residual=True, blocks=256)`` + ``fit``.
- ``numpy``: the plain loop, (N, features) layout, W (in, out), float32.
- ``pytorch``: an ``nn.Module`` of ``nn.Linear`` blocks, ``nn.CrossEntropyLoss``,
  ``torch.optim.SGD``, ``loss.item()`` each step.
"""

from __future__ import annotations

import time

import numpy as np

from harness import Contender, Workload, child_main, script, start_memory, threads_from_env
from workload_mlp import _load, _report, make_data

WIDTH, BLOCKS, BATCH, LR = 64, 256, 128, 0.001  # 0.01 diverges within 3 steps at 256 blocks
SIZES = {"full": (10000, 300), "quick": (4000, 60), "tiny": (512, 3)}


def _he(rng, n_in, n_out, scale=1.0):
    return (rng.standard_normal((n_in, n_out), dtype=np.float32)
            * np.float32(scale * np.sqrt(2 / n_in)))


# ------------------------------------------------------------------------- plain NumPy
def run_numpy(data: str, iterations: int) -> dict:
    """Forward through the blocks, softmax cross-entropy, backward and SGD, written out."""
    X, y = _load(data)
    before, start = start_memory(), time.perf_counter()
    rng = np.random.default_rng(0)
    last = 1 / np.sqrt(2 * BLOCKS)
    w_in, b_in = _he(rng, X.shape[1], WIDTH), np.zeros(WIDTH, np.float32)
    w1 = [_he(rng, WIDTH, WIDTH) for _ in range(BLOCKS)]
    w2 = [_he(rng, WIDTH, WIDTH, last) for _ in range(BLOCKS)]
    b1 = [np.zeros(WIDTH, np.float32) for _ in range(BLOCKS)]
    b2 = [np.zeros(WIDTH, np.float32) for _ in range(BLOCKS)]
    w_out, b_out = _he(rng, WIDTH, 10), np.zeros(10, np.float32)
    rows = np.arange(BATCH)

    def forward(x):
        xs, hs = [x @ w_in + b_in], []
        for k in range(BLOCKS):
            h = np.maximum(xs[-1] @ w1[k] + b1[k], 0)
            hs.append(h)
            xs.append(xs[-1] + h @ w2[k] + b2[k])
        return xs, hs, xs[-1] @ w_out + b_out

    def log_softmax(z):
        z = z - z.max(axis=1, keepdims=True)
        return z - np.log(np.exp(z).sum(axis=1, keepdims=True))

    losses = []
    for _ in range(iterations):
        idx = rng.integers(0, len(X), BATCH)
        xb, t = X[idx], y[idx]
        xs, hs, z = forward(xb)
        log_p = log_softmax(z)
        losses.append(-log_p[rows, t].mean())
        g = np.exp(log_p)
        g[rows, t] -= 1
        g /= BATCH
        gx = g @ w_out.T
        w_out -= LR * (xs[-1].T @ g)
        b_out -= LR * g.sum(axis=0)
        for k in range(BLOCKS - 1, -1, -1):
            gh = (gx @ w2[k].T) * (hs[k] > 0)
            w2[k] -= LR * (hs[k].T @ gx)
            b2[k] -= LR * gx.sum(axis=0)
            gx = gx + gh @ w1[k].T
            w1[k] -= LR * (xs[k].T @ gh)
            b1[k] -= LR * gh.sum(axis=0)
        w_in -= LR * (xb.T @ gx)
        b_in -= LR * gx.sum(axis=0)
    log_p = log_softmax(forward(X)[2])
    return _report(start, before, losses, -log_p[np.arange(len(X)), y].mean())


# ------------------------------------------------------------------------------ initlab
def run_initlab(data: str, iterations: int) -> dict:
    """``mlp(residual=True)`` + ``fit`` with the same recipe."""
    from initlab.nn.model import mlp
    from initlab.train import fit

    X, y = _load(data)
    before, start = start_memory(), time.perf_counter()
    net = mlp([X.shape[1], WIDTH, 10], init="scaled_residual(factor=2)", output="softmax",
              seed=0, dtype=np.float32, residual=True, blocks=BLOCKS)
    history = fit(net, X, y, optimizer="sgd", lr=LR, iterations=iterations, batch_size=BATCH,
                  replace=True, record_every=1, record_accuracy=False, seed=0)
    return _report(start, before, np.asarray(history.loss)[0, :-1], history.final_loss[0])


# ------------------------------------------------------------------------------ PyTorch
def run_torch(data: str, iterations: int) -> dict:
    """The ordinary PyTorch loop over a module of residual blocks."""
    import torch
    from torch import nn

    torch.set_num_threads(threads_from_env())
    X, y = (torch.from_numpy(a) for a in _load(data))
    before, start = start_memory(), time.perf_counter()
    torch.manual_seed(0)

    def linear(n_in, n_out, scale=1.0):
        layer = nn.Linear(n_in, n_out)
        nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
        with torch.no_grad():
            layer.weight *= scale
        nn.init.zeros_(layer.bias)
        return layer

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.branch = nn.Sequential(linear(WIDTH, WIDTH), nn.ReLU(),
                                        linear(WIDTH, WIDTH, 1 / np.sqrt(2 * BLOCKS)))

        def forward(self, x):
            return x + self.branch(x)

    model = nn.Sequential(linear(X.shape[1], WIDTH), *[Block() for _ in range(BLOCKS)],
                          linear(WIDTH, 10))
    loss_fn = nn.CrossEntropyLoss()
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    losses = []
    for _ in range(iterations):
        idx = torch.randint(0, len(X), (BATCH,))
        opt.zero_grad()
        loss = loss_fn(model(X[idx]), y[idx])
        loss.backward()
        opt.step()
        losses.append(loss.item())
    with torch.no_grad():
        final = loss_fn(model(X), y).item()
    return _report(start, before, losses, final)


CONTENDERS = {"initlab": run_initlab, "numpy": run_numpy, "torch": run_torch}


def workload(size: str, torch_skip: str | None, data_dir) -> Workload:
    """The residual workload at ``size`` on the mlp workload's data file."""
    n, it = SIZES[size]
    folder = data_dir / "residual"  # its own size: not the mlp workload's file
    folder.mkdir(exist_ok=True)
    params = {"data": make_data(folder, n), "iterations": it}
    return Workload(
        name="residual",
        title=f"784-64-(256 residual blocks)-10, SGD, batch {BATCH} with replacement, {it} "
        f"steps, float32, {n} examples, training loop only",
        contenders=[
            Contender("initlab", script("workload_residual", "initlab", **params), inner=True),
            Contender("pytorch (nn.Linear blocks)", script("workload_residual", "torch",
                                                           **params),
                      goal=0.6, inner=True, skip=torch_skip),
            Contender("numpy (plain loop)", script("workload_residual", "numpy", **params),
                      goal=1.0, inner=True),
        ],
        memory=True,
    )


if __name__ == "__main__":
    child_main(CONTENDERS)
