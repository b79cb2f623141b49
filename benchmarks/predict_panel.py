"""The mean-field interpreter on the panel (issue 32): coverage and error, depth extrapolation,
and what the prediction adds to ``inspect``'s time.

    python benchmarks/predict_panel.py                 # everything (a few minutes, 1 thread)
    python benchmarks/predict_panel.py --only panel    # or extrapolation, cost, fx
    python benchmarks/predict_panel.py --figure docs/predict-extrapolate-gpt2.png

Panel: ``initlab.torchbridge.interpret_panel`` (GPT-2, BERT, ViT, ResNet, ConvNeXt, Llama from
transformers at width 256, 4 blocks, 64 tokens / 32x32 images, batch 8; a residual MLP and a
CNN), every weighted row's predicted std against the measured one, both pooled over --seeds
models. Extrapolation: GPT-2 built with 4 blocks, extrapolated to 12 and 24, against GPT-2
built with 12 and 24 (stream = each block's output), pooled over the seeds. Cost: the
prediction's time (``predict_layers``) over the rest of ``inspect`` on the same model (median
of --runs; --clock cpu counts this process's CPU time instead of the wall clock's). fx: how
many panel models ``torch.fx.symbolic_trace`` traces.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from initlab.torchbridge import extrapolate, inspect
from initlab.torchbridge.hooks import first_tensor
from initlab.torchbridge.interpret_panel import panel, score, transformers_module
from initlab.torchbridge.predict import predict_layers


def fmt(v, digits=3):
    return "-" if v is None else f"{v:.{digits}g}" if isinstance(v, float) else str(v)


def run_panel(seeds: int) -> None:
    print(f"| model | weighted rows predicted | within 10% | median error | worst error |"
          f"  (width 256, {seeds} seeds pooled)")
    print("|---|---|---|---|---|")
    for name, (build, inputs) in panel().items():
        s = score(name, build, inputs, seeds=seeds)
        med = statistics.median(s.errors) if s.errors else None
        worst = max(s.errors) if s.errors else None
        print(f"| {name} | {s.covered}/{s.total} ({s.coverage:.0%}) | {s.within:.0%} | "
              f"{fmt(100 * med if med is not None else None)}% | "
              f"{fmt(100 * worst if worst is not None else None)}% |"
              + (f" unsupported: {s.unsupported}" if s.unsupported else ""), flush=True)


def _gpt2(blocks: int, seed: int, width: int = 256):
    t = transformers_module()
    torch.manual_seed(seed)
    return t.GPT2Model(t.GPT2Config(n_embd=width, n_layer=blocks, n_head=width // 64,
                                    vocab_size=1000, n_positions=64, bos_token_id=0,
                                    eos_token_id=0)).eval()


def _measured_stream(blocks: int, ids, seeds: int, width: int = 256) -> np.ndarray:
    moments = []
    for s in range(seeds):
        model, out = _gpt2(blocks, s, width), []
        hooks = [b.register_forward_hook(lambda m, a, y, out=out: out.append(
            first_tensor(y).double())) for b in model.h]
        with torch.no_grad():
            model(ids)
        for h in hooks:
            h.remove()
        moments.append([(float(y.mean()), float((y * y).mean())) for y in out])
    m = np.mean(moments, 0)
    return np.sqrt(m[:, 1] - m[:, 0] ** 2)


def run_extrapolation(seeds: int, figure: str | None) -> None:
    ids = torch.randint(0, 1000, (8, 64), generator=torch.Generator().manual_seed(0))
    curves = {}
    for depth in (12, 24):
        predicted = np.mean([[r.stream_std for r in extrapolate(
            _gpt2(4, s), ids, depth_scale=depth / 4).stream] for s in range(seeds)], 0)
        measured = _measured_stream(depth, ids, seeds)
        err = np.abs(predicted / measured - 1)
        curves[depth] = (predicted, measured)
        print(f"GPT-2 4 -> {depth} blocks: worst block {100 * err.max():.2g}%, median "
              f"{100 * np.median(err):.2g}% (stream {measured[0]:.4g} -> {measured[-1]:.4g} "
              f"measured, {predicted[-1]:.4g} predicted at block {depth})", flush=True)
    predicted = np.mean([[r.stream_std for r in extrapolate(
        _gpt2(4, s), ids, width_scale=2).stream] for s in range(seeds)], 0)
    err = np.abs(predicted / _measured_stream(4, ids, seeds, width=512) - 1)
    print(f"GPT-2 width 256 -> 512 (4 blocks): worst block {100 * err.max():.2g}%", flush=True)
    if figure:
        from initlab.plots.common import color, encode, fit
        from initlab.plots.common import figure as new_figure

        fig = new_figure(6.5, 4.0)
        ax = fig.subplots()
        for i, (depth, (p, m)) in enumerate(curves.items()):
            blocks = np.arange(1, depth + 1)
            ax.plot(blocks, m, "o", ms=4, color=color(i), label=f"{depth} blocks, measured")
            ax.plot(blocks, p, "-", color=color(i), label="predicted from the 4-block model")
        ax.set(xlabel="block", ylabel="stream std after the block", yscale="log",
               title=f"GPT-2 (width 256), extrapolated from 4 blocks ({seeds} seeds)")
        ax.legend(fontsize=8)
        with open(figure, "wb") as f:
            f.write(encode(fit(fig), "png", 110))
        print(f"wrote {figure}")


def run_cost(runs: int, clock: str = "wall") -> None:
    """The prediction's time against the rest of inspect's, interleaved ``runs`` times, by
    the wall clock or by this process's CPU time (``time.process_time``: on a machine others
    load, the time this process is descheduled does not count)."""
    now = time.perf_counter if clock == "wall" else time.process_time
    print(f"| model | inspect without the prediction (s) | prediction (s) | added |  ({clock} "
          f"time, median of {runs})")
    print("|---|---|---|---|")
    for name, (build, inputs) in panel().items():
        torch.manual_seed(0)
        model = build()
        total, pred = [], []
        for _ in range(runs):
            t0 = now()
            predict_layers([model], inputs)
            t1 = now()
            inspect(model, inputs)
            t2 = now()
            pred.append(t1 - t0)
            total.append(t2 - t1)
        p, t = statistics.median(pred), statistics.median(total)
        print(f"| {name} | {t - p:.3g} | {p:.3g} | {p / (t - p):.0%} |", flush=True)


def run_fx() -> None:
    traced = []
    for name, (build, _) in panel().items():
        try:
            torch.fx.symbolic_trace(build())
            traced.append(name)
        except Exception as exc:  # fx raises many kinds on models it cannot trace
            print(f"fx cannot trace {name}: {type(exc).__name__}: {str(exc)[:80]}")
    print(f"torch.fx.symbolic_trace traces {len(traced)} of {len(panel())} panel models "
          f"({', '.join(traced) or 'none'}); the interpreter's function mode runs all of them")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", default="panel,extrapolation,cost,fx")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                        help="time the cost by the wall clock or by this process's CPU time")
    parser.add_argument("--figure", default=None, help="PNG of the GPT-2 extrapolation")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    parts = args.only.split(",")
    if "panel" in parts:
        run_panel(args.seeds)
    if "extrapolation" in parts:
        run_extrapolation(args.seeds, args.figure)
    if "cost" in parts:
        run_cost(args.runs, args.clock)
    if "fx" in parts:
        run_fx()


if __name__ == "__main__":
    main()
