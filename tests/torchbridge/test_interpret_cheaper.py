"""The interpreter's cheaper computations against the exact ones they replace (issue 32's cost
goal): x^2 in closed form against the quadrature, the grid's axes and its accuracy on a
transformer's span, the product Gauss-Hermite correlation map against the split rule, the
kept token-axis probes against fresh ones, float32 bilinear maps against float64, and the
rules computed once for two equal examples."""

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="PyTorch is an optional extra (pip install torch)")
F = torch.nn.functional

from initlab.torchbridge import interpret_tokens as tokens  # noqa: E402
from initlab.torchbridge.interpret import STAT_ATTR, Stat, stat_of  # noqa: E402
from initlab.torchbridge.interpret_common import map_stats, once_for_twins  # noqa: E402

D = torch.float64


def _stat(n=300, seed=0, tok=None):
    gen = torch.Generator().manual_seed(seed)
    mu = 0.7 * torch.randn(n, generator=gen, dtype=D)
    var = 0.05 + torch.rand(n, generator=gen, dtype=D)
    return Stat(mu, var, gauss=True, tok=tok)


def test_square_in_closed_form_equals_the_quadrature():
    """E[x^2], Var[x^2] of N(mu, s2) in closed form against 32-point Gauss-Hermite (exact
    for polynomials of degree < 64), entry by entry."""
    from initlab.torchbridge.interpret_elementwise import _square
    from initlab.torchbridge.interpret_gauss import unary

    s = _stat()
    closed, quad = _square(s), unary(lambda t: t * t, s, smooth=True)
    torch.testing.assert_close(closed.mu, quad.mu, rtol=1e-10, atol=0)
    torch.testing.assert_close(closed.var, quad.var, rtol=1e-9, atol=1e-12)


def test_square_token_map_equals_the_correlation_map_of_the_quadrature():
    from initlab.torchbridge.interpret_elementwise import _square
    from initlab.torchbridge.interpret_gauss import unary

    idx = torch.arange(6, dtype=D)
    R = 0.8 ** (idx[:, None] - idx[None, :]).abs()  # an AR(1) correlation between positions
    gen = torch.Generator().manual_seed(1)
    s = Stat(0.5 + 0.1 * torch.randn(6, 40, generator=gen, dtype=D),
             torch.full((6, 40), 0.3, dtype=D), gauss=True, tok=(-2, R))
    closed, quad = _square(s).tok[1], unary(lambda t: t * t, s, smooth=True).tok[1]
    torch.testing.assert_close(closed, quad, rtol=0, atol=2e-3)  # quad: a 21-point grid
    assert float((closed - R).abs().max()) > 0.05  # the square's map is not the identity


def test_grid_has_65_points_on_its_longer_side_and_half_the_spacing_on_the_shorter():
    from initlab.torchbridge.interpret_gauss import _grid_axes

    gm, gs = _grid_axes((-1.0, 1.0), (0.2, 0.3))
    assert gm.size == 65 and gs.size == 8
    assert gs[1] - gs[0] <= (gm[1] - gm[0]) / 2
    gm, gs = _grid_axes((0.1, 0.1), (0.0, 2.0))
    assert gs.size == 65 and gm.size == 2
    gm, gs = _grid_axes((0.0, 0.0), (1.0, 1.0))
    assert gm.size == gs.size == 65


@pytest.mark.parametrize("fn", [F.gelu, F.silu, torch.tanh])
def test_grid_on_a_transformers_span_stays_close_to_the_quadrature(fn):
    """The span of GPT-2's MLP pre-activations (means over ten times the stds' spread): each
    entry's mean within 0.2% of the direct quadrature (relative to the typical std), its std
    within 1%, the pooled second moment within 0.05%."""
    from initlab.torchbridge import interpret_gauss as gauss

    gen = torch.Generator().manual_seed(0)
    mu = 2 * torch.rand(20000, generator=gen, dtype=D) - 1
    var = (0.17 + 0.11 * torch.rand(20000, generator=gen, dtype=D)) ** 2
    mean, out_var = gauss._quadrature(fn, mu, var, True)
    dmean, dvar = gauss._quadrature(fn, mu[:4000], var[:4000], True)
    second, dsecond = out_var + mean ** 2, dvar + dmean ** 2
    std, dstd = out_var[:4000].sqrt(), dvar.sqrt()
    assert float((mean[:4000] - dmean).abs().max()) < 2e-3 * float(dstd.mean())
    assert float(((std - dstd) / dstd).abs().max()) < 0.01
    assert float(second[:4000].mean() / dsecond.mean()) == pytest.approx(1, abs=5e-4)


