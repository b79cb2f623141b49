"""``reinit``: re-draw a torch model's weights in place with initlab's initializers, or LSUV.

Which weights, and at which layout (the fans must be the ones the layer computes with):

- Linear, Conv*, ConvTranspose*, Bilinear (out, in1, in2: fan_in = in1 in2, as its output
  sums over both inputs): the weight as it is stored, so fans, gains and stds mean exactly what
  ``torch.nn.init`` means by them.
- Hugging Face's ``Conv1D`` (GPT-2) stores its weight as (in, out): drawn at (out, in) and
  transposed.
- ``nn.MultiheadAttention``'s packed ``in_proj_weight`` (3E, E): q, k and v drawn one by one at
  (E, E) (its out_proj is a Linear).
- Left alone: embeddings (``nn.Embedding``, position embeddings held as parameters),
  normalization layers, and every weight tied to one of those (GPT-2's ``lm_head`` is
  ``wte``); a weight shared by several modules is drawn once.

A spec draws every one of these weights from its law: what the model's own init intended for
its residual branches (GPT-2's 0.02 / sqrt(2 L) output projections, zero-init branches) is
replaced, and ``initlab inspect --reinit`` inspects again and warns when the stream now grows
(:func:`~initlab.torchbridge.diagnosis.stream_warning`). The recipes keep the residual scaling
their scheme requires; they find the residual branches by inspecting the model on
``example_input`` (:func:`~initlab.torchbridge.inspect`). Biases are set by ``bias`` (zeros by
default, as He et al. 2015 and Glorot & Bengio 2010 assume).

Recipes:

- ``"gpt2"``: normal(0.02) weights, residual output projections normal(0.02 / sqrt(n)) with n
  the number of residual adds (2 per layer: 2 L), zero biases (Radford et al. 2019,
  "Language Models are Unsupervised Multitask Learners", section 2.3).
- ``"resnet"``: He normal with fan_out (torchvision's ResNet init) for every weight, and the
  last layer of each residual branch (its last norm's scale, or its last weight where it has no
  norm) set to zero (Goyal et al. 2017, "Accurate, Large Minibatch SGD", section 5.1).

"lsuv" (Mishkin & Matas 2015, "All you need is a good init"): orthogonal weights first, then,
module by module in the order the model calls them, divide the weight by the std of the
module's output on ``example_input`` until |Var - 1| < tol (at most ``max_tries`` times).
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from initlab.errors import InitlabError, check_positive_int
from initlab.init import get_initializer
from initlab.torchbridge.hooks import first_tensor, torch
from initlab.torchbridge.inspection import as_inputs, inspect, is_norm

nn = torch.nn
RECIPES = {"gpt2": "normal(std=0.02)",
           "resnet": "kaiming_normal(mode=fan_out, nonlinearity=relu)"}


def _is_conv1d(m) -> bool:
    """Hugging Face's Conv1D: weight (in, out) with ``nf`` = out."""
    w = getattr(m, "weight", None)
    return (type(m).__name__ == "Conv1D" and isinstance(getattr(m, "nf", None), int)
            and isinstance(w, torch.Tensor) and w.dim() == 2 and w.shape[1] == m.nf)


def _skipped(m) -> bool:
    return isinstance(m, (nn.Embedding, nn.EmbeddingBag)) or is_norm(m)


def weighted_modules(model) -> list[tuple[str, object]]:
    """(name, module) of every module whose weight reinit re-draws, in registration order:
    a floating ``weight`` of 2 or more dims, or MultiheadAttention's packed in_proj; not an
    embedding or norm, nor a weight tied to one, nor a weight seen before."""
    taken = {id(m.weight) for m in model.modules()
             if _skipped(m) and isinstance(getattr(m, "weight", None), torch.Tensor)}
    out = []
    for name, m in model.named_modules():
        w = getattr(m, "weight", None)
        if isinstance(m, nn.MultiheadAttention):
            out.append((name, m))
        elif (isinstance(w, torch.Tensor) and w.is_floating_point() and w.dim() >= 2
              and not _skipped(m) and id(w) not in taken):
            taken.add(id(w))
            out.append((name, m))
    return out


