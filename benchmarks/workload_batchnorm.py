"""Workload "batchnorm": the mlp workload's 784-100x4-10 net with BatchNorm after every hidden
linear layer, SGD, batch 128 with replacement, 2000 steps, float32 (issue 11).

Goals: initlab <= 0.8x PyTorch (``nn.BatchNorm1d``) and <= 1.2x a plain NumPy loop with
BatchNorm written the usual way (cache x_hat and 1/std, the standard backward formula
dx = inv / N (N g_hat - sum g_hat - x_hat sum(g_hat x_hat))). Every contender loads the mlp
workload's synthetic data file and times only model construction and the training loop; the
minibatch loss is recorded at every step, and after the last step every contender computes the
mean loss over the whole training set in evaluation mode (BatchNorm on its running
statistics), as ``fit`` returns it in ``History.final_loss``.

- ``initlab``: ``mlp(..., norm="batch", output="softmax", dtype=np.float32)`` + ``fit``.
- ``numpy``: the plain loop, (N, features) layout, W (in, out), BatchNorm with running
  statistics (momentum 0.1, eps 1e-5), float32.
- ``pytorch``: ``nn.Sequential`` of ``nn.Linear``/``nn.BatchNorm1d``/``nn.ReLU``,
  ``nn.CrossEntropyLoss``, ``torch.optim.SGD``, ``loss.item()`` each step.
"""

from __future__ import annotations

import time

import numpy as np

from harness import Contender, Workload, child_main, script, start_memory, threads_from_env
from workload_mlp import BATCH, LAYERS, LR, SIZES, _load, _report, make_data

EPS, MOMENTUM = np.float32(1e-5), np.float32(0.1)


