"""Workloads "width-coordcheck" and "width-transfer" (issue 31).

width-coordcheck, goals: initlab's coordinate check at widths 64..2048, 3 parametrizations,
3 seeds, 5 Adam steps in <= 30 s, and <= 0.7x mup's ``get_coord_data`` on the same grid. Both
build a 3-hidden-layer ReLU MLP (64 -> n -> n -> n -> 10) per (parametrization, width, seed),
run 6 forward passes and 5 Adam updates (lr 0.01) on the same fixed batch of 64 digits
examples, float32, and record the mean |x| of every layer's output at every step. mup's row:
``get_coord_data`` with ``mup=False`` for SP (nn.Linear readout, torch Adam), with ``mup=True``
for muP (MuReadout, set_base_shapes, MuAdam), and for NTK ``_get_coord_data`` with torch
Adam whose per-layer rates follow the NTK rule (lr / sqrt(m) for weights with a width fan-in),
written out here; mup has no NTK of its own.

width-transfer, goals: initlab's default transfer study in <= 180 s (full size), and on a
smaller grid (widths 64 and 256, sp and muP, Adam and SGD, 6 rates x 2 seeds, 50 steps of 32)
initlab <= 0.6x PyTorch doing the same training the ordinary way (one nn.Sequential per
replica, torch.optim with muP's rates as parameter groups, minibatches of 32 without
replacement, the final loss on the whole training set), float32, the same thread count.
"""

from __future__ import annotations

import math
import time

import numpy as np

from harness import Contender, Workload, child_main, script, threads_from_env

COORD = {"full": {"widths": [64, 128, 256, 512, 1024, 2048], "seeds": 3, "steps": 5},
         "quick": {"widths": [64, 128, 256, 512], "seeds": 3, "steps": 5},
         "tiny": {"widths": [8, 16], "seeds": 1, "steps": 1}}
TRANSFER = {"full": {"widths": [64, 256], "steps": 50, "seeds": 2},
            "quick": {"widths": [64, 256], "steps": 20, "seeds": 2},
            "tiny": {"widths": [8, 16], "steps": 2, "seeds": 1}}
LRS = {"adam": [2.0**k for k in range(-13, -1, 2)], "sgd": [2.0**k for k in range(-8, 4, 2)]}
DEPTH, LR, BATCH = 3, 0.01, 64


def _digits(n: int):
    from initlab.data import load_dataset

    ds = load_dataset("digits", seed=0)
    return ds.X_train[:n].astype(np.float32), ds.y_train[:n]


# ---------------------------------------------------------------------- coordinate check
def coord_initlab(widths, seeds, steps) -> dict:
    from initlab.experiments.width_coordcheck import run_coordcheck

    start = time.perf_counter()
    r = run_coordcheck(widths=tuple(widths), seeds=seeds, steps=steps, depth=DEPTH, lr=LR,
                       batch=BATCH, jobs=1)
    return {"seconds": time.perf_counter() - start, "rows": len(r.rows)}


def _torch_mlp(width, readout, depth=DEPTH):
    from torch import nn

    layers = [nn.Linear(64, width), nn.ReLU()]
    for _ in range(depth - 1):
        layers += [nn.Linear(width, width), nn.ReLU()]
    return nn.Sequential(*layers, readout(width, 10))


def coord_mup(widths, seeds, steps) -> dict:
    import mup
    import torch
    from mup.coord_check import _get_coord_data, get_coord_data

    torch.set_num_threads(threads_from_env())
    X, y = _digits(BATCH)
    loader = [(torch.from_numpy(X), torch.from_numpy(y))]
    base = min(widths)
    start = time.perf_counter()

    def mu(w):
        return lambda: mup.set_base_shapes(_torch_mlp(w, mup.MuReadout),
                                           _torch_mlp(base, mup.MuReadout),
                                           delta=_torch_mlp(2 * base, mup.MuReadout))

    def ntk_adam(model):
        groups = []
        for k, m in enumerate(model[::2]):  # the Linear layers
            scale = 1.0 if k == 0 else 1.0 / math.sqrt(m.in_features / base)
            groups += [{"params": [m.weight], "lr": LR * scale}, {"params": [m.bias]}]
        return torch.optim.Adam(groups, lr=LR)

    kw = {"nsteps": steps + 1, "cuda": False, "show_progress": False, "nseeds": seeds}
    rows = 0
    for how in ("sp", "mup"):
        models = {w: (mu(w) if how == "mup" else
                      lambda w=w: _torch_mlp(w, torch.nn.Linear)) for w in widths}
        rows += len(get_coord_data(models, loader, optimizer="adam", lr=LR, mup=how == "mup",
                                   **kw))
    models = {w: (lambda w=w: _torch_mlp(w, torch.nn.Linear)) for w in widths}
    rows += len(_get_coord_data(models, loader, ntk_adam, **kw))
    return {"seconds": time.perf_counter() - start, "rows": rows}


