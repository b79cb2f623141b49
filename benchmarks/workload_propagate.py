"""Workload "propagate": q_l and c_l through 36 x 3 random tanh nets, 100 x 500 (issue 13,
goal <= 0.3x).

Every contender is one whole process that, for 36 values of sigma_w^2 from 0.5 to 4 and 3
seeds, pushes 8 inputs of length 1 (the first two of correlation 0.5) through 100 layers of
500 tanh units with weights N(0, sigma_w^2 / 500) and biases N(0, 0.05), and records the
pre-activations' length and the pair's correlation at every layer.

- ``initlab``: the command ``initlab propagate --activation tanh --sigma-w2 0.5:4:36
  --sigma-b2 0.05 --depth 100 --width 500 --seeds 3 --json`` (it also computes the theory:
  the maps' iterates, fixed points, depth scales and the chi_1 phase diagram).
- ``numpy``: the plain loop, one net at a time: for each sigma_w^2 and seed, draw each layer's
  weight matrix, multiply, apply tanh, record; float64.

Peak memory: each process's peak resident set, above the same command on a trivial size
(goal for initlab: 3 weight matrices per replica, i.e. 3 x 108 x 500^2 x 8 bytes).
"""

from __future__ import annotations

import math

import numpy as np

from harness import Contender, Workload, child_main, script

SIZES = {"full": (36, 100, 500, 3), "quick": (12, 50, 200, 2), "tiny": (3, 4, 16, 1)}
BATCH, SIGMA_B2, Q0, C0 = 8, 0.05, 1.0, 0.5


def run_numpy(sigmas: int, depth: int, width: int, seeds: int) -> dict:
    """One net at a time, as a notebook would write it."""
    last_q = []
    for sw in np.linspace(0.5, 4.0, sigmas):
        for s in range(seeds):
            rng = np.random.default_rng(s)
            x = rng.standard_normal((BATCH, width))
            x[1] = C0 * x[0] + math.sqrt(1 - C0 * C0) * x[1]
            x *= math.sqrt(Q0 * width) / np.linalg.norm(x, axis=1, keepdims=True)
            h, qs, cs = x, [], []
            for _ in range(depth):
                W = rng.standard_normal((width, width)) * math.sqrt(sw / width)
                b = rng.standard_normal(width) * math.sqrt(SIGMA_B2)
                a = h @ W.T + b
                qs.append(np.mean(a * a))
                cs.append(a[0] @ a[1] / math.sqrt((a[0] @ a[0]) * (a[1] @ a[1])))
                h = np.tanh(a)
            last_q.append(qs[-1])
    return {"last_q_mean": float(np.mean(last_q))}


CONTENDERS = {"numpy": run_numpy}


def _cli(sigmas: int, depth: int, width: int, seeds: int) -> list[str]:
    return ["-m", "initlab.cli", "propagate", "--activation", "tanh", "--sigma-w2",
            f"0.5:4:{sigmas}", "--sigma-b2", str(SIGMA_B2), "--depth", str(depth), "--width",
            str(width), "--seeds", str(seeds), "--json", "-q"]


def workload(size: str, torch_skip: str | None) -> Workload:
    """The propagate workload at ``size`` (full, quick or tiny)."""
    sigmas, depth, width, seeds = SIZES[size]
    params = {"sigmas": sigmas, "depth": depth, "width": width, "seeds": seeds}
    trivial = {"sigmas": 1, "depth": 1, "width": 8, "seeds": 1}
    per_replica = 3 * width * width * 8 / 2**20
    return Workload(
        name="propagate",
        title=f"q/c through {sigmas} x {seeds} tanh nets of {depth} x {width}, whole process",
        contenders=[
            Contender("initlab", _cli(**params), baseline=_cli(**trivial)),
            Contender("numpy (one net at a time)", script("workload_propagate", "numpy",
                                                          **params),
                      goal=0.3, baseline=script("workload_propagate", "numpy", **trivial)),
        ],
        memory=True,
        memory_goal_mib=per_replica * sigmas * seeds,
        notes=[f"memory goal: 3 weight matrices per replica = 3 x {sigmas * seeds} x "
               f"{width}^2 x 8 bytes above the same command on a trivial size"],
    )


if __name__ == "__main__":
    child_main(CONTENDERS)
