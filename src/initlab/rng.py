"""Random generators: one explicit stream per use, never NumPy's global state.

``as_rng`` accepts a ``numpy.random.Generator`` or a legacy ``numpy.random.RandomState`` as is
(the legacy one reproduces published ``np.random.seed(3); randn(...)`` numbers bit for bit) and
seeds a new ``default_rng`` from an int. ``replica_rngs`` gives every replica of a model its own
independent stream.

>>> [float(round(r.standard_normal(), 3)) for r in replica_rngs(0, 2)]
[1.444, 0.805]
"""

from __future__ import annotations

import copy
import numbers

import numpy as np

from initlab.errors import InitlabError

Rng = np.random.Generator | np.random.RandomState


def as_rng(rng) -> Rng:
    """Accept a Generator or RandomState as is; an int seeds a new ``default_rng``."""
    if isinstance(rng, (np.random.Generator, np.random.RandomState)):
        return rng
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool):
        return np.random.default_rng(int(rng))
    raise InitlabError(
        f"rng must be a numpy.random.Generator, a numpy.random.RandomState or an int seed, "
        f"got {rng!r}"
    )


def replica_rngs(seed, replicas: int) -> list:
    """One independent random stream per replica.

    ``seed`` may be an int (replica r gets ``default_rng(SeedSequence(seed).spawn(R)[r])``, i.e.
    the child with spawn key ``(r,)``, the same whatever R is), a list of R ints, SeedSequences,
    Generators or RandomStates (replica r uses entry r), or one Generator (spawned into R) or
    RandomState (R = 1 only). Generators and RandomStates are deep-copied: each replica's stream
    starts at the object's current state and the caller's object is not advanced, so
    ``[np.random.RandomState(3)] * 3`` gives three replicas that each draw from seed 3.
    """
    if isinstance(seed, bool):
        raise InitlabError(f"seed must be an int, a list of seeds or a generator, got {seed}")
    if isinstance(seed, numbers.Integral):
        if seed < 0:
            raise InitlabError(f"seed must be >= 0, got {seed}")
        return [np.random.default_rng(s) for s in np.random.SeedSequence(int(seed)).spawn(replicas)]
    if isinstance(seed, np.random.Generator):
        return [copy.deepcopy(seed)] if replicas == 1 else list(seed.spawn(replicas))
    if isinstance(seed, np.random.RandomState):
        if replicas != 1:
            raise InitlabError(f"one RandomState cannot seed {replicas} replicas; pass a list")
        return [copy.deepcopy(seed)]
    if isinstance(seed, (list, tuple)):
        if len(seed) != replicas:
            raise InitlabError(f"got {len(seed)} seeds for {replicas} replicas")
        return [_one_rng(s) for s in seed]
    raise InitlabError(
        f"seed must be an int, a list of seeds or a random generator, got {seed!r}")


def _one_rng(seed):
    if isinstance(seed, (np.random.Generator, np.random.RandomState)):
        return copy.deepcopy(seed)
    if isinstance(seed, np.random.SeedSequence):
        return np.random.default_rng(seed)
    if isinstance(seed, numbers.Integral) and not isinstance(seed, bool) and seed >= 0:
        return np.random.default_rng(int(seed))
    raise InitlabError(
        f"each replica seed must be an int >= 0, a SeedSequence, a Generator or a RandomState, "
        f"got {seed!r}")
