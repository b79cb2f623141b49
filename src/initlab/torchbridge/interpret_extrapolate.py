"""What the same architecture would do K times deeper or wider, predicted without building it.

Deeper: the repeated blocks of the model (the longest ``nn.ModuleList`` or ``nn.Sequential``
whose children repeat one pattern of types) are, for one interpreted forward, replaced by a
list K times as long that cycles through the existing blocks (the same modules, no new
weights), so each block's map of the stream statistics is applied as many times as the deeper
model has blocks. At initialization a block's map depends on its weights only through sums
over many of them, so a block drawn afresh has nearly the same map; what the deeper model adds
is the repeated application, which is exactly what is run. ``transformers`` models have their
``num_hidden_layers`` (or ``n_layer``) and ``use_cache`` set for that forward and restored,
and where the init itself depends on the depth (GPT-2 draws its residual projections with std
0.02 / sqrt(2 n_layer), Radford et al. 2019) and the blocks still hold the model's own
draws, the blocks are re-drawn by the model's own init rule at the new depth for that
forward (and restored).

Wider: every weight whose values fit an init scaled by its fan (He, Glorot, LeCun, PyTorch's
default: :func:`initlab.torchbridge.match.match_init`) keeps its per-unit contribution at K
times the width, since its variance shrinks as the fan grows; any other weight (a fixed std,
as ``transformers``' ``initializer_range``) has the same variance at K times the fan, so the
sums over it grow K times: the interpreter counts it as sqrt(K) times itself. Embeddings and
weights with a dim of the data's feature size (a stem, a patch embedding) do not widen. Means
and the token correlation follow from the rules as usual.
"""

from __future__ import annotations

import copy
import math
from contextlib import contextmanager
from dataclasses import dataclass

from initlab.errors import InitlabError
from initlab.results import Result, detail
from initlab.torchbridge.hooks import first_tensor, torch
from initlab.torchbridge.interpret import STAT_ATTR, UNKNOWN, Stat, interpret, pooled_std

nn = torch.nn
_FAN_INITS = ("he", "xavier", "lecun", "kaiming", "glorot", "orthogonal")


def find_blocks(model):
    """(parent, attribute, container, period, count): the container with the most repeated
    blocks: its first ``count`` x ``period`` children repeat one pattern of types (what
    follows, shorter than a block, is a head: a last Linear without its activation)."""
    best = None
    containers = [(None, None, model)] + [(p, a, c) for p in model.modules()
                                          for a, c in p.named_children()]
    for parent, attr, child in containers:
        if not isinstance(child, (nn.ModuleList, nn.Sequential)):
            continue
        types = [type(k) for k in child]
        for period in range(1, 5):
            count = len(types) // period
            if count < 2 or len(types) - count * period >= period:
                continue
            if all(types[i] is types[i % period] for i in range(count * period)):
                if best is None or count > best[4]:
                    best = (parent, attr, child, period, count)
                break
    if best is None:
        raise InitlabError("the model has no repeated blocks to extrapolate (an nn.ModuleList "
                           "or nn.Sequential whose children repeat one pattern of module types)")
    return best


@contextmanager
def _deeper(model, blocks, scale: float):
    """The model with its blocks cycled to round(scale x) blocks (the same modules)."""
    parent, attr, container, period, n = blocks
    kids = list(container)
    depth = max(1, round(scale * n))
    cycled = [kids[(b % n) * period + j] for b in range(depth) for j in range(period)]
    if period == 1:  # a block passes the stream through: each repeat sees it permuted
        cycled = [k if b < n else _Permuted(k, b) for b, k in enumerate(cycled)]
    cycled += kids[n * period:]
    longer = type(container)(cycled) if isinstance(container, nn.ModuleList) \
        else nn.Sequential(*cycled)
    config = getattr(model, "config", None)
    saved = {}
    if config is not None:
        for key in ("num_hidden_layers", "n_layer", "num_layers"):
            if getattr(config, key, None) == n:
                saved[key] = n
                setattr(config, key, depth)
        if getattr(config, "use_cache", None):
            saved["use_cache"] = True
            config.use_cache = False
    if parent is None:  # the model is the container: run its children in a longer one
        swap = _swap_forward(model, longer)
    else:
        setattr(parent, attr, longer)  # nn.Module registers the child
        swap = None
    try:
        with _init_rule(model, blocks, depth) as rule:
            yield depth, rule
    finally:
        if swap is None:
            setattr(parent, attr, container)
        else:
            swap()
        for key, value in saved.items():
            setattr(config, key, value)


