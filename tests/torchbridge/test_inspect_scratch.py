"""inspect overwrites a gradient it has read only where no other tensor shares its memory."""

import pytest

torch = pytest.importorskip("torch", reason="PyTorch is an optional extra (pip install torch)")

from initlab.torchbridge import inspect  # noqa: E402


class Shift(torch.nn.Module):
    """x + W: autograd hands the same gradient tensor to every Shift of a chain."""

    def __init__(self, shape):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.randn(*shape))

    def forward(self, x):
        return x + self.weight


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_a_gradient_shared_by_two_weights_is_read_intact_for_both(optimizer):
    torch.manual_seed(0)
    model = torch.nn.Sequential(Shift((4, 8)), Shift((4, 8)), torch.nn.Linear(8, 8))
    x, p = torch.randn(4, 8), torch.randn(4, 8)
    loss = lambda y: (y * p).sum()  # noqa: E731
    weights = [model[0].weight, model[1].weight, model[2].weight]
    grads = torch.autograd.grad(loss(model(x)), weights)
    assert grads[0] is grads[1]  # the case under test: one tensor, two weights
    rows = inspect(model, x, loss=loss, optimizer=optimizer, lr=1e-3).layers
    for row, w, g in zip(rows, weights, grads, strict=True):
        step = g / (g.abs() + 1e-8) if optimizer == "adam" else g
        w_norm = float(torch.linalg.vector_norm(w.detach()))
        assert row.weight_grad_std == pytest.approx(float(g.std()), rel=1e-5)
        assert row.grad_weight_ratio == pytest.approx(float(g.norm()) / w_norm, rel=1e-5)
        assert row.update_ratio == pytest.approx(1e-3 * float(step.norm()) / w_norm, rel=1e-5)
