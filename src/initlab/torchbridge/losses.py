"""The loss inspect differentiates, and the size of one optimizer step per weight.

A gradient means something only through a loss the model could be trained with. The sum of
squares of a LayerNorm output, for example, is a constant (the norm fixes it), so its gradient
is ~0 whatever the init. The losses (``loss=`` in the API, ``--loss`` on the command line):

- ``"ce"``: cross-entropy (mean over examples and positions) of the logits against labels
  drawn uniformly from the classes: the loss of a classifier or language model at the start of
  training, where its predictions carry no information about the labels. The logits are the
  output's ``logits`` (Hugging Face ``ModelOutput`` or a dict) or the output tensor, classes
  along its last dimension.
- ``"projection"``: a random linear read-out of hidden states, sum(y * P) / (N sqrt(D)) with P
  standard normal of y's shape (N examples of D values): dLoss/dy = P / (N sqrt(D)), the same
  for every y, so the backward pass is measured without the output's own scale feeding back.
- ``"sumsq"``: sum(y^2) / 2 over the floating outputs (dLoss/dy = y), the loss of initlab 1.x.
- ``"auto"`` (default): ``ce`` for a ``logits`` output or an output tensor of 2 dims
  (examples, classes), ``projection`` otherwise.

One optimizer step (``update_ratio``): ||W_new - W|| / ||W|| after the first step of
``torch.optim.SGD`` or ``torch.optim.Adam`` at their default hyperparameters, in closed form
(:func:`update_ratio`), so the model is untouched and nothing is copied.
"""

from __future__ import annotations

import math

from initlab.errors import InitlabError
from initlab.torchbridge.hooks import first_tensor, floating_tensors, torch

LOSSES = ("auto", "ce", "projection", "sumsq")
OPTIMIZERS = ("adam", "sgd")
ADAM_EPS = 1e-8  # torch.optim.Adam's default eps


def _logits(output):
    if isinstance(output, dict) and isinstance(output.get("logits"), torch.Tensor):
        return output["logits"]
    value = getattr(output, "logits", None)
    if isinstance(value, torch.Tensor):
        return value
    return output if isinstance(output, torch.Tensor) else None


def loss_kind(loss: str, output) -> str:
    """The loss ``"auto"`` stands for on this output (other names are returned unchanged)."""
    if loss != "auto":
        return loss
    logits = _logits(output)
    has_logits = logits is not None and logits is not output
    return "ce" if has_logits or (isinstance(output, torch.Tensor) and output.dim() == 2
                                  and output.is_floating_point()) else "projection"


def compute_loss(loss, output, seed: int):
    """(scalar loss tensor, name of the loss) of ``output``; ``loss``: a name or a callable."""
    if callable(loss):
        return loss(output), "callable"
    if loss not in LOSSES:
        raise InitlabError(f"loss must be one of {', '.join(LOSSES)} or a callable, got {loss!r}")
    kind = loss_kind(loss, output)
    gen = torch.Generator().manual_seed(seed)
    if kind == "sumsq":
        ts = floating_tensors(output)
        if not ts:
            raise InitlabError("the model's output holds no floating-point tensor to take a "
                               "loss of; pass loss=callable(output) -> scalar")
        return sum((t.float() ** 2).sum() / 2 for t in ts), kind
    if kind == "ce":
        logits = _logits(output)
        if logits is None or not logits.is_floating_point() or logits.dim() < 1:
            raise InitlabError("loss 'ce' needs logits (an output tensor or an output's "
                               "'logits'); use loss 'projection' for hidden states")
        flat = logits.float().reshape(-1, logits.shape[-1])
        labels = torch.randint(0, logits.shape[-1], (flat.shape[0],), generator=gen)
        return torch.nn.functional.cross_entropy(flat, labels.to(flat.device)), kind
    y = first_tensor(output)
    if y is None:
        raise InitlabError("the model's output holds no floating-point tensor to take a loss "
                           "of; pass loss=callable(output) -> scalar")
    p = torch.randn(y.shape, generator=gen).to(device=y.device)
    n = y.shape[0] if y.dim() else 1
    return (y.float() * p).sum() / (n * math.sqrt(max(y.numel() // n, 1))), kind


def update_ratio(weight, grad, optimizer: str, lr: float, scratch=None,
                 norms=(None, None)) -> float | None:
    """||delta W|| / ||W|| after one step of ``torch.optim`` SGD or Adam (default
    hyperparameters, from zero state); None when ||W|| = 0 (the ratio is infinite, e.g. a
    zero-initialized layer).

    In closed form, as the first step of each is: SGD, delta W = -lr g; Adam (Kingma & Ba
    2015, Algorithm 1, with torch's eps = 1e-8 added to sqrt(v_hat)): m_hat = g, v_hat = g^2 after
    bias correction, so delta W = -lr g / (|g| + eps), elementwise. The tests check both
    against a step of torch's own optimizers.

    ``scratch``: a tensor of the gradient's shape, dtype and layout that may be written, given
    only where ``grad`` is the caller's own (it is then overwritten by its absolute value): the
    same operations in the same order, so the same number, without three temporaries of the
    weight's size (a GPT-2's tied embedding: 150 MB each). ``norms``: (||W||, ||g||) where the
    caller already took them (``torch.linalg.vector_norm`` of the same tensors), not read again.
    """
    with torch.no_grad():
        norm, gnorm = norms
        norm = float(torch.linalg.vector_norm(weight.detach())) if norm is None else norm
        if norm == 0 or grad is None:
            return None
        g = grad.detach()
        if optimizer == "sgd":
            gnorm = float(torch.linalg.vector_norm(g)) if gnorm is None else gnorm
            return lr * gnorm / norm
        if scratch is None:
            a = g.abs()
            return lr * float(torch.linalg.vector_norm(a / (a + ADAM_EPS))) / norm
        a = g.abs_()
        torch.add(a, ADAM_EPS, out=scratch)
        return lr * float(torch.linalg.vector_norm(torch.div(a, scratch, out=scratch))) / norm


def check_optimizer(optimizer: str, lr) -> None:
    if optimizer not in OPTIMIZERS:
        raise InitlabError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {optimizer!r}")
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not 0 < lr < math.inf:
        raise InitlabError(f"lr must be a finite number > 0, got {lr!r}")