@pytest.mark.parametrize("fn", [F.gelu, F.silu, torch.tanh])
@pytest.mark.parametrize("q", [0.05, 0.5, 1.0])
@pytest.mark.parametrize("m", [0.0, 0.6])
def test_hermite_correlation_map_agrees_with_the_split_rule(fn, q, m):
    from initlab.theory.gaussian import bivariate_expectation

    def f(u):
        return fn(torch.from_numpy(np.asarray(m + u, dtype=float))).to(D).numpy()

    mean = bivariate_expectation(f, lambda u: np.ones_like(u), q, q, 1.0, n=32)
    split = bivariate_expectation(f, f, q, q, tokens._GRID, n=32) - mean * mean
    hermite = tokens._hermite_map(f, q)
    np.testing.assert_allclose(hermite / hermite[-1], split / split[-1], rtol=0, atol=1e-4)


def _carried(func, args, R):
    x = args[0]
    setattr(x, STAT_ATTR, Stat(torch.zeros(x.shape, dtype=D), torch.ones(x.shape, dtype=D),
                               tok=(-2, R)))
    return tokens.carry(func, args, {}, map_stats, stat_of, 1)[0]


@pytest.mark.parametrize("call", [
    lambda x: (torch.Tensor.transpose, (x, 1, 2)),
    lambda x: (torch.Tensor.flip, (x, [1])),
    lambda x: (torch.Tensor.__getitem__, (x, (slice(None), slice(2, 6)))),
    lambda x: (torch.Tensor.reshape, (x, (2, 4, 2, 4))),
])
def test_kept_token_axis_probes_give_what_fresh_probes_give(call):
    """The second call of the same shape reads the kept probes with its own R: equal to the
    probes made afresh for that R."""
    idx = torch.arange(8, dtype=D)
    R1, R2 = 0.9 ** (idx[:, None] - idx[None, :]).abs(), 0.5 ** (idx[:, None] - idx[None, :]).abs()
    tokens._LINES.clear()
    first = _carried(*call(torch.zeros(2, 8, 4)), R1)
    kept = _carried(*call(torch.zeros(2, 8, 4)), R2)
    tokens._LINES.clear()
    fresh = _carried(*call(torch.zeros(2, 8, 4)), R2)
    assert kept[0] == fresh[0] == first[0]
    torch.testing.assert_close(kept[1], fresh[1], rtol=0, atol=0)
    assert not torch.equal(first[1], kept[1])


def test_bilinear_maps_in_float32_agree_with_float64_and_fall_back_where_it_overflows():
    from initlab.torchbridge.interpret_linear import _in_float32

    gen = torch.Generator().manual_seed(0)
    x, w = torch.randn(64, 256, generator=gen, dtype=D), torch.randn(256, 96, generator=gen,
                                                                       dtype=D)
    torch.testing.assert_close(_in_float32(torch.matmul, x * x, w * w), (x * x) @ (w * w),
                               rtol=1e-5, atol=0)
    big = x * 1e20  # squares beyond float32's range
    got = _in_float32(torch.matmul, big * big, w * w)
    assert got.dtype == D and bool(torch.isfinite(got).all())
    torch.testing.assert_close(got, (big * big) @ (w * w), rtol=1e-12, atol=0)


def test_a_rule_computed_once_for_two_equal_examples_gives_both():
    a = torch.randn(1, 3, 5, dtype=D)
    twins = torch.cat([a, a])
    calls = []

    def fn(t):
        calls.append(t.shape[0])
        return t * 2, t + 1

    out = once_for_twins(fn, twins)
    assert calls == [1]
    torch.testing.assert_close(out[0], twins * 2)
    torch.testing.assert_close(out[1], twins + 1)
    other = torch.cat([a, a + 1])
    out = once_for_twins(fn, other)
    assert calls == [1, 2]
    torch.testing.assert_close(out[0], other * 2)


def test_the_smooth_activation_modules_are_transformers_own_classes():
    """Every class name the interpreter integrates by Gauss-Hermite is one of
    ``transformers.activations``'s (those with a kink, ClippedGELU, ReLUSquared, are not)."""
    from arch_panel import transformers  # skips without transformers, hides a broken torchvision

    from initlab.torchbridge.interpret_hooks import _SMOOTH_MODULES

    activations = transformers().activations
    for name in _SMOOTH_MODULES:
        assert isinstance(getattr(activations, name, None), type), name
    assert not {"ClippedGELUActivation", "ReLUSquaredActivation"} & _SMOOTH_MODULES