# ---------------------------------------------------------------------- transfer
def transfer_initlab(widths, steps, seeds) -> dict:
    from initlab.experiments.width_transfer import run_transfer

    start = time.perf_counter()
    r = run_transfer(widths=tuple(widths), steps=steps, seeds=seeds, adam_lrs=LRS["adam"],
                     sgd_lrs=LRS["sgd"], jobs=1, dtype="float32")
    return {"seconds": time.perf_counter() - start,
            "mean_loss": float(np.nanmean([x.final_loss or np.nan for x in r.runs]))}


def transfer_default() -> dict:
    from initlab.experiments.width_transfer import run_transfer

    start = time.perf_counter()
    run_transfer(jobs=None)
    return {"seconds": time.perf_counter() - start}


def transfer_torch(widths, steps, seeds) -> dict:
    """Every replica of the same grid as its own nn.Sequential and torch optimizer, muP's
    rates as parameter groups (the torch bridge's rules), minibatches of 32."""
    import torch

    from initlab.data import load_dataset
    from initlab.torchbridge.width import parametrize, width_mults

    torch.set_num_threads(threads_from_env())
    ds = load_dataset("digits", seed=0)
    X, y = torch.from_numpy(ds.X_train.astype(np.float32)), torch.from_numpy(ds.y_train)
    order = np.random.default_rng(0)
    batches = [torch.from_numpy(order.permutation(len(X))[:32]) for _ in range(steps)]
    base, losses = min(widths), []
    start = time.perf_counter()
    for param in ("sp", "mup"):
        for opt in ("adam", "sgd"):
            for w in widths:
                for lr in LRS[opt]:
                    for seed in range(seeds):
                        torch.manual_seed(seed)
                        model = _torch_mlp(w, torch.nn.Linear, depth=2)
                        shapes = [_torch_mlp(b, torch.nn.Linear, depth=2)
                                  for b in (base, 2 * base)]
                        groups = parametrize(model, width_mults(model, *shapes), param, opt)
                        for g in groups:
                            g["lr"] = lr * g.pop("lr_scale")
                        o = (torch.optim.Adam if opt == "adam" else torch.optim.SGD)(groups)
                        for idx in batches:
                            o.zero_grad()
                            torch.nn.functional.cross_entropy(model(X[idx]), y[idx]).backward()
                            o.step()
                        with torch.no_grad():
                            losses.append(torch.nn.functional.cross_entropy(model(X), y).item())
    return {"seconds": time.perf_counter() - start,
            "mean_loss": float(np.nanmean(np.where(np.isfinite(losses), losses, np.nan)))}


CONTENDERS = {"coord_initlab": coord_initlab, "coord_mup": coord_mup,
              "transfer_initlab": transfer_initlab, "transfer_torch": transfer_torch,
              "transfer_default": transfer_default}


def workloads(size: str, torch_skip: str | None) -> list[Workload]:
    """Both width workloads at ``size``."""
    c, t = COORD[size], TRANSFER[size]
    mup_skip = torch_skip
    if mup_skip is None:
        import importlib.util

        if importlib.util.find_spec("mup") is None:
            mup_skip = "skipped: mup not installed (pip install mup)"
    coord = Workload(
        name="width-coordcheck",
        title=f"coordinate check, widths {c['widths'][0]}..{c['widths'][-1]}, 3 "
        f"parametrizations, {c['seeds']} seeds, {c['steps']} Adam steps, float32",
        contenders=[
            Contender("initlab", script("workload_width", "coord_initlab", **c), inner=True,
                      goal_seconds=30.0 if size == "full" else None),
            Contender("pytorch + mup (get_coord_data)", script("workload_width", "coord_mup", **c),
                      goal=0.7, inner=True, skip=mup_skip),
        ],
        runs=3, warmup=0)
    rows = [Contender("initlab", script("workload_width", "transfer_initlab", **t), inner=True),
            Contender("pytorch (one net per replica)",
                      script("workload_width", "transfer_torch", **t), goal=0.6, inner=True,
                      skip=torch_skip)]
    if size == "full":
        rows.append(Contender("initlab, the default study (5 widths, sp+mup, 10+7 rates)",
                              script("workload_width", "transfer_default"), inner=True,
                              goal_seconds=180.0, ratio_of=None, kind="initlab"))
    transfer = Workload(
        name="width-transfer",
        title=f"learning-rate transfer, widths {t['widths']}, sp+mup x adam+sgd, 6 rates x "
        f"{t['seeds']} seeds, {t['steps']} steps of 32, float32",
        contenders=rows, runs=3, warmup=0)
    return [coord, transfer]


if __name__ == "__main__":
    child_main(CONTENDERS)
