"""The final accuracies of a trained piece run under fit's BLAS rule
(:func:`initlab.train.blas_threads`): small products on one thread."""

import numpy as np
import pytest

from initlab import train
from initlab.experiments import replicas
from initlab.experiments.replicas import Group, Recipe, cut


def test_train_piece_evaluates_on_one_blas_thread(monkeypatch):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    monkeypatch.setattr(train, "usable_cores", lambda: 2)
    monkeypatch.setattr(train, "free_cores", lambda: 2)
    seen = []

    def counted(model, X, y):
        seen.append(max(i["num_threads"] for i in threadpoolctl.threadpool_info()
                        if i["user_api"] == "blas"))
        return train.accuracy(model, X, y)

    monkeypatch.setattr(replicas, "accuracy", counted)
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((40, 3)), rng.integers(0, 2, 40)
    recipe = Recipe([3, 8, 1], "relu", "sigmoid", np.float64,
                    {"iterations": 2, "record_every": 1, "seed": 0})
    piece = cut([Group("he", range(2))], 1)[0]
    with threadpoolctl.threadpool_limits(2, "blas"):
        if max(i["num_threads"] for i in threadpoolctl.threadpool_info()
               if i["user_api"] == "blas") < 2:
            pytest.skip("this BLAS runs on one thread only")
        replicas.train_piece(piece, recipe, (X, y, X, y), False, False)
    assert seen == [1, 1]  # train and test accuracy