# ------------------------------------------------------------------------- plain NumPy
def run_numpy(data: str, iterations: int) -> dict:
    """Forward with BatchNorm, softmax cross-entropy, backward and SGD, written out."""
    X, y = _load(data)
    before, start = start_memory(), time.perf_counter()
    rng = np.random.default_rng(0)
    Ws = [rng.standard_normal((n_in, n_out), dtype=np.float32) * np.float32(np.sqrt(2 / n_in))
          for n_in, n_out in zip(LAYERS, LAYERS[1:], strict=False)]
    bs = [np.zeros(n_out, dtype=np.float32) for n_out in LAYERS[1:]]
    gammas = [np.ones(n, dtype=np.float32) for n in LAYERS[1:-1]]
    betas = [np.zeros(n, dtype=np.float32) for n in LAYERS[1:-1]]
    run_mean = [np.zeros(n, dtype=np.float32) for n in LAYERS[1:-1]]
    run_var = [np.ones(n, dtype=np.float32) for n in LAYERS[1:-1]]
    rows, n = np.arange(BATCH), np.float32(BATCH)
    losses = []
    for _ in range(iterations):
        idx = rng.integers(0, len(X), BATCH)
        hs, t, caches = [X[idx]], y[idx], []
        for k in range(len(Ws) - 1):
            a = hs[-1] @ Ws[k] + bs[k]
            mu = a.mean(axis=0)
            var = a.var(axis=0)
            inv = 1 / np.sqrt(var + EPS)
            x_hat = (a - mu) * inv
            run_mean[k] = (1 - MOMENTUM) * run_mean[k] + MOMENTUM * mu
            run_var[k] = (1 - MOMENTUM) * run_var[k] + MOMENTUM * var * n / (n - 1)
            caches.append((x_hat, inv))
            hs.append(np.maximum(gammas[k] * x_hat + betas[k], 0))
        z = hs[-1] @ Ws[-1] + bs[-1]
        z -= z.max(axis=1, keepdims=True)
        log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        losses.append(-log_p[rows, t].mean())
        g = np.exp(log_p)
        g[rows, t] -= 1
        g /= BATCH
        for k in range(len(Ws) - 1, -1, -1):
            dW, db = hs[k].T @ g, g.sum(axis=0)
            if k:
                g = (g @ Ws[k].T) * (hs[k] > 0)
                x_hat, inv = caches[k - 1]
                dgamma, dbeta = (g * x_hat).sum(axis=0), g.sum(axis=0)
                g_hat = g * gammas[k - 1]
                g = inv / n * (n * g_hat - g_hat.sum(axis=0) - x_hat * (g_hat * x_hat).sum(axis=0))
                gammas[k - 1] -= LR * dgamma
                betas[k - 1] -= LR * dbeta
            Ws[k] -= LR * dW
            bs[k] -= LR * db
    h = X  # the mean loss over the whole training set in evaluation mode, as fit returns it
    for k in range(len(Ws) - 1):
        x_hat = (h @ Ws[k] + bs[k] - run_mean[k]) / np.sqrt(run_var[k] + EPS)
        h = np.maximum(gammas[k] * x_hat + betas[k], 0)
    z = h @ Ws[-1] + bs[-1]
    z -= z.max(axis=1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return _report(start, before, losses, -log_p[np.arange(len(X)), y].mean())


# ------------------------------------------------------------------------------ initlab
def run_initlab(data: str, iterations: int) -> dict:
    """``mlp(norm="batch")`` + ``fit`` with the same recipe."""
    from initlab.nn.model import mlp
    from initlab.train import fit

    X, y = _load(data)
    before, start = start_memory(), time.perf_counter()
    net = mlp(LAYERS, activation="relu", init="he", output="softmax", seed=0,
              dtype=np.float32, norm="batch")
    history = fit(net, X, y, optimizer="sgd", lr=LR, iterations=iterations, batch_size=BATCH,
                  replace=True, record_every=1, record_accuracy=False, seed=0)
    # the minibatch losses, as the others record them (fit's last record is final_loss)
    return _report(start, before, np.asarray(history.loss)[0, :-1], history.final_loss[0])


# ------------------------------------------------------------------------------ PyTorch
def run_torch(data: str, iterations: int) -> dict:
    """The ordinary PyTorch training loop with nn.BatchNorm1d."""
    import torch
    from torch import nn

    torch.set_num_threads(threads_from_env())
    X, y = (torch.from_numpy(a) for a in _load(data))
    before, start = start_memory(), time.perf_counter()
    torch.manual_seed(0)
    layers = []
    for n_in, n_out in zip(LAYERS[:-1], LAYERS[1:-1], strict=False):
        linear = nn.Linear(n_in, n_out)
        nn.init.kaiming_normal_(linear.weight, nonlinearity="relu")
        nn.init.zeros_(linear.bias)
        layers += [linear, nn.BatchNorm1d(n_out), nn.ReLU()]
    out = nn.Linear(LAYERS[-2], LAYERS[-1])
    nn.init.kaiming_normal_(out.weight, nonlinearity="relu")
    nn.init.zeros_(out.bias)
    model = nn.Sequential(*layers, out)
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
    model.eval()  # the mean loss over the whole training set on the running statistics
    with torch.no_grad():
        final = loss_fn(model(X), y).item()
    return _report(start, before, losses, final)


CONTENDERS = {"initlab": run_initlab, "numpy": run_numpy, "torch": run_torch}


def workload(size: str, torch_skip: str | None, data_dir) -> Workload:
    """The batchnorm workload at ``size`` on the mlp workload's data file."""
    n, it = SIZES[size]
    params = {"data": make_data(data_dir, n), "iterations": it}
    return Workload(
        name="batchnorm",
        title=f"784-100x4-10 with BatchNorm, SGD, batch {BATCH} with replacement, {it} steps, "
        f"float32, {n} examples, training loop only",
        contenders=[
            Contender("initlab", script("workload_batchnorm", "initlab", **params), inner=True),
            Contender("pytorch (nn.BatchNorm1d)", script("workload_batchnorm", "torch", **params),
                      goal=0.8, inner=True, skip=torch_skip),
            Contender("numpy (plain loop + BN)", script("workload_batchnorm", "numpy", **params),
                      goal=1.2, inner=True),
        ],
        memory=True,
    )


if __name__ == "__main__":
    child_main(CONTENDERS)
