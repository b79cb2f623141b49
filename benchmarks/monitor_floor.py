"""The floor of a recorded ``monitor`` step: the kernels its numbers cannot be made with fewer of.

    python benchmarks/monitor_floor.py [--models resnet50,gpt2] [--repeats 5] [--threads 1]

On the models of ``benchmarks/inspect_cost.py`` (same builders, same batches), after one Adam
step so that the weights, gradients and leaf outputs are those of training, each group of
kernels is timed alone in CPU seconds of this process (``time.process_time``; the minimum over
``--repeats``), beside one Adam training step (the median over the repeats):

- ``weights``: one copy of every parameter with a gradient (reading W, writing its copy: the
  least a copy for the next update ratio costs) and one more read of them (the difference to
  the previous copy);
- ``gradients``: one read of every gradient (its norm);
- ``outputs``: per leaf output, the torch kernels each statistic needs at the least: the zero
  count (``bool``, ``count_nonzero``), ``mean``, the deviations' norm (``sub``,
  ``vector_norm``), ``aminmax``, and the histogram's bin indices (``sub``, ``mul_``, a copy to
  int32, ``clamp_``) and ``bincount``;
- ``monitor``: what ``monitor(every=1)`` adds to a step, the median of steps with it minus the
  median without.

Printed: each group's milliseconds and its share of the step; the sum of the three groups is
the floor of a recorded step with these kernels (Python and hooks not counted).
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings


def _best(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        fn()
        best = min(best, time.process_time() - start)
    return best


def floor(model, inputs: dict, loss, repeats: int = 5) -> dict:
    """Seconds of each group of kernels (see the module docstring) on ``model`` fed ``inputs``
    (keyword arguments), trained with Adam on ``loss(model, inputs)``."""
    import torch

    from initlab.torchbridge import monitor
    from initlab.torchbridge.hooks import first_tensor, leaf_modules

    opt = torch.optim.Adam(model.parameters(), lr=1e-4)

    def step():
        start = time.process_time()
        opt.zero_grad()
        loss(model, inputs).backward()
        opt.step()
        return time.process_time() - start

    outputs = []
    hooks = [m.register_forward_hook(lambda m, a, y: outputs.append(first_tensor(y)))
             for _, m in leaf_modules(model)]
    step()
    for h in hooks:
        h.remove()
    outs = [y.detach().reshape(-1) for y in outputs if y is not None and y.numel()]
    weights = [p.detach() for p in model.parameters() if p.grad is not None]
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    copies = [w.clone() for w in weights]
    scratch = torch.empty(max(y.numel() for y in outs))
    index = torch.empty(scratch.numel(), dtype=torch.int32)

    def statistics_kernels():
        for y in outs:
            torch.count_nonzero(y.bool())
            y.mean()
            torch.linalg.vector_norm(torch.sub(y, 0.5, out=scratch[:y.numel()]))
            torch.aminmax(y)
            torch.sub(y, -1.0, out=scratch[:y.numel()]).mul_(20.0)
            torch.bincount(index[:y.numel()].copy_(scratch[:y.numel()]).clamp_(0, 39),
                           minlength=40)

    out = {"weights": _best(lambda: (torch._foreach_copy_(copies, weights),
                                     torch._foreach_norm(weights)), repeats),
           "gradients": _best(lambda: torch._foreach_norm(grads), repeats),
           "outputs": _best(statistics_kernels, repeats)}
    train = [step() for _ in range(repeats)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with monitor(model, every=1):
            monitored = [step() for _ in range(repeats + 1)][1:]
    out["step"] = statistics.median(train)
    out["monitor"] = statistics.median(monitored) - out["step"]
    return out


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default="resnet50,gpt2")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    import torch

    from inspect_cost import _build, _loss

    torch.set_num_threads(args.threads)
    results = {}
    for name in args.models.split(","):
        model, x = _build(name)
        res = results[name] = floor(model, x, _loss, args.repeats)
        step = res["step"]
        total = res["weights"] + res["gradients"] + res["outputs"]
        for key in ("weights", "gradients", "outputs", "monitor"):
            print(f"{name:9s} {key:10s} {1e3 * res[key]:8.1f} ms  {res[key] / step:6.1%} of the "
                  f"step's {1e3 * step:.1f} ms")
        print(f"{name:9s} {'floor':10s} {1e3 * total:8.1f} ms  {total / step:6.1%}: a recorded "
              f"step at x{1 + total / step:.2f} at the least, x{1 + res['monitor'] / step:.2f} "
              f"measured")
    return results


if __name__ == "__main__":
    main()
