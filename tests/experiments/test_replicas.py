"""One way to train a grid of replicas: where the processes' cuts fall changes no bit."""

import numpy as np
import pytest

from initlab.data import load_dataset
from initlab.experiments import replicas
from initlab.experiments.replicas import (
    Group,
    Recipe,
    Replicas,
    cut,
    processes,
    summarize_group,
    train_groups,
)


def test_several_models_are_tasks_whole_and_one_model_is_cut_in_equal_chunks():
    groups = [Group("he", range(3)), Group("lecun", range(3)),  # one model: same options
              Group("he", range(3), l2=0.1), Group("he", range(3), dropout=0.5)]
    for n in (1, 2, 5):
        assert [(p.start, len(p.seeds)) for p in cut(groups, n)] == [(0, 6), (6, 3), (9, 3)]
    pieces = cut(groups, 1)
    assert pieces[0].inits == ("he",) * 3 + ("lecun",) * 3 and pieces[2].group.dropout == 0.5
    one_model = groups[:2]  # compare's inits x seeds: chunks for the processes
    assert [(p.start, p.seeds) for p in cut(one_model, 4)] == [
        (0, (0,)), (1, (1, 2)), (3, (0,)), (4, (1, 2))]
    assert len(cut(one_model, 1)) == 1


def test_processes_one_for_short_runs_else_jobs_at_most_one_per_two_replicas(monkeypatch):
    limit = replicas.PROCESS_WORK
    assert processes(4, limit / 2, 100) == 1  # starting workers would cost more
    assert processes(4, limit, 100) == 4 and processes(4, limit, 5) == 2
    monkeypatch.setattr(replicas, "free_cores", lambda: 1)
    assert processes(None, limit, 100) == 1  # automatic: only the cores that are free
    monkeypatch.setattr(replicas, "free_cores", lambda: 8)
    assert processes(None, limit, 100) == replicas.AUTO_JOBS


@pytest.fixture(scope="module")
def grid():
    ds = load_dataset("digits", seed=0, train_size=120)
    # three models (he and lsuv share one), each a task of its own
    groups = [Group("he", range(5, 7), l2=0.01), Group("lsuv", range(5, 8), l2=0.01),
              Group("he", range(2), dropout=0.3, norm="batch"),
              Group("normal(0.5)", range(3, 6), legacy=True)]
    recipe = Recipe([64, 12, 10], "relu", "softmax", np.float32,
                    {"optimizer": "sgd", "lr": 0.1, "epochs": 3, "batch_size": 32,
                     "record_every": 2, "seed": 4}, curves="both",
                    model={"dropout_mode": "inverted"})
    return groups, recipe, (ds.X_train, ds.y_train, ds.X_test, ds.y_test)


def assert_same(a, b):
    for name in ("train", "test", "final_loss", "diverged", "loss", "train_curves",
                 "test_curves"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert (a.lsuv is None) == (b.lsuv is None)
    if a.lsuv is not None:
        assert a.lsuv.to_dict() == b.lsuv.to_dict()


def test_where_the_models_train_changes_no_bit(grid, monkeypatch):
    one = train_groups(*grid, keep_models=True)
    monkeypatch.setattr(replicas, "PROCESS_WORK", 0)  # a run this small would stay in-process
    three = train_groups(*grid, jobs=3, keep_models=True)
    assert (one.processes, three.processes) == (1, 3)
    assert one.iterations == three.iterations
    for g in range(len(grid[0])):
        assert_same(one.group(g), three.group(g))
    for a, b in zip(one.select([0, 4, 9]), three.select([0, 4, 9]), strict=True):
        assert all(np.array_equal(p.value, q.value)
                   for p, q in zip(a.flat_parameters(), b.flat_parameters(), strict=True))


def test_a_group_alone_trains_as_among_others(grid):
    groups, recipe, data = grid
    among = train_groups(groups, recipe, data)
    alone = train_groups([groups[1]], recipe, data)
    assert_same(alone.group(0), among.group(1))
    assert among.group(1).lsuv.replicas == [5, 6, 7]  # LSUV's columns named by seed
    assert among.group(0).lsuv is None


def test_group_summary_leaves_diverged_runs_out_of_the_loss():
    part = Replicas(train=np.array([1.0, 0.5, 0.75]), test=np.array([0.5, 0.5, 0.5]),
                    final_loss=np.array([0.2, np.nan, 0.4]),
                    diverged=np.array([False, True, False]), loss=np.zeros((3, 2)),
                    train_curves=None, test_curves=None)
    stats = summarize_group(part)
    assert stats["diverged"] == 1 and stats["final_loss"].mean == pytest.approx(0.3)
    assert stats["train_accuracy"].mean == 0.75 and stats["test_accuracy"].std == 0
