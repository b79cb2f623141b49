"""The verdict table of ``initlab inspect`` on the panel of the tests, as Markdown (for the README).

    python benchmarks/inspect_panel.py

The panel is ``tests/torchbridge/arch_panel.py``: Hugging Face GPT-2, BERT, ViT, ResNet,
ConvNeXt and Llama with small configs at their default (random) init, the hand-written residual
MLPs and the deep tanh MLP, two deliberately broken transformers (GPT-2 with its query and
key weights x100; GPT-2 re-initialized with ``he``), and GPT-2 small and ResNet-50 at full size
(the models of ``inspect_cost.py``). One row each: the residual adds found, the
stream's growth over its longest run, the lowest attention entropy as a fraction of uniform
attention's, the state and the problems' kinds.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "torchbridge"))

import arch_panel as panel  # noqa: E402
import torch  # noqa: E402

import inspect_cost  # noqa: E402
from initlab.torchbridge import inspect, reinit  # noqa: E402
from initlab.torchbridge.diagnosis import stream_growth  # noqa: E402


def _qk_x100():
    model, x = panel.gpt2()
    with torch.no_grad():
        for block in model.transformer.h:
            block.attn.c_attn.weight[:, :128].mul_(100)
    return model, x


def _gpt2_he():
    model, x = panel.gpt2(layers=12)
    reinit(model, "he")
    return model, x


CASES = [(f"{name} (default init)", build) for name, build in panel.PANEL.items()] + [
    ("GPT-2, 12 layers (default init)", lambda: panel.gpt2(layers=12)),
    ("GPT-2, 12 layers, --reinit he", _gpt2_he),
    ("GPT-2, q and k weights x100", _qk_x100),
    ("residual MLP, He, no norm (10 blocks)", panel.residual_mlp),
    ("same, second layers zero-init", lambda: panel.residual_mlp(zero=True)),
    ("tanh MLP, normal(0.01), 20 layers", panel.tanh_mlp),
    ("GPT-2 small (GPT2Config(), 2 x 64 tokens)", lambda: inspect_cost._build("gpt2")),
    ("ResNet-50 (ResNetConfig(), 4 x 3 x 64 x 64)", lambda: inspect_cost._build("resnet50")),
]


def row(label: str, build) -> list[str]:
    torch.manual_seed(0)
    model, x = build()
    r = inspect(model, x)
    growth = stream_growth(r.blocks)
    att = [a.entropy / a.max_entropy for a in r.attention if a.max_entropy]
    kinds = ", ".join(dict.fromkeys(p.kind for p in r.verdict.problems)) or "-"
    return [label, str(len(r.blocks)), f"x{growth:.3g}" if growth else "-",
            f"{min(att):.3f}" if att else "-", r.verdict.state, kinds]


def main() -> list[list[str]]:
    torch.set_num_threads(1)
    header = ["model", "residual adds", "stream growth", "attention entropy / uniform (min)",
              "state", "problems"]
    rows = [row(label, build) for label, build in CASES]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for r in rows:
        print("| " + " | ".join(r) + " |")
    return rows


if __name__ == "__main__":
    main()
