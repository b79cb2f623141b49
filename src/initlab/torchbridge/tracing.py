"""What happens between the modules: residual adds, attention, in-place changes of a tensor.

Module hooks see each module's input and output; a residual connection (``x + f(x)``) and the
attention of ``F.scaled_dot_product_attention`` happen in a module's ``forward`` between its
children, where no hook reaches. :class:`Tracer` is a ``torch.overrides.TorchFunctionMode``: it
sees every torch function called outside the leaf modules (``+``, ``+=``, ``torch.add``, views,
SDPA, ...) on the tensors that flow through the model. Chosen over ``torch.fx`` because fx
needs a symbolically traceable forward: Hugging Face models (data-dependent masks, ``**kwargs``,
ModelOutput) and any model with Python control flow on values do not trace, while the mode
follows whatever the forward runs, in eager mode, at the cost of one Python call per torch
function outside the leaves.

Each tensor gets a tag (root, hops, producer): the stream tensor it derives from, the number of
modules with parameters it passed since, and the row of the last leaf call with parameters it
passed (activations and dropout pass their input's producer on).
The input of a non-leaf module that has no root yet becomes a root. A **residual add** is an
addition of two floating tensors of one shape, outside any leaf module, that derive from the same
root through different numbers of weighted modules: the operand with fewer hops is the skip
(identity, or a projection shortcut), the other the branch. Its output is a new root: the
stream. What it cannot see: additions that a leaf module does inside its own ``forward`` (a
block written as one module without children), streams merged by ``torch.cat`` or a weighted
sum (DenseNet, ReZero's ``x + alpha * f(x)`` is seen, ``torch.lerp`` is not), and attention
computed with an explicit ``softmax`` (the "eager" path): only SDPA and
``nn.MultiheadAttention`` (``F.multi_head_attention_forward``) are measured.

Attention (per call): the softmax weights are recomputed from q, k, the mask and the scale, so
the entropy is of the attention the model used: mean over batch, heads and queries of
-sum_j p_j log p_j (nats), beside the mean over queries of log(keys the query may see)
(the entropy of uniform attention); ``logit_std`` is the mean over queries of the std of the
scaled logits over those keys. Near-zero entropy is the "entropy collapse" of Zhai et al. 2023
("Stabilizing Transformer Training by Preventing Attention Entropy Collapse", ICML).
"""

from __future__ import annotations

import math
import weakref

from initlab.torchbridge.hooks import Moments, torch

_ADDS = {"add", "__add__", "__radd__", "add_", "__iadd__"}
_MHA = "multi_head_attention_forward"
_SDPA = "scaled_dot_product_attention"


class Add:
    """The statistics of one residual add position (pooled over seeds)."""

    def __init__(self, name: str, module):
        self.name, self.module = name, module
        self.out, self.branch, self.skip, self.grad = Moments(), Moments(), Moments(), Moments()
        self.branch_rows: set[int] = set()
        self.rows: set[int] = set()  # rows called in the module between the last add and this
        self.shape: list[int] | None = None
        self.continues = False  # whether the skip is the previous add's output, unchanged


class Attention:
    """One attention call: entropy, uniform entropy and logit std, averaged over queries."""

    def __init__(self, name: str):
        self.name = name
        self.entropy = self.max_entropy = self.logit_std = 0.0
        self.n = 0
        self.query_rows: set[int] = set()
        self.key_rows: set[int] = set()


def _tensors(args, kwargs) -> list:
    out = []
    for a in list(args) + list((kwargs or {}).values()):
        if isinstance(a, torch.Tensor):
            out.append(a)
        elif isinstance(a, (tuple, list)):
            out.extend(t for t in a if isinstance(t, torch.Tensor))
    return out


