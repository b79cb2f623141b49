"""The training monitor's overhead: a PyTorch training loop with and without ``monitor``.

    python benchmarks/monitor_overhead.py [--rounds 7] [--steps 200] [--width 256] [--threads 1]

Four contenders run the same loop (an MLP of 6 Linear+ReLU layers, Adam, batches of 128) in
one process, interleaved round by round: no monitor, then ``monitor(model, every=E)`` for
E = 1000 (hooks in place, recording only the first step: the cost when not recording), 10
and 1 (every step recorded). Printed: each contender's median
seconds per step and the median over rounds of its per-round ratio to the plain loop (1.00 =
no overhead). The issue's goal: negligible overhead between recorded steps.
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import torch
import torch.nn as nn

from initlab.torchbridge import monitor
from initlab.torchbridge.monitoring import MonitorAlert


def loop(model, opt, x, y, steps: int) -> float:
    start = time.perf_counter()
    for _ in range(steps):
        loss = ((model(x) - y) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return (time.perf_counter() - start) / steps


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--width", type=int, default=256)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    warnings.simplefilter("ignore", MonitorAlert)  # the loop's own alerts are not measured
    torch.manual_seed(0)
    layers = [nn.Linear(args.width, args.width) if i % 2 == 0 else nn.ReLU() for i in range(12)]
    model = nn.Sequential(*layers, nn.Linear(args.width, 1))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x, y = torch.randn(128, args.width), torch.randn(128, 1)
    times = {"plain": [], "every=1000": [], "every=10": [], "every=1": []}
    loop(model, opt, x, y, max(1, args.steps // 10))  # warm-up
    for _ in range(args.rounds):
        times["plain"].append(loop(model, opt, x, y, args.steps))
        for every in (1000, 10, 1):
            with monitor(model, every=every):
                times[f"every={every}"].append(loop(model, opt, x, y, args.steps))
    out = {}
    for name, ts in times.items():
        ratio = statistics.median(t / p for t, p in zip(ts, times["plain"], strict=True))
        out[name] = {"ms_per_step": 1e3 * statistics.median(ts), "ratio": ratio}
        print(f"{name:9s} {out[name]['ms_per_step']:8.3f} ms/step   x{ratio:.3f} of plain")
    return out


if __name__ == "__main__":
    main()
