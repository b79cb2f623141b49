"""``reinit``: re-draw a torch model's weights in place with initlab's initializers, or LSUV.

Every module with a floating-point ``weight`` of 2 or more dims (Linear, Conv*, ConvTranspose*;
not Embedding) gets a fresh weight from the initlab spec, drawn in NumPy at the weight's own
shape (out, in, *kernel), so fans, gains and stds mean exactly what ``torch.nn.init`` means by
them; biases are set by ``bias`` (zeros by default, as He et al. 2015 and Glorot & Bengio 2010
assume). Normalization layers are left alone.

"lsuv" (Mishkin & Matas 2015, "All you need is a good init"): orthogonal weights first, then,
module by module in the order the model calls them, divide the weight by the std of the
module's output on ``example_input`` until |Var - 1| < tol (at most ``max_tries`` times).
"""

from __future__ import annotations

import numbers

import numpy as np

from initlab.errors import InitlabError, check_positive_int
from initlab.init import get_initializer
from initlab.torchbridge.hooks import first_tensor, torch

nn = torch.nn


def weighted_modules(model) -> list[tuple[str, object]]:
    """(name, module) of every module whose weight reinit re-draws, in registration order."""
    out, seen = [], set()
    for name, m in model.named_modules():
        w = getattr(m, "weight", None)
        if (isinstance(w, torch.Tensor) and w.is_floating_point() and w.dim() >= 2
                and not isinstance(m, (nn.Embedding, nn.EmbeddingBag)) and id(m) not in seen):
            seen.add(id(m))
            out.append((name, m))
    return out


@torch.no_grad()
def reinit(model, init: str = "he", example_input=None, bias: str | None = "zeros",
           seed: int = 0, tol: float = 0.1, max_tries: int = 10):
    """Re-initialize ``model``'s weights in place and return the model.

    Args:
        model: a ``torch.nn.Module``.
        init: an initlab spec (``he``, ``xavier``, ``orthogonal(gain=1.41)``,
            ``kaiming_uniform(mode=fan_out, nonlinearity=relu)``, ...) or ``"lsuv"``.
        example_input: (N, ...) tensor or tuple of tensors; needed by ``"lsuv"`` only.
        bias: an initlab spec for the biases (drawn at shape (out,)), or None to keep them.
        seed: seeds the NumPy generator that draws every weight, module after module.
        tol, max_tries: LSUV's stopping rule.
    """
    if not isinstance(model, nn.Module):
        raise InitlabError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(init, str):
        raise InitlabError(f"init must be an initlab spec string or 'lsuv', got {init!r}")
    lsuv = init.strip().lower() == "lsuv"
    if lsuv and example_input is None:
        raise InitlabError("reinit(..., 'lsuv') needs example_input: LSUV scales each layer "
                           "on a batch of data")
    draw = get_initializer("orthogonal" if lsuv else init)
    bias_init = None if bias is None else get_initializer(bias)
    modules = weighted_modules(model)
    if not modules:
        raise InitlabError("the model has no module with a weight of 2 or more dimensions to "
                           "re-initialize")
    rng = np.random.default_rng(seed)
    for _, m in modules:
        m.weight.copy_(torch.from_numpy(draw(tuple(m.weight.shape), rng)))
        b = getattr(m, "bias", None)
        if bias_init is not None and isinstance(b, torch.Tensor):
            b.copy_(torch.from_numpy(bias_init(tuple(b.shape), rng)))
    if lsuv:
        _lsuv(model, [m for _, m in modules], example_input, tol, max_tries)
    return model


def _lsuv(model, modules, example_input, tol, max_tries) -> None:
    if isinstance(tol, bool) or not isinstance(tol, numbers.Real) or not 0 < tol < np.inf:
        raise InitlabError(f"tol must be a finite number > 0, got {tol!r}")
    check_positive_int(max_tries, "max_tries")
    inputs = example_input if isinstance(example_input, (tuple, list)) else (example_input,)
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
                    model(*inputs)
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