def attention_stats(q, k, mask=None, causal=False, scale=None):
    """(entropy, max entropy, logit std, queries) of softmax(q k^T scale + mask) per query.

    q: (..., L, E), k: (..., S, E) (heads of k repeated to q's when fewer, as SDPA's
    ``enable_gqa``); mask: bool (True = may attend) or float (added), broadcastable to
    (..., L, S); causal: the top-left lower-triangular mask of SDPA's ``is_causal``.
    Returned values are sums over queries that see at least one key.
    """
    q, k = q.detach().double(), k.detach().double()
    if k.dim() >= 3 and q.dim() >= 3 and k.shape[-3] != q.shape[-3]:
        k = k.repeat_interleave(q.shape[-3] // k.shape[-3], dim=-3)
    logits = q @ k.transpose(-2, -1) * (1 / math.sqrt(q.shape[-1]) if scale is None else scale)
    valid = torch.ones_like(logits, dtype=torch.bool)
    if causal:
        valid = valid & torch.ones(logits.shape[-2:], dtype=torch.bool).tril()
    if mask is not None:
        mask = mask.detach()
        if mask.dtype == torch.bool:
            valid = valid & mask
        else:
            logits = logits + mask.double()
            valid = valid & torch.isfinite(logits) & (mask.double() > torch.finfo(
                mask.dtype).min / 2)
    logits = logits.masked_fill(~valid, -math.inf)
    seen = valid.sum(-1)
    rows = seen > 0
    logp = torch.log_softmax(logits.masked_fill(~rows[..., None], 0.0), dim=-1)
    p = logp.exp()
    entropy = -(p * logp.masked_fill(~valid, 0.0)).sum(-1)
    finite = logits.masked_fill(~valid, 0.0)
    count = seen.clamp(min=1).double()
    mean = finite.sum(-1) / count
    var = ((finite - mean[..., None]) ** 2).masked_fill(~valid, 0.0).sum(-1) / count
    return (float(entropy[rows].sum()), float(torch.log(count)[rows].sum()),
            float(var.sqrt()[rows].sum()), int(rows.sum()))


class Tracer(torch.overrides.TorchFunctionMode):
    """Tags tensors, finds residual adds, measures attention (see the module docstring).

    The module hooks of :mod:`initlab.torchbridge.inspection` call :meth:`enter` and
    :meth:`leave` around every module call; ``adds`` and ``attention`` fill up in call order
    (pooled over passes: a second pass adds to the same positions).
    """

    def __init__(self, names: dict, leaves: set):
        super().__init__()
        self.names, self.leaves = names, leaves
        self.tags: dict[int, tuple] = {}  # id(tensor) -> (weakref, root, hops, producer row)
        self.stack: list = []
        self.leaf_depth = 0
        self.rows_done = 0  # leaf rows recorded so far in this pass (set by the module hooks)
        self._start: dict = {}  # module -> rows_done when it was entered or last added
        self._last_add = None
        self.adds: list[Add] = []
        self.attention: list[Attention] = []
        self._add_i = self._att_i = 0
        self.loss = "auto"  # the loss the last pass used (losses.compute_loss)
        self.paused = False  # True while the hooks compute their own statistics
        self._job = None  # (fn, args) for untraced() to run from inside __torch_function__
        self._weighted: dict = {}  # leaf module -> whether it has parameters of its own
        self._result: tuple | None = None
        self.stream_only = False  # True: the adds' outputs only (no branch, skip, gradient or
        # attention statistics: monitor reads the stream's std and nothing else)

    def start_pass(self) -> None:
        self.tags.clear()
        self.stack.clear()
        self.leaf_depth = self._add_i = self._att_i = self.rows_done = 0
        self._start.clear()
        self._last_add = None

    def tag(self, t):
        entry = self.tags.get(id(t))
        return entry[1:] if entry is not None and entry[0]() is t else None

    def _set(self, t, root, hops, producer) -> None:
        self.tags[id(t)] = (weakref.ref(t), root, hops, producer)

    def enter(self, module, args) -> None:
        self.stack.append(module)
        if module in self.leaves:
            self.leaf_depth += 1
            return
        self._start[module] = self.rows_done
        for t in _tensors(args, None):
            if t.is_floating_point() and self.tag(t) is None:
                self._set(t, id(t), 0, None)

    def leave(self, module, args, output, row: int | None) -> None:
        if self.stack and self.stack[-1] is module:
            self.stack.pop()
        if module not in self.leaves:
            return
        self.leaf_depth -= 1
        src = next((self.tag(t) for t in _tensors(args, None) if self.tag(t) is not None), None)
        if src is None:
            return
        weighted = self._weighted.get(module)
        if weighted is None:  # asked once per module: parameters() walks named_modules
            weighted = self._weighted[module] = any(True for _ in module.parameters(recurse=False))
        for t in _tensors(output if isinstance(output, (tuple, list)) else (output,), None):
            if t.is_floating_point():
                self._set(t, src[0], src[1] + weighted, row if weighted else src[2])

    def _where(self) -> tuple[str, object]:
        module = next((m for m in reversed(self.stack) if m not in self.leaves), None)
        return (self.names.get(module, type(module).__name__) if module is not None
                else "model"), module

    def untraced(self, fn, *args):
        """``fn(*args)`` with this mode off: the hooks' own statistics are not the model's
        computation, and every torch call (``numel``, ``float``, a property) made while a
        mode is on costs a round trip through Python (7,000 per recorded step of a ResNet-50,
        20 ms). Torch takes a mode off its stack while its ``__torch_function__`` runs (its
        calls "forward to the next mode"), so ``fn`` runs there, on a carrier call
        (``torch.empty(0)``) that reaches it. Where the carrier does not reach it (the mode is
        not entered, or a mode entered after it keeps the call), ``fn`` runs here, paused."""
        self._job, self._result = (fn, args), None
        try:
            torch.empty(0)
        finally:
            self._job = None
        if self._result is not None:
            return self._result[0]
        self.paused = True
        try:
            return fn(*args)
        finally:
            self.paused = False

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if self._job is not None:  # the carrier of untraced(): run its job, this mode off
            fn, job_args = self._job
            self._job = None
            self._result = (fn(*job_args),)
            return func(*args, **kwargs)
        if self.paused:  # the hooks' own statistics, not the model's computation
            return func(*args, **kwargs)
        name = getattr(func, "__name__", "")
        if name == _SDPA and not self.stream_only:
            self._sdpa(args, kwargs)
        elif name == _MHA and not self.stream_only:
            self._mha(func, args, kwargs)
        if self.leaf_depth:
            return func(*args, **kwargs)
        ins = [t for t in _tensors(args, kwargs) if self.tag(t) is not None]
        residual = self._residual(name, args) if name in _ADDS else None
        out = func(*args, **kwargs)
        if residual is not None:
            self._record_add(residual, out)
        elif ins:
            root, _, producer = self.tag(ins[0])
            hops = max(self.tag(t)[1] for t in ins)
            for t in _tensors(out if isinstance(out, (tuple, list)) else (out,), None):
                if t.is_floating_point() and self.tag(t) is None:
                    self._set(t, root, hops, producer)
        return out

    def _residual(self, name, args):
        """(skip, branch) moments taken before the add runs (``+=`` changes the branch)."""
        if len(args) < 2 or not all(isinstance(a, torch.Tensor) for a in args[:2]):
            return None
        a, b = args[0], args[1]
        ta, tb = self.tag(a), self.tag(b)
        if (ta is None or tb is None or ta[0] != tb[0] or ta[1] == tb[1]
                or a.shape != b.shape or not a.is_floating_point()):
            return None
        skip, branch = (a, b) if ta[1] < tb[1] else (b, a)
        ms, mb = Moments(), Moments()
        if not self.stream_only:
            ms.add(skip)
            mb.add(branch)
        continues = self.tag(skip)[1] == 0 and self._last_add is not None and \
            self.tag(skip)[0] == self._last_add
        return ms, mb, self.tag(branch)[2], continues

    def _record_add(self, residual, out) -> None:
        skip, branch, producer, continues = residual
        name, module = self._where()
        if self._add_i == len(self.adds):
            self.adds.append(Add(name, module))
        add = self.adds[self._add_i]
        self._add_i += 1
        add.continues = continues
        add.rows.update(range(self._start.get(module, self.rows_done), self.rows_done))
        self._start[module] = self.rows_done
        self._last_add = id(out)
        add.skip.merge(skip)
        add.branch.merge(branch)
        if producer is not None:
            add.branch_rows.add(producer)
        add.out.add(out)
        add.shape = list(out.shape)
        self._set(out, id(out), 0, None)
        if out.requires_grad and not self.stream_only:
            out.register_hook(lambda g, a=add: a.grad.add(g))

    def _attention_row(self, stats, q, k) -> None:
        name, _ = self._where()
        if self._att_i == len(self.attention):
            self.attention.append(Attention(name))
        a = self.attention[self._att_i]
        self._att_i += 1
        e, m, s, n = stats
        a.entropy, a.max_entropy, a.logit_std, a.n = (a.entropy + e, a.max_entropy + m,
                                                      a.logit_std + s, a.n + n)
        for t, rows in ((q, a.query_rows), (k, a.key_rows)):
            tag = self.tag(t) if t is not None else None
            if tag is not None and tag[2] is not None:
                rows.add(tag[2])

    def _sdpa(self, args, kwargs) -> None:
        names = ["query", "key", "value", "attn_mask", "dropout_p", "is_causal", "scale"]
        given = dict(zip(names, args, strict=False)) | kwargs
        q, k = given["query"], given["key"]
        with torch.no_grad():
            stats = attention_stats(q, k, given.get("attn_mask"),
                                    bool(given.get("is_causal", False)), given.get("scale"))
        self._attention_row(stats, q, k)

    def _mha(self, func, args, kwargs) -> None:
        """nn.MultiheadAttention: its per-head weights, from a second, gradient-free call
        without dropout (``logit_std`` from log p, which differs from the logits by a
        per-query constant only)."""
        args = list(args)
        if len(args) > 10:
            args[10] = 0.0  # dropout_p
        again = dict(kwargs, need_weights=True, average_attn_weights=False, training=False,
                     is_causal=False)
        with torch.no_grad():
            p = func(*args, **again)[1].double()  # (N, heads, L, S)
        valid = p > 0
        seen = valid.sum(-1)
        rows = seen > 0
        logp = torch.log(p.clamp_min(1e-300)).masked_fill(~valid, 0.0)
        count = seen.clamp(min=1).double()
        mean = logp.sum(-1) / count
        var = ((logp - mean[..., None]) ** 2).masked_fill(~valid, 0.0).sum(-1) / count
        self._attention_row((float(-(p * logp).sum(-1)[rows].sum()),
                             float(torch.log(count)[rows].sum()),
                             float(var.sqrt()[rows].sum()), int(rows.sum())), None, None)