def _swap_forward(model, longer):
    """Make ``model`` (a Sequential) run ``longer`` for a while; returns the undo."""
    model.forward = longer.forward
    return lambda: model.__dict__.pop("forward", None)


class _Permuted(nn.Module):
    """A block applied to its input with the features permuted, and its output permuted back.

    A block's output has per-feature means fixed by its weights (a GELU's positive mean
    through the next projection); a second copy of the same block would add the same vector
    again, coherently, where a freshly drawn block adds an independent one. Permuting the
    features (the last dim; channels for images) on the way in and back on the way out is the
    same block with its weights' input and output sides permuted: the same law, and a mean
    vector that is a permutation of the first, uncorrelated with it.
    """

    def __init__(self, block, seed: int):
        super().__init__()
        self.inner = [block]  # not registered: no module tree, no parameters of its own
        self.seed = seed

    def forward(self, x, *args, **kwargs):
        axis = 1 if x.dim() == 4 else -1
        gen = torch.Generator().manual_seed(self.seed)
        perm = torch.randperm(x.shape[axis], generator=gen)
        inv = torch.argsort(perm)
        out = self.inner[0](x.index_select(axis, perm), *args, **kwargs)
        if isinstance(out, torch.Tensor):
            return out.index_select(axis, inv)
        return type(out)((out[0].index_select(axis, inv), *out[1:]))


@contextmanager
def _init_rule(model, blocks, depth: int):
    """For a ``transformers`` model whose blocks still hold the draws of its own init rule
    (the stds of every parameter within 15% of a fresh draw at the built depth), the blocks
    re-drawn by that rule at the new depth (GPT-2 scales its residual projections by
    1/sqrt(2 n_layer)), and restored afterwards; else the built weights.

    The draws come from transformers' public API only: the model's class is built from a copy
    of its config at the wanted depth on the ``meta`` device (no memory, no init), its first
    blocks are given memory (``to_empty``) and ``init_weights()`` draws them by the model's
    own rule; their parameters are put in the place of the model's own with ``setattr`` for
    the forward (the model's tensors are never written, and are put back afterwards).
    """
    parent, attr, container, period, built = blocks
    config = getattr(model, "config", None)
    keys = [k for k in ("num_hidden_layers", "n_layer", "num_layers")
            if getattr(config, k, None) == depth]
    if not callable(getattr(model, "init_weights", None)) or not keys or depth == built \
            or parent is None:
        yield "the built weights"
        return
    path = next(n for n, m in model.named_modules() if m is parent)
    kids = list(container)[:built * period]
    slots = [(m, n, p) for kid in kids for m in kid.modules()
             for n, p in m.named_parameters(recurse=False)]

    def drawn(n_layer):
        """The parameters of the first blocks of the class at ``n_layer``, by its init."""
        cfg = copy.deepcopy(config)
        for k in keys:
            setattr(cfg, k, n_layer)
        with torch.device("meta"):
            fresh = type(model)(cfg)
        fresh_kids = list(getattr(fresh.get_submodule(path), attr))[:built * period]
        for kid, own in zip(fresh_kids, kids, strict=True):
            kid.to_empty(device=next(own.parameters()).device)
        with torch.random.fork_rng(devices=[]), torch.no_grad():
            torch.manual_seed(0)
            fresh.init_weights()
        return [p for kid in fresh_kids for m in kid.modules()
                for _, p in m.named_parameters(recurse=False)]

    def put(params):
        for (m, n, _), p in zip(slots, params, strict=True):
            setattr(m, n, p)

    try:
        try:
            same = all(_close(p, q) for (_, _, q), p in zip(slots, drawn(built), strict=True))
            deeper = drawn(depth) if same else None
        except (TypeError, ValueError, RuntimeError, AttributeError):
            same = False  # a class that cannot be built so: the built weights, said so
        if same:
            put(deeper)
        yield "transformers' init_weights at the new depth" if same else "the built weights"
    finally:
        put([p for _, _, p in slots])


def _close(p, q) -> bool:
    if p.numel() < 32:
        return True
    a, b = float(p.detach().double().std()), float(q.detach().double().std())
    return abs(a - b) <= 0.15 * max(a, b) or max(a, b) == 0


