"""What ``inspect`` and ``monitor`` cost beside the plain PyTorch work on the same model and batch.

    python benchmarks/inspect_cost.py [--models resnet50,gpt2] [--rounds 3] [--steps 5]
                                      [--threads 1] [--clock wall|cpu] [--match]

The models are Hugging Face ``transformers`` classes at their default sizes with random init
(no download): ResNet-50 (``ResNetConfig()``: bottleneck blocks [3, 4, 6, 3], widths
256-2048) on a 4 x 3 x 64 x 64 batch, and GPT-2 small (``GPT2Config()``: 12 layers, 768 wide)
on 2 x 64 token ids. Each contender runs in its own child process, which builds the model,
resets its peak resident memory (``/proc/self/clear_refs``), runs, and reports its seconds and
its peak memory above what it held before (``VmHWM`` - ``VmRSS``):

- ``plain``: one forward and backward pass (cross-entropy against random labels), the
  reference of the issue's goal: ``inspect`` within 2x its time and 1.5x its peak memory;
- ``inspect``: ``initlab.torchbridge.inspect`` (forward, backward, optimizer-step ratios,
  tracing, the verdict), with the seconds of its mean-field prediction (``predict_layers``)
  timed apart and the ratio also given without them;
- ``train``, ``monitor10``, ``monitor1``: Adam training steps (median seconds per step over
  ``--steps`` after one warm-up step) without and with ``monitor(every=10)`` and
  ``monitor(every=1)``: the goals are 1.02x and 1.10x of ``train``.

``--match`` also times ``match_init`` on a VGG classifier-sized weight (25088 x 4096).
Rounds are interleaved (every contender once per round); printed: the median over rounds and,
with more than one round, the range of the ratios over rounds. ``--clock cpu`` times the
contenders in CPU seconds of their process (``time.process_time``) instead of wall seconds: on
a machine shared with other work it leaves out the time the process waited for a core (not
the memory bandwidth the others take).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

MODES = ("plain", "inspect", "train", "monitor10", "monitor1")
REFERENCE = {"inspect": "plain", "monitor10": "train", "monitor1": "train"}


def _memory() -> tuple[int, int]:
    """(VmRSS, VmHWM) of this process in bytes."""
    values = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) * 1024
    return values["VmRSS"], values["VmHWM"]


def _build(name: str):
    import torch

    try:  # torchvision's PyPI wheels may not load against a CPU torch; none of this needs it
        import torchvision  # noqa: F401
    except Exception:  # noqa: BLE001 - any failure to load means: hide it from transformers
        for key in [k for k in sys.modules if k.startswith("torchvision")]:
            del sys.modules[key]
        sys.modules["torchvision"] = None
    import transformers as T

    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    if name == "resnet50":
        model = T.ResNetForImageClassification(T.ResNetConfig())
        return model, {"pixel_values": torch.randn(4, 3, 64, 64, generator=g)}
    model = T.GPT2LMHeadModel(T.GPT2Config())
    return model, {"input_ids": torch.randint(0, 50257, (2, 64), generator=g)}


def _loss(model, x):
    import torch

    logits = model(**x).logits.float()
    flat = logits.reshape(-1, logits.shape[-1])
    labels = torch.randint(0, flat.shape[-1], (flat.shape[0],),
                           generator=torch.Generator().manual_seed(0))
    return torch.nn.functional.cross_entropy(flat, labels)


def child(name: str, mode: str, steps: int, threads: int, clock: str = "wall") -> dict:
    """Run one contender in this process; return its seconds and peak memory."""
    import torch

    now = time.process_time if clock == "cpu" else time.perf_counter

    from initlab.torchbridge import inspect, monitor

    torch.set_num_threads(threads)
    model, x = _build(name)
    Path("/proc/self/clear_refs").write_text("5")  # peak RSS := current RSS
    rss, _ = _memory()
    if mode == "plain":
        start = now()
        _loss(model, x).backward()
        seconds = now() - start
    elif mode == "inspect":
        predicted = _time_prediction()
        start = now()
        inspect(model, x)
        seconds = now() - start
        _, peak = _memory()
        return {"seconds": seconds, "peak_mb": (peak - rss) / 2 ** 20,
                "predict_seconds": predicted[0]}
    else:
        opt = torch.optim.Adam(model.parameters(), lr=1e-4)
        every = {"monitor10": 10, "monitor1": 1}.get(mode)
        times = []
        with monitor(model, every=every) if every else _Nothing():
            for _ in range(steps + 1):
                start = now()
                opt.zero_grad()
                _loss(model, x).backward()
                opt.step()
                times.append(now() - start)
        seconds = statistics.median(times[1:])
    _, peak = _memory()
    return {"seconds": seconds, "peak_mb": (peak - rss) / 2 ** 20}


def _time_prediction() -> list[float]:
    """Wrap inspect's call of the mean-field prediction (``predict_layers``) with a clock:
    the returned list holds its seconds once inspect has run."""
    from initlab.torchbridge import inspection

    spent = [0.0]
    predict = inspection.predict_layers

    def timed(*args, **kwargs):
        start = time.perf_counter()
        try:
            return predict(*args, **kwargs)
        finally:
            spent[0] += time.perf_counter() - start

    inspection.predict_layers = timed
    return spent


class _Nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def match_cost() -> dict:
    """Seconds and peak memory of match_init on a (4096, 25088) float32 weight."""
    import torch

    from initlab.torchbridge import match_init

    w = torch.empty(4096, 25088)
    torch.nn.init.kaiming_uniform_(w, a=5 ** 0.5)
    Path("/proc/self/clear_refs").write_text("5")
    rss, _ = _memory()
    start = time.perf_counter()
    name = match_init(w)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "peak_mb": (_memory()[1] - rss) / 2 ** 20, "match": name}


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default="resnet50,gpt2")
    p.add_argument("--modes", default=",".join(MODES))
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--clock", choices=("wall", "cpu"), default="wall")
    p.add_argument("--match", action="store_true")
    p.add_argument("--child", nargs=2, metavar=("MODEL", "MODE"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        print(json.dumps(child(*args.child, args.steps, args.threads, args.clock)))
        return {}
    if args.match:
        out = match_cost()
        print(f"match_init (4096 x 25088): {out['seconds']:.2f} s, peak +{out['peak_mb']:.0f} "
              f"MB -> {out['match']}")
    results: dict = {}
    for name in args.models.split(","):
        runs = {mode: [] for mode in args.modes.split(",")}
        for _ in range(args.rounds):
            for mode in runs:
                cmd = [sys.executable, __file__, "--child", name, mode, "--steps",
                       str(args.steps), "--threads", str(args.threads), "--clock", args.clock]
                done = subprocess.run(cmd, capture_output=True, text=True, check=True)
                runs[mode].append(json.loads(done.stdout.strip().splitlines()[-1]))
        results[name] = {m: {k: statistics.median(r[k] for r in rs) for k in rs[0]}
                         for m, rs in runs.items()}
        for mode, rs in runs.items():  # each round's ratio to its own round's reference
            ref = runs.get(REFERENCE.get(mode))
            if ref and len(rs) > 1:
                ratios = [r["seconds"] / f["seconds"] for r, f in zip(rs, ref, strict=True)]
                results[name][mode]["ratio_range"] = (min(ratios), max(ratios))
        _print(name, results[name])
    return results


def _print(name: str, res: dict) -> None:
    """One line per contender; inspect's ratios to plain, the monitors' to train."""
    for mode, r in res.items():
        ref = res.get(REFERENCE.get(mode))
        ratio = ""
        if ref:
            ratio = f"x{r['seconds'] / ref['seconds']:.2f} time"
            if "ratio_range" in r:
                ratio += " (rounds x{:.2f}-x{:.2f})".format(*r["ratio_range"])
            if mode == "inspect":
                rest = r["seconds"] - r["predict_seconds"]
                ratio += (f" (x{rest / ref['seconds']:.2f} without the prediction's "
                          f"{r['predict_seconds']:.3f} s)")
            if mode == "inspect" and ref["peak_mb"] > 0:
                ratio += f", x{r['peak_mb'] / ref['peak_mb']:.2f} peak memory"
        print(f"{name:9s} {mode:10s} {r['seconds']:8.3f} s  peak +{r['peak_mb']:7.0f} MB  {ratio}")


if __name__ == "__main__":
    main()
