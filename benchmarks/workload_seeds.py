"""Workload "seeds": 3 inits x 20 seeds x 3000 steps on moons (issues 5 and 16).

Goals: ``initlab compare`` <= 0.2x the lean NumPy loop run one net after another (both
float32); initlab's engine in one process <= 0.7x PyTorch batched (both float32, one process,
the harness's threads). Every contender trains 60 nets ([2, 10, 5, 1], ReLU, sigmoid output,
full batch, lr 0.01) on 300 moons points (noise 0.2) and tests them on 100 more, as one whole
process, and reports the train/test accuracy per init. Every ratio has the same dtype on
both sides.

- ``initlab compare``: the command ``initlab compare --dataset moons --n-samples 400 --noise
  0.2 --layers 10,5 --init "zeros,normal(10),he" --seeds 20 --iterations 3000 --lr 0.01
  --json`` with its defaults (float32; the replicas split over 2 processes when 2 cores are
  free as it starts, else 1: its JSON's ``config.processes`` says which): what a user runs.
  Its float64 row adds ``--dtype float64 --jobs 1`` (one process, as the notebook loop).
- ``numpy lean``: ``workload_classic.lean_model`` (the notebook's algorithm, the cost computed
  only every 1000 steps) run 60 times one after another, seed s for the s-th net of each init,
  in float32, on ``make_moons(300, noise=0.2, random_state=0)`` (test: 100 points,
  ``random_state=1``), as are the rows below.
- ``initlab engine``: one ``mlp`` of 60 replicas trained by ``fit`` in one process, float32,
  recording about 50 times with the test accuracy as ``compare`` does: compare's engine
  without the command line and the second process.
- ``pytorch batched``: the 60 nets as (60, out, in) tensors, ``torch.baddbmm(b, W, h)`` layers,
  ``BCEWithLogitsLoss`` summed over nets (each net's gradient is that of its own mean loss),
  ``torch.optim.SGD``, float32, ``torch.set_num_threads`` as for the others.
- ``numpy notebook``: the course notebook's loop as written (``workload_classic.model``,
  float64, the cost at every step) 60 times, for information.
"""

from __future__ import annotations

import numpy as np

from harness import Contender, Workload, child_main, script, threads_from_env

SIZES = {"full": (20, 3000), "quick": (5, 1000), "tiny": (2, 20)}
INITS = {"zeros": "zeros", "random": "normal(10)", "he": "he"}
LAYERS = [2, 10, 5, 1]
RECORDS = 50  # about as many records as `initlab compare` makes


def moons():
    """(X_train (300, 2), y_train, X_test (100, 2), y_test), the same for every contender."""
    from sklearn.datasets import make_moons

    X, y = make_moons(n_samples=300, noise=0.2, random_state=0)
    X_test, y_test = make_moons(n_samples=100, noise=0.2, random_state=1)
    return X, y, X_test, y_test


def _summary(train, test) -> dict:
    """Mean train and test accuracy per init; train/test are (3, seeds)."""
    return {name: [float(np.mean(train[i])), float(np.mean(test[i]))]
            for i, name in enumerate(INITS)}


# ------------------------------------------------------------ plain NumPy, one at a time
def run_numpy(seeds: int, iterations: int, lean: bool = False,
              dtype: str = "float64") -> dict:
    """The notebook's ``model`` (or its lean form) called 60 times: per init, per seed."""
    from workload_classic import lean_model, model, predict

    X, y, X_test, y_test = moons()
    X, X_test = X.T.astype(dtype), X_test.T.astype(dtype)
    Y, Y_test = y.reshape(1, -1), y_test.reshape(1, -1)
    train = np.zeros((len(INITS), seeds))
    test = np.zeros_like(train)
    with np.errstate(all="ignore"):
        for i, init in enumerate(INITS):
            for s in range(seeds):
                parameters, _ = (lean_model if lean else model)(
                    X, Y, num_iterations=iterations, initialization=init, seed=s)
                train[i, s] = predict(X, Y, parameters)
                test[i, s] = predict(X_test, Y_test, parameters)
    return {"accuracy": _summary(train, test)}