def weight_scales(model, inputs, scale: float) -> dict:
    """id(weight) -> the factor the interpreter counts it with at ``scale`` x the width: 1 for
    a fan-scaled init, an embedding, or a weight with a dim of the data's feature size (the
    data does not widen); sqrt(scale) for the others."""
    from initlab.torchbridge.match import match_init

    data = {int(x.shape[-1]) for x in inputs if x.is_floating_point() and x.dim() >= 2}
    data |= {int(x.shape[1]) for x in inputs if x.is_floating_point() and x.dim() >= 3}
    out = {}
    for module in model.modules():
        w = getattr(module, "weight", None)
        if scale == 1 or not isinstance(w, torch.Tensor) or w.dim() < 2 or isinstance(
                module, nn.Embedding) or data & set(w.shape[:2]):
            continue
        name = (match_init(w) or "").lower()
        if not any(k in name for k in _FAN_INITS):
            out[id(w)] = math.sqrt(scale)
    return out


@dataclass
class BlockRow(Result):
    """The stream after one block of the extrapolated model."""

    block: int
    stream_std: float | None
    stream_mean: float | None = detail()


@dataclass
class ExtrapolationResult(Result):
    """Predicted stream and per-layer stds of the model ``depth_scale`` x deeper and
    ``width_scale`` x wider; ``init_rule``: the weights the deeper blocks have (module
    docstring); ``layers``: (name, predicted std) of every leaf call."""

    model: str
    depth_scale: float
    width_scale: float
    blocks: int
    built_blocks: int
    stream: list[BlockRow]
    built_stream: list[BlockRow]
    init_rule: str = ""
    layers: list = detail(default=None)
    unsupported: dict = detail(default=None)

    def table(self):
        return ["block", "predicted stream std"], [[r.block, r.stream_std] for r in self.stream]

    def summary(self) -> str:
        """The stream at the first and last block, and its growth per block, as one line."""
        stds = [r.stream_std for r in self.stream if r.stream_std is not None]
        if not stds:
            return "no block's stream could be predicted"
        growth = (stds[-1] / stds[0]) ** (1 / max(len(stds) - 1, 1)) if stds[0] > 0 else None
        text = (f"{self.blocks} blocks ({self.depth_scale:g} x the {self.built_blocks} built), "
                f"width x{self.width_scale:g}: stream std {stds[0]:.4g} after block 1, "
                f"{stds[-1]:.4g} after block {len(stds)} ({stds[-1] / stds[0]:.3g}x")
        if growth is not None:
            text += f", x{growth:.4g} per block"
        return text + ")"


def extrapolate(model, inputs, depth_scale: float = 1.0,
                width_scale: float = 1.0) -> ExtrapolationResult:
    """Predict the stream after every block (and every leaf call) of ``model`` made
    ``depth_scale`` times deeper and ``width_scale`` times wider (module docstring)."""
    for value, label in ((depth_scale, "depth_scale"), (width_scale, "width_scale")):
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not value > 0 \
                or not math.isfinite(value):
            raise InitlabError(f"{label} must be a positive number, got {value!r}")
    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    blocks = find_blocks(model)
    period, built = blocks[3], blocks[4]
    stream = []

    def record(module, args, output):
        y = first_tensor(output)
        s = getattr(y, STAT_ATTR, None) if y is not None else None
        if s is UNKNOWN:
            stream.append(BlockRow(len(stream) + 1, None))
            return
        s = s if isinstance(s, Stat) else Stat(y.detach().double())
        m = s.pooled()
        stream.append(BlockRow(len(stream) + 1, pooled_std(m), m[0]))

    ends = list(blocks[2])[period - 1:built * period:period]
    handles = [m.register_forward_hook(record) for m in set(ends)]
    try:
        interpret(model, inputs)
        built_stream, stream = stream[:], stream.clear() or stream
        with _deeper(model, blocks, depth_scale) as (depth, rule):
            trace = interpret(model, inputs,
                              weight_scale=weight_scales(model, inputs, width_scale))
    finally:
        for h in handles:
            h.remove()
    return ExtrapolationResult(
        model=type(model).__name__, depth_scale=float(depth_scale),
        width_scale=float(width_scale), blocks=depth, built_blocks=built, stream=stream,
        built_stream=built_stream, init_rule=rule,
        layers=[(n, pooled_std(m)) for n, m in trace.calls],
        unsupported=dict(trace.unsupported))
