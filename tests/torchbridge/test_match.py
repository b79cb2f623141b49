"""Known inits are recognised from the weights alone, on Linear and Conv2d."""

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="PyTorch is an optional extra (pip install torch)")
nn = torch.nn

from initlab.torchbridge import match_init, reinit  # noqa: E402
from initlab.torchbridge.match import TORCH_DEFAULT  # noqa: E402

INITS = [
    (lambda w: None, TORCH_DEFAULT),  # the module's own reset_parameters
    (lambda w: nn.init.kaiming_normal_(w, nonlinearity="relu"), "he"),
    (lambda w: nn.init.xavier_uniform_(w), "xavier_uniform"),
    (lambda w: nn.init.xavier_normal_(w), "xavier_normal"),
    (lambda w: nn.init.kaiming_uniform_(w, nonlinearity="relu"),
     "kaiming_uniform(nonlinearity=relu)"),
    (lambda w: nn.init.orthogonal_(w), "orthogonal"),
    (lambda w: nn.init.orthogonal_(w, gain=math.sqrt(2)), "orthogonal(gain=1.414)"),
    (lambda w: nn.init.zeros_(w), "zeros"),
    (lambda w: nn.init.constant_(w, 0.5), "constant(0.5)"),
]


@pytest.mark.parametrize("make", [lambda: nn.Linear(256, 128),
                                  lambda: nn.Conv2d(16, 32, 3)], ids=["Linear", "Conv2d"])
@pytest.mark.parametrize("init, name", INITS, ids=[n for _, n in INITS])
def test_known_inits_are_recognised(make, init, name):
    torch.manual_seed(0)
    m = make()
    with torch.no_grad():
        init(m.weight)
    assert match_init(m.weight) == name


def test_special_and_unknown_laws():
    torch.manual_seed(0)
    assert match_init(nn.init.eye_(torch.empty(8, 8))) == "eye"
    assert match_init(nn.init.dirac_(torch.empty(4, 4, 3, 3))) == "dirac"
    assert match_init(nn.init.trunc_normal_(torch.empty(128, 256), std=0.02)) == \
        "normal(std=0.02)"
    assert match_init(torch.randn(128, 256).exp()) == "unknown"  # log-normal: no known law
    assert match_init(torch.randn(4, 5)) == "unknown"  # too few values to tell
    assert match_init(torch.randn(10)) == "unknown"  # no fans


def test_initlab_specs_drawn_by_reinit_are_recognised():
    for spec, name in [("he", "he"), ("xavier_uniform", "xavier_uniform"),
                       ("lecun_normal", "lecun_normal"), ("orthogonal", "orthogonal")]:
        m = reinit(nn.Sequential(nn.Linear(300, 200)), spec)
        assert match_init(m[0].weight) == name


@pytest.mark.parametrize("n", [200, 5000])
def test_ks_p_value_equals_scipy(n):
    from scipy import stats

    from initlab.torchbridge.match import _fits

    values = np.sort(np.random.default_rng(n).normal(0, 1.02, n))
    ours = _fits(values, "normal", 1.0)
    theirs = stats.kstest(values, stats.norm(0, 1.0).cdf).pvalue
    assert ours == pytest.approx(theirs, rel=1e-9 if n < 1000 else 0.05)


@pytest.mark.parametrize("n", [5000, 50_000])
def test_bracket_decides_as_the_full_test(n):
    """The bounds of D at BRACKET order statistics keep a law only where the full KS test
    does: the same decision on both sides of the threshold (laws 0-6% off the sample's)."""
    from initlab.torchbridge.match import ALPHA, _fits, _passes

    values = np.sort(np.random.default_rng(n).normal(0, 1.0, n))
    decisions = []
    for scale in np.linspace(0.94, 1.06, 25):
        for dist in ("normal", "uniform"):
            full = _fits(values, dist, float(scale)) > ALPHA
            assert _passes(values, dist, float(scale)) == full, (dist, scale)
            decisions.append(full)
    assert any(decisions) and not all(decisions)