# ------------------------------------------------------------------------------- initlab
def run_initlab(seeds: int, iterations: int, dtype: str = "float32") -> dict:
    """One model of 3 x ``seeds`` replicas, trained together in this process."""
    from initlab.nn.model import mlp
    from initlab.train import accuracy, fit

    X, y, X_test, y_test = moons()
    X, X_test = X.astype(dtype), X_test.astype(dtype)
    specs = [spec for spec in INITS.values() for _ in range(seeds)]
    net = mlp(LAYERS, activation="relu", init=specs, output="sigmoid", replicas=len(specs),
              seed=[s for _ in INITS for s in range(seeds)], dtype=np.dtype(dtype).type)
    fit(net, X, y, optimizer="sgd", lr=0.01, iterations=iterations,
        record_every=max(1, iterations // RECORDS), X_test=X_test, y_test=y_test)
    train = accuracy(net, X, y).reshape(len(INITS), seeds)
    test = accuracy(net, X_test, y_test).reshape(len(INITS), seeds)
    return {"accuracy": _summary(train, test)}


# ------------------------------------------------------------------------ PyTorch batched
def run_torch(seeds: int, iterations: int, dtype: str = "float32") -> dict:
    """All nets as one batch of weight tensors, autograd and ``torch.optim.SGD``."""
    import torch

    torch.set_num_threads(threads_from_env())
    dt = getattr(torch, dtype)
    X, y, X_test, y_test = moons()
    X, X_test = X.astype(dtype), X_test.astype(dtype)
    R = len(INITS) * seeds
    weights, biases = [], []
    for fan_in, fan_out in zip(LAYERS, LAYERS[1:], strict=False):
        W = torch.zeros(R, fan_out, fan_in, dtype=dt)
        for i, init in enumerate(INITS):
            for s in range(seeds):
                g = torch.Generator().manual_seed(1000 * s + fan_in)
                w = W[i * seeds + s]
                if init == "random":
                    w.normal_(0.0, 10.0, generator=g)
                elif init == "he":
                    w.normal_(0.0, (2 / fan_in) ** 0.5, generator=g)
        weights.append(W.requires_grad_())
        biases.append(torch.zeros(R, fan_out, 1, dtype=dt, requires_grad=True))
    opt = torch.optim.SGD(weights + biases, lr=0.01)
    loss_fn = torch.nn.BCEWithLogitsLoss(reduction="none")
    # (features, examples) per net: W @ h keeps PyTorch's (out, in) weights untransposed,
    # the fastest of the bmm layouts tried here.
    x = torch.from_numpy(X.T.copy()).expand(R, -1, -1)
    target = torch.from_numpy(y).to(dt).expand(R, -1)

    def logits(inputs):
        h = inputs
        for k, (W, b) in enumerate(zip(weights, biases, strict=True)):
            h = torch.baddbmm(b, W, h)
            if k < len(weights) - 1:
                h = torch.relu(h)
        return h.squeeze(1)

    record_every = max(1, iterations // RECORDS)
    losses = []
    for t in range(iterations):
        opt.zero_grad()
        per_net = loss_fn(logits(x), target).mean(dim=1)
        per_net.sum().backward()
        opt.step()
        if t % record_every == 0:
            losses.append(per_net.detach())
    with torch.no_grad():
        train = (logits(x) > 0).eq(target.bool()).double().mean(dim=1)
        xt = torch.from_numpy(X_test.T.copy()).expand(R, -1, -1)
        test = (logits(xt) > 0).eq(torch.from_numpy(y_test).bool()).double().mean(dim=1)
    return {"accuracy": _summary(train.reshape(len(INITS), seeds).numpy(),
                                 test.reshape(len(INITS), seeds).numpy())}


CONTENDERS = {"initlab": run_initlab, "numpy": run_numpy, "torch": run_torch}


def workload(size: str, torch_skip: str | None) -> Workload:
    """The seeds workload at ``size`` (full, quick or tiny)."""
    seeds, it = SIZES[size]
    params = {"seeds": seeds, "iterations": it}
    cli = ["-m", "initlab.cli", "compare", "--dataset", "moons", "--n-samples", "400",
           "--noise", "0.2", "--layers", "10,5", "--activation", "relu", "--init",
           ",".join(INITS.values()), "--seeds", str(seeds), "--iterations", str(it),
           "--lr", "0.01", "--json", "-q"]
    # The smoke test runs the default row in its own process: no worker processes there.
    jobs = ["--jobs", "1"] if size == "tiny" else []
    compare = "initlab compare (f32, defaults)"
    engine = "initlab engine (f32, 1 proc)"
    compare64 = "initlab compare (f64, 1 proc)"
    return Workload(
        name="seeds",
        title=f"3 inits x {seeds} seeds x {it} steps on moons [2,10,5,1], whole process",
        contenders=[
            Contender(compare, cli + jobs, note="initlab compare, its defaults"),
            Contender("numpy lean (f32, 1 by 1)",
                      script("workload_seeds", "numpy", **params, lean=True, dtype="float32"),
                      goal=0.2, note="the notebook's algorithm, cost every 1000 steps"),
            Contender(engine, script("workload_seeds", "initlab", **params), kind="initlab",
                      note="mlp + fit: compare's engine in one process"),
            Contender("pytorch batched (f32, 1 proc)",
                      script("workload_seeds", "torch", **params), ratio_of=engine, goal=0.7,
                      skip=torch_skip),
            Contender(compare64, cli + ["--dtype", "float64", "--jobs", "1"], kind="initlab",
                      ratio_of=None, note="the A of the float64 row below"),
            Contender("numpy notebook (f64, 1 by 1)", script("workload_seeds", "numpy", **params),
                      ratio_of=compare64, note="the notebook as written; for information"),
        ],
    )


if __name__ == "__main__":
    child_main(CONTENDERS)
