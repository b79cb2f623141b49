"""Keras 3's initializer tests, ported to initlab through ``ported_shim``.

Sources: keras-team/keras, keras/src/initializers/random_initializers_test.py and
constant_initializers_test.py (Keras 3). Shapes are Keras' (in, out) kernels; assertions and
tolerances are theirs. A Keras config is an initlab spec string plus the seed. Tests of Keras
features initlab does not have are skipped with the reason; error messages are initlab's
wording, checked for the argument they name.
"""

import numpy as np
import pytest
from ported_shim import initializers


def _serialization_round_trip(initializer):
    """Keras' run_class_serialization_test: the config rebuilds an equal initializer."""
    config = initializer.get_config()
    clone = type(initializer).from_config(config)
    assert clone.get_config() == config
    if config["seed"] is not None:
        np.testing.assert_allclose(clone((4, 3)), initializer((4, 3)))


# ----------------------------------------------------------------------------- random
def test_random_normal():
    shape, mean, stddev, seed = (25, 20), 0.0, 1.0, 1234
    initializer = initializers.RandomNormal(mean=mean, stddev=stddev, seed=seed)
    values = initializer(shape=shape)
    assert initializer.mean == mean and initializer.stddev == stddev
    assert initializer.seed == seed
    assert values.shape == shape
    np.testing.assert_allclose(np.std(values), stddev, atol=1e-1)
    _serialization_round_trip(initializer)

    # a fixed seed yields the same results each call
    initializer = initializers.RandomNormal(mean=mean, stddev=stddev, seed=1337)
    np.testing.assert_allclose(initializer(shape=shape), initializer(shape=shape))

    # a seed generator yields different results each call
    initializer = initializers.RandomNormal(mean=mean, stddev=stddev,
                                            seed=np.random.default_rng(1337))
    assert not np.allclose(initializer(shape=shape), initializer(shape=shape))

    # unseeded: different results after cloning
    initializer = initializers.RandomNormal(mean=mean, stddev=stddev, seed=None)
    values = initializer(shape=shape)
    cloned = initializers.RandomNormal.from_config(initializer.get_config())
    assert not np.allclose(values, cloned(shape=shape))

    # seeded: the same results after cloning
    initializer = initializers.RandomNormal(mean=mean, stddev=stddev, seed=1337)
    values = initializer(shape=shape)
    cloned = initializers.RandomNormal.from_config(initializer.get_config())
    np.testing.assert_allclose(values, cloned(shape=shape))


def test_random_uniform():
    shape, minval, maxval, seed = (5, 5), -1.0, 1.0, 1234
    initializer = initializers.RandomUniform(minval=minval, maxval=maxval, seed=seed)
    values = initializer(shape=shape)
    assert initializer.minval == minval and initializer.maxval == maxval
    assert initializer.seed == seed
    assert values.shape == shape
    assert np.min(values) >= minval and np.max(values) < maxval
    _serialization_round_trip(initializer)


def test_variance_scaling():
    shape, scale, seed = (25, 20), 2.0, 1234
    initializer = initializers.VarianceScaling(scale=scale, seed=seed, mode="fan_in")
    values = initializer(shape=shape)
    assert initializer.scale == scale and initializer.seed == seed
    assert values.shape == shape
    np.testing.assert_allclose(np.std(values), np.sqrt(scale / 25), atol=1e-1)
    _serialization_round_trip(initializer)

    initializer = initializers.VarianceScaling(scale=scale, seed=seed, mode="fan_out")
    values = initializer(shape=shape)
    assert initializer.scale == scale and initializer.seed == seed
    assert values.shape == shape
    np.testing.assert_allclose(np.std(values), np.sqrt(scale / 20), atol=1e-1)
    _serialization_round_trip(initializer)


def test_orthogonal_initializer():
    shape, gain, seed = (5, 5), 2.0, 1234
    initializer = initializers.OrthogonalInitializer(gain=gain, seed=seed)
    values = initializer(shape=shape)
    assert initializer.seed == seed and initializer.gain == gain
    assert values.shape == shape
    for column in values.T:  # columns of norm gain
        assert np.linalg.norm(column) == pytest.approx(gain * 1.0, abs=1e-6)
    for i in range(values.shape[-1]):  # and orthogonal to each other
        for j in range(i + 1, values.shape[-1]):
            assert np.dot(values[..., i], values[..., j]) == pytest.approx(0.0, abs=1e-6)
    _serialization_round_trip(initializer)
    assert initializers.get("Orthogonal").name == "orthogonal"  # the legacy class name


def test_get_method():
    assert initializers.get("glorot_normal")
    assert initializers.get(None) is None
    with pytest.raises(ValueError):
        initializers.get("typo")


def test_get_method_with_tensor():
    pytest.skip("initlab's initializers are formulas; an array standing for an initializer "
                "(keras.initializers.get(tensor)) has no counterpart")


def test_variance_scaling_invalid_scale():
    with pytest.raises(ValueError, match="scale must be a number in"):
        initializers.VarianceScaling(scale=-1.0, seed=1234, mode="fan_in")


def test_variance_scaling_invalid_mode():
    with pytest.raises(ValueError, match="unknown mode 'invalid_mode'"):
        initializers.VarianceScaling(scale=2.0, seed=1234, mode="invalid_mode")


def test_variance_scaling_invalid_distribution():
    with pytest.raises(ValueError, match="unknown distribution 'invalid_dist'"):
        initializers.VarianceScaling(scale=2.0, seed=1234, mode="fan_in",
                                     distribution="invalid_dist")


def test_serialization_with_seed_generator():
    for cls in (initializers.OrthogonalInitializer, initializers.VarianceScaling,
                initializers.RandomUniform, initializers.RandomNormal):
        _serialization_round_trip(cls(seed=np.random.default_rng()))


# ----------------------------------------------------------------------------- constant
def test_zeros_initializer():
    values = initializers.Zeros()(shape=(3, 3))
    assert values.shape == (3, 3)
    np.testing.assert_allclose(values, np.zeros((3, 3)))
    _serialization_round_trip(initializers.Zeros())


def test_ones_initializer():
    values = initializers.Ones()(shape=(3, 3))
    assert values.shape == (3, 3)
    np.testing.assert_allclose(values, np.ones((3, 3)))
    _serialization_round_trip(initializers.Ones())


def test_constant_initializer():
    initializer = initializers.Constant(value=6.0)
    values = initializer(shape=(3, 3))
    assert values.shape == (3, 3)
    np.testing.assert_allclose(values, np.full((3, 3), 6.0))
    _serialization_round_trip(initializer)


def test_constant_initializer_array_value():
    pytest.skip("initlab's constant takes one number; an array value is not an initializer "
                "formula (Keras copies the array)")


def test_identity_initializer():
    initializer = initializers.Identity(gain=2)
    values = initializer(shape=(3, 3))
    assert values.shape == (3, 3)
    np.testing.assert_allclose(values, np.eye(3, 3) * 2)
    _serialization_round_trip(initializer)


def test_stft_initializer():
    pytest.skip("initlab has no STFT initializer: it is a fixed signal-processing kernel, not "
                "a random weight initialization")