@pytest.mark.parametrize("name", ["rsqrt", "sqrt", "reciprocal", "log"])
def test_closed_form_derivatives_of_the_delta_method_equal_autograds(name):
    from initlab.torchbridge.interpret_elementwise import _DERIVATIVES

    x = (0.5 + torch.rand(50, dtype=D)).requires_grad_(True)
    y = getattr(torch, name)(x)
    (d1,) = torch.autograd.grad(y.sum(), x, create_graph=True)
    (d2,) = torch.autograd.grad(d1.sum(), x)
    closed = _DERIVATIVES[name](x.detach())
    for got, want in zip(closed, (y, d1, d2), strict=True):
        torch.testing.assert_close(got, want.detach(), rtol=1e-12, atol=0)


def _windows(n=60, k=9, seed=0):
    """Max pooling windows: interior ones (equal entries), border ones (distinct, some padded),
    and some with a narrow entry beside wide ones (the density's sharpest case)."""
    gen = torch.Generator().manual_seed(seed)
    m = 0.5 * torch.randn(n, k, generator=gen, dtype=D)
    sd = 0.1 + 1.5 * torch.rand(n, k, generator=gen, dtype=D)
    m[: n // 3], sd[: n // 3] = m[: n // 3, :1], sd[: n // 3, :1]
    valid = torch.rand(n, k, generator=gen) > 0.2
    valid[:, k // 2] = True
    return m, sd, valid


@pytest.mark.parametrize("fn", [None, torch.relu, torch.tanh, F.relu6])
def test_max_density_rule_against_a_fine_sum_over_the_cdf(fn):
    """E[fn(max)], Var[fn(max)] by Gauss-Legendre on the max's density against the sum over
    the CDF's steps on 8000 points (its error falls as 1 / points^2: up to 1.4e-6 here), and
    closer to it than the 160-point sum the density rule replaced (up to 5e-3 off here)."""
    from initlab.torchbridge.interpret_layers import _max_moments, _max_moments_steps

    m, sd, valid = _windows()
    ref = _max_moments_steps(m, sd, valid, fn, points=8000)
    new, old = _max_moments(m, sd, valid, fn), _max_moments_steps(m, sd, valid, fn)

    def errors(a):
        std = (ref[1] - ref[0] ** 2).sqrt()
        return ((a[0] - ref[0]).abs() / ref[1].sqrt()).max(), \
            ((a[1] - a[0] ** 2).sqrt() / std - 1).abs().max()

    for e_new, e_old in zip(errors(new), errors(old), strict=True):
        assert e_new < 2e-5 and e_new < max(e_old / 20, 1e-9)  # (the old mean of x: exact)


def test_max_density_rule_against_monte_carlo():
    """relu(max) of 3x3 windows shaped as a conv net's (means near 0, stds 0.5 to 1.5)
    against 400k draws: within 4 Monte Carlo noises of the std."""
    from initlab.torchbridge.interpret_layers import _max_moments

    gen = torch.Generator().manual_seed(1)
    m = 0.3 * torch.randn(8, 9, generator=gen, dtype=D)
    sd = 0.5 + torch.rand(8, 9, generator=gen, dtype=D)
    valid = torch.ones(8, 9, dtype=torch.bool)
    valid[:2, :3] = False
    mean, second = _max_moments(m, sd, valid, torch.relu)
    x = m[:, None] + sd[:, None] * torch.randn(8, 400_000, 9, generator=gen, dtype=D)
    x = x.masked_fill(~valid[:, None], -torch.inf).amax(-1).relu()
    noise = 1 / np.sqrt(2 * 400_000)
    torch.testing.assert_close(mean, x.mean(1), rtol=4 * noise, atol=0)
    torch.testing.assert_close((second - mean ** 2).sqrt(), x.std(1), rtol=4 * noise, atol=0)


def test_max_of_a_window_with_a_constant_entry_sums_over_the_cdf_steps():
    """An entry of zero variance makes the max's CDF jump (no density): such windows keep the
    sum over the CDF's steps, the others the density rule (the max of two N(0, 1) has mean
    1 / sqrt(pi))."""
    from initlab.torchbridge.interpret_layers import _max_moments, _max_moments_steps

    m = torch.zeros(2, 2, dtype=D)
    sd = torch.tensor([[1.0, 0.0], [1.0, 1.0]], dtype=D)
    ok = torch.ones(2, 2, dtype=torch.bool)
    mean, second = _max_moments(m, sd, ok, None)
    steps = _max_moments_steps(m[:1], sd[:1], ok[:1], None)
    assert (mean[0], second[0]) == (steps[0][0], steps[1][0])
    assert mean[1].item() == pytest.approx(1 / np.sqrt(np.pi), rel=1e-7)  # the rule's accuracy
    assert second[1].item() == pytest.approx(1.0, rel=1e-7)


def test_max_of_a_window_with_a_tiny_std_is_bounded_and_sums_over_the_cdf_steps():
    """An entry whose std is 1e-9 of the others' would cut the window's span into ~1e9
    pieces: such a window takes the step sum (bounded memory), the others the density rule."""
    from initlab.torchbridge import interpret_layers
    from initlab.torchbridge.interpret_layers import _max_moments, _max_moments_steps

    m = torch.zeros(2, 3, dtype=D)
    sd = torch.tensor([[1.0, 1e-9, 0.5], [1.0, 0.8, 0.5]], dtype=D)
    ok = torch.ones(2, 3, dtype=torch.bool)
    mean, second = _max_moments(m, sd, ok, torch.relu)
    steps = _max_moments_steps(m[:1], sd[:1], ok[:1], torch.relu)
    assert (mean[0], second[0]) == (steps[0][0], steps[1][0])
    dense = _max_moments(m[1:], sd[1:], ok[1:], torch.relu)
    assert (mean[1], second[1]) == (dense[0][0], dense[1][0])
    assert interpret_layers._MAX_PIECES < 1e9


def _tiny_panel():
    from arch_panel import transformers  # skips without transformers, hides a broken torchvision

    from initlab.torchbridge.interpret_panel import panel

    transformers()

    return panel(width=64, depth=2, tokens=16, image=16, batch=4)


@pytest.mark.parametrize("name", ["gpt2", "llama", "vit", "resnet", "cnn"])
def test_linear_maps_carry_their_predicted_mean_as_output(monkeypatch, name):
    """Where a linear map, attention or a norm returns its predicted mean instead of
    running (interpret.MEAN_IS_OUTPUT), every row's predicted moments are those of the run in
    which every op runs: no rule reads a tracked tensor's value."""
    from initlab.torchbridge import interpret as interp

    build, inputs = _tiny_panel()[name]
    torch.manual_seed(0)
    model = build()
    seen = []
    linear = next(m for m in model.modules() if type(m).__name__ in ("Linear", "Conv1D",
                                                                        "Conv2d"))
    linear.register_forward_hook(lambda m, a, y: seen.append(
        torch.equal(y, getattr(y, interp.STAT_ATTR).mu.float())))
    carried = interp.interpret(model, inputs).calls
    monkeypatch.setattr(interp, "MEAN_IS_OUTPUT", frozenset())
    assert seen == [True] and carried == interp.interpret(model, inputs).calls


def test_every_prediction_makes_its_own_token_axis_probes(monkeypatch):
    """The probes of where a reshape moves the token axis are kept within one forward (its
    blocks repeat the same calls) and made again by the next: a second prediction costs what
    the first does."""
    from initlab.torchbridge.interpret import interpret

    build, inputs = _tiny_panel()["gpt2"]
    model, made = build(), []
    probe = tokens._probe_lines
    monkeypatch.setattr(tokens, "_probe_lines", lambda *a: made.append(1) or probe(*a))
    counts = []
    for _ in range(2):
        interpret(model, inputs)
        counts.append(len(made))
    assert 0 < counts[0] == counts[1] - counts[0]


class _InPlaceDropout(torch.nn.Module):
    """A dropout whose result is used through its input (inplace=True, return unused)."""

    def __init__(self):
        super().__init__()
        self.a, self.b = torch.nn.Linear(32, 32), torch.nn.Linear(32, 32)
        self.drop = torch.nn.Dropout(0.5, inplace=True)

    def forward(self, x):
        y = self.a(x)
        self.drop(y)
        return self.b(y)


def test_an_op_writing_in_place_runs(monkeypatch):
    """A call that writes its input (inplace=True, a trailing underscore) runs, whatever
    MEAN_IS_OUTPUT says: the layer after an in-place dropout sees its doubled second moment."""
    from initlab.torchbridge import interpret as interp

    torch.manual_seed(0)
    model, x = _InPlaceDropout().train(), torch.randn(64, 32)
    carried = interp.interpret(model, (x,)).calls
    monkeypatch.setattr(interp, "MEAN_IS_OUTPUT", frozenset())
    assert carried == interp.interpret(model, (x,)).calls
    model.drop.inplace = False  # now the dropped copy is unused: b sees y undropped
    assert interp.interpret(model, (x,)).calls[-1][1] != carried[-1][1]
