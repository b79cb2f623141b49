"""The panel the interpreter is measured on: real architectures at initialization.

GPT-2, BERT, ViT, ResNet, ConvNeXt and Llama are the ``transformers`` classes built from small
configs (no download; width 256 where the architecture has one width), plus a residual MLP and
a small CNN written here. :func:`score` compares, for every weighted row (a leaf module with a
weight of 2 or more dims, inspect's judged rows), the std the interpreter predicts with the
std measured on the same batch, both pooled over seeds. ``benchmarks/predict_panel.py`` prints
the table; the tests run the same code on tiny configs.
"""

from __future__ import annotations

import statistics
import sys
from dataclasses import dataclass

from initlab.torchbridge.hooks import first_tensor, leaf_modules, torch
from initlab.torchbridge.interpret import interpret, pooled_std

nn = torch.nn


def transformers_module():
    """``transformers``, importable even where a broken torchvision would stop it (transformers
    imports torchvision when it finds one; none is needed here)."""
    try:
        import torchvision  # noqa: F401
    except Exception:  # a torchvision built for another torch raises at import
        sys.modules["torchvision"] = None
    import transformers

    return transformers


class ResidualMLP(nn.Module):
    """x + W2 relu(W1 LN(x)) blocks (pre-norm), then a head."""

    def __init__(self, width=256, depth=4, classes=10):
        super().__init__()
        self.blocks = nn.ModuleList(nn.Sequential(nn.LayerNorm(width), nn.Linear(width, width),
                                                  nn.ReLU(), nn.Linear(width, width))
                                    for _ in range(depth))
        self.head = nn.Linear(width, classes)

    def forward(self, x):
        for block in self.blocks:
            x = x + block(x)
        return self.head(x)


class SmallCNN(nn.Module):
    """conv-BN-ReLU, max pool, two residual conv blocks, average pool, linear."""

    def __init__(self, channels=64, classes=10):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, channels, 3, padding=1), nn.BatchNorm2d(channels),
                                  nn.ReLU(), nn.MaxPool2d(2))
        self.blocks = nn.ModuleList(nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU(),
            nn.Conv2d(channels, channels, 3, padding=1)) for _ in range(2))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(channels, classes)

    def forward(self, x):
        x = self.stem(x)
        for block in self.blocks:
            x = torch.relu(x + block(x))
        return self.head(self.pool(x).flatten(1))


def panel(width=256, depth=4, tokens=64, image=32, batch=8):
    """name -> (build() -> model, inputs): the panel at these sizes."""
    t = transformers_module()
    heads = max(1, width // 64)
    ids = (torch.randint(0, 1000, (batch, tokens), generator=torch.Generator().manual_seed(0)),)
    img = (torch.randn(batch, 3, image, image, generator=torch.Generator().manual_seed(0)),)
    widths = [width // 4, width // 2, width, width]
    configs = {
        "gpt2": (lambda: t.GPT2Model(t.GPT2Config(
            n_embd=width, n_layer=depth, n_head=heads, vocab_size=1000, n_positions=tokens,
            bos_token_id=0, eos_token_id=0)), ids),
        "bert": (lambda: t.BertModel(t.BertConfig(
            hidden_size=width, num_hidden_layers=depth, num_attention_heads=heads,
            intermediate_size=4 * width, vocab_size=1000, max_position_embeddings=tokens)),
            ids),
        "vit": (lambda: t.ViTModel(t.ViTConfig(
            hidden_size=width, num_hidden_layers=depth, num_attention_heads=heads,
            intermediate_size=4 * width, image_size=image, patch_size=4)), img),
        "resnet": (lambda: t.ResNetModel(t.ResNetConfig(
            embedding_size=widths[0], hidden_sizes=widths, depths=[1, 1, 1, 1])), img),
        "convnext": (lambda: t.ConvNextModel(t.ConvNextConfig(
            hidden_sizes=widths, depths=[1, 1, 1, 1])), img),
        "llama": (lambda: t.LlamaModel(t.LlamaConfig(
            hidden_size=width, intermediate_size=3 * width, num_hidden_layers=depth,
            num_attention_heads=heads, num_key_value_heads=max(1, heads // 2),
            vocab_size=1000, max_position_embeddings=tokens, pad_token_id=0, bos_token_id=0,
            eos_token_id=0)), ids),
        "residual-mlp": (lambda: ResidualMLP(width, depth), (torch.randn(
            batch * 8, width, generator=torch.Generator().manual_seed(0)),)),
        "cnn": (lambda: SmallCNN(width // 4), img),
    }
    return configs


def measure(model, inputs):
    """(name, (mean, second moment) of the output) of every leaf-module call, as inspect."""
    out = []

    def hook(module, args, y, name):
        y = first_tensor(y)
        if y is not None:
            y = y.detach().double()
            out.append((name, (float(y.mean()), float((y * y).mean()))))

    handles = [m.register_forward_hook(lambda m, a, y, n=n: hook(m, a, y, n))
               for n, m in leaf_modules(model)]
    try:
        with torch.no_grad(), torch.random.fork_rng(devices=[]):
            model(*inputs)
    finally:
        for h in handles:
            h.remove()
    return out


@dataclass
class Score:
    """One panel model: weighted rows predicted, and the relative errors of those."""

    name: str
    covered: int
    total: int
    errors: list
    unsupported: dict

    @property
    def coverage(self) -> float:
        return self.covered / self.total if self.total else 0.0

    @property
    def within(self) -> float:
        """Fraction of the predicted weighted rows within 10% of the measured std."""
        return sum(e <= 0.1 for e in self.errors) / len(self.errors) if self.errors else 0.0

    def row(self):
        med = statistics.median(self.errors) if self.errors else None
        return [self.name, f"{self.covered}/{self.total}", self.coverage, self.within, med,
                max(self.errors) if self.errors else None]


def score(name, build, inputs, seeds: int = 3) -> Score:
    """Predict and measure ``build()`` for seeds 0..seeds-1 (eval mode), pooled per row."""
    predicted, measured, weighted, unsupported = None, None, None, {}
    for s in range(seeds):
        torch.manual_seed(s)
        model = build().eval()
        trace = interpret(model, inputs)
        meas = measure(model, inputs)
        if weighted is None:
            kinds = {n: m for n, m in leaf_modules(model)}
            weighted = [_weighted(kinds[n]) for n, _ in meas]
            predicted, measured = [[] for _ in meas], [[] for _ in meas]
        for i, ((_, p), (_, m)) in enumerate(zip(trace.calls, meas, strict=True)):
            predicted[i].append(p)
            measured[i].append(m)
        for k, v in trace.unsupported.items():
            unsupported[k] = unsupported.get(k, 0) + v
    errors, covered = [], 0
    for w, ps, ms in zip(weighted, predicted, measured, strict=True):
        if not w:
            continue
        if any(p is None for p in ps):
            continue
        covered += 1
        p, m = pooled_std(_pool(ps)), pooled_std(_pool(ms))
        errors.append(abs(p / m - 1) if m > 0 else (0.0 if p == 0 else float("inf")))
    return Score(name, covered, sum(weighted), errors, unsupported)


def _weighted(module) -> bool:
    w = getattr(module, "weight", None)
    return isinstance(w, torch.Tensor) and w.dim() >= 2


def _pool(moments):
    return (sum(m for m, _ in moments) / len(moments), sum(s for _, s in moments) / len(moments))
