"""One source of truth for a law's moments: describe() == theory == the sample, for every
registered initializer on wide, tall and 4-D shapes."""

import math

import numpy as np
import pytest

from initlab.init import INITIALIZERS, describe, get_initializer
from initlab.theory import law_moments

WIDE, TALL, CONV = (40, 300), (300, 40), (48, 16, 3, 3)
#: Parameters that make each initializer non-trivial (a mean, a gain, a truncation that bites).
SPECS = {
    "constant": "constant(0.3)", "normal": "normal(0.5, mean=0.2)", "uniform": "uniform(-1, 3)",
    "trunc_normal": "trunc_normal(std=1, mean=0.5, a=0, b=1)", "orthogonal": "orthogonal(1.5)",
    "sparse": "sparse(sparsity=0.3, std=0.5)", "dirac": "dirac(groups=2)",
    "variance_scaling": "variance_scaling(2, fan_avg)", "kaiming_normal":
    "kaiming_normal(a=0.2, mode=FAN_OUT)", "lsuv": "lsuv(he)",
}
CASES = [(name, shape) for name in sorted(INITIALIZERS) for shape in (WIDE, TALL, CONV)
         if not (name in ("eye", "identity", "sparse") and len(shape) != 2)
         and not (name in ("dirac", "delta_orthogonal") and len(shape) == 2)]


def test_every_registered_initializer_is_covered():
    assert {name for name, _ in CASES} == set(INITIALIZERS)


@pytest.mark.parametrize("name, shape", CASES)
def test_described_std_equals_theory_and_the_sample(name, shape):
    spec = SPECS.get(name, name)
    info = describe(spec, shape)
    law = get_initializer(spec).law(shape)
    theory = law_moments(law, shape)
    if theory is not None:  # eye and dirac are not i.i.d. draws; theory leaves them out
        assert info["mean"] == theory[0] and info["std"] == math.sqrt(theory[1])
    if law.dist in ("normal", "uniform", "orthogonal"):  # there the formula's std is exact
        assert law.std == pytest.approx(info["std"], rel=1e-12)
    w = get_initializer(spec)(shape, np.random.default_rng(1))
    n = w.size
    mean, var = info["mean"], info["std"] ** 2
    assert abs(w.mean() - mean) <= 5 * math.sqrt(var / n) + 1e-12
    if name in ("orthogonal", "eye", "identity", "dirac", "delta_orthogonal") or var == 0:
        # deterministic mean square: Frobenius norm^2 = gain^2 min(rows, cols), or the ones
        assert np.mean(w**2) == pytest.approx(var + mean**2, rel=1e-10, abs=1e-15)
    else:
        # the sample variance of n draws has relative sd sqrt((kurtosis - 1) / n) <= 3/sqrt(n)
        # for these laws (sparse's zeros make it heavier: allow 6 sd)
        assert w.var() == pytest.approx(var, rel=6 * 3 / math.sqrt(n))


def test_the_two_published_mismatches_are_gone():
    # a tall orthogonal matrix: columns orthonormal, entries of std 1/sqrt(rows) (not 1/sqrt(cols))
    assert describe("orthogonal", (64, 16))["std"] == pytest.approx(1 / 8)
    # Keras' truncated variance_scaling: sigma = sqrt(scale / n) / 0.8796, drawn std sqrt(scale/n)
    assert describe("variance_scaling(1, fan_in)", (10, 25))["std"] == pytest.approx(0.2, 1e-12)
    assert get_initializer("variance_scaling").law((10, 25)).std == pytest.approx(
        0.2 / 0.87962566103423978, rel=1e-12)