def _draw(m, draw, rng, scale: float = 1.0) -> None:
    """Draw ``m``'s weight(s) at the layout its forward computes with."""
    if isinstance(m, nn.MultiheadAttention):
        params = ([m.in_proj_weight] if m.in_proj_weight is not None else
                  [m.q_proj_weight, m.k_proj_weight, m.v_proj_weight])
        for p in params:
            rows = p.shape[0] // 3 if p is m.in_proj_weight else p.shape[0]
            parts = [draw((rows, p.shape[1]), rng) for _ in range(p.shape[0] // rows)]
            p.copy_(torch.from_numpy(np.concatenate(parts) * scale))
        return
    if _is_conv1d(m):
        m.weight.copy_(torch.from_numpy(draw(tuple(m.weight.shape[::-1]), rng).T * scale))
        return
    m.weight.copy_(torch.from_numpy(draw(tuple(m.weight.shape), rng) * scale))


def _biases(m):
    if isinstance(m, nn.MultiheadAttention):
        return [b for b in (m.in_proj_bias,) if isinstance(b, torch.Tensor)]
    b = getattr(m, "bias", None)
    return [b] if isinstance(b, torch.Tensor) else []


def branch_ends(model, example_input) -> list[str]:
    """Names of the modules with parameters that end a residual branch, in call order (from
    one inspection: the producer of each residual add's branch operand)."""
    result = inspect(model, example_input)
    return list(dict.fromkeys(b.branch_end for b in result.blocks if b.branch_end is not None))


@torch.no_grad()
def reinit(model, init: str = "he", example_input=None, bias: str | None = "zeros",
           seed: int = 0, tol: float = 0.1, max_tries: int = 10):
    """Re-initialize ``model``'s weights in place and return the model.

    Args:
        model: a ``torch.nn.Module``.
        init: an initlab spec (``he``, ``xavier``, ``orthogonal(gain=1.41)``,
            ``kaiming_uniform(mode=fan_out, nonlinearity=relu)``, ...), ``"lsuv"``, or a
            recipe: ``"gpt2"``, ``"resnet"`` (see the module docstring).
        example_input: (N, ...) tensor, tuple or dict of tensors; needed by ``"lsuv"`` and the
            recipes.
        bias: an initlab spec for the biases (drawn at shape (out,)), or None to keep them.
        seed: seeds the NumPy generator that draws every weight, module after module.
        tol, max_tries: LSUV's stopping rule.
    """
    if not isinstance(model, nn.Module):
        raise InitlabError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(init, str):
        raise InitlabError(f"init must be an initlab spec string, 'lsuv' or a recipe "
                           f"({', '.join(RECIPES)}), got {init!r}")
    key = init.strip().lower()
    if (key == "lsuv" or key in RECIPES) and example_input is None:
        raise InitlabError(f"reinit(..., {init!r}) needs example_input: "
                           + ("LSUV scales each layer on a batch of data" if key == "lsuv" else
                              "the recipe finds the residual branches by running the model"))
    draw = get_initializer("orthogonal" if key == "lsuv" else RECIPES.get(key, init))
    bias_init = None if bias is None else get_initializer(bias)
    modules = weighted_modules(model)
    if not modules:
        raise InitlabError("the model has no module with a weight of 2 or more dimensions to "
                           "re-initialize")
    ends = branch_ends(model, example_input) if key in RECIPES else []
    keep = {name: 1 / math.sqrt(len(ends)) for name in ends} if key == "gpt2" else {}
    rng = np.random.default_rng(seed)
    for name, m in modules:
        _draw(m, draw, rng, keep.get(name, 1.0))
        for b in _biases(m) if bias_init is not None else []:
            b.copy_(torch.from_numpy(bias_init(tuple(b.shape), rng)))
    if key == "resnet":
        _zero_branch_ends(model, ends)
    if key == "lsuv":
        _lsuv(model, [m for _, m in modules if isinstance(getattr(m, "weight", None),
                                                            torch.Tensor)],
              example_input, tol, max_tries)
    return model


def _zero_branch_ends(model, ends) -> None:
    """The last layer of each residual branch to zero: a norm's scale, else the weight."""
    modules = dict(model.named_modules())
    for name in ends:
        m = modules.get(name)
        if m is not None and isinstance(getattr(m, "weight", None), torch.Tensor):
            m.weight.zero_()


def _lsuv(model, modules, example_input, tol, max_tries) -> None:
    if isinstance(tol, bool) or not isinstance(tol, numbers.Real) or not 0 < tol < np.inf:
        raise InitlabError(f"tol must be a finite number > 0, got {tol!r}")
    check_positive_int(max_tries, "max_tries")
    args, kwargs = as_inputs(example_input)
    buffers = {n: b.clone() for n, b in model.named_buffers()}
    seen: dict = {}

    def hook(module, args, output):
        y = first_tensor(output)
        if y is not None and module not in seen:
            seen[module] = float(y.double().var())

    handles = [m.register_forward_hook(hook) for m in modules]
    try:
        with torch.random.fork_rng(devices=[]):
            for m in modules:
                for _ in range(max_tries + 1):
                    seen.clear()
                    torch.manual_seed(0)
                    model(*args, **kwargs)
                    var = seen.get(m)
                    if var is None or not np.isfinite(var) or var <= 0 or abs(var - 1) < tol:
                        break
                    m.weight.div_(var ** 0.5)
    except RuntimeError as exc:
        raise InitlabError(f"the model fails on the example input: "
                           f"{' '.join(str(exc).split())}") from None
    finally:
        for h in handles:
            h.remove()
        for n, b in model.named_buffers():
            b.copy_(buffers[n])
