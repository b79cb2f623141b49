"""fit(): replicas are independent, what is recorded, divergence, schedules, bad input."""

import warnings

import numpy as np
import pytest

from initlab import train
from initlab.errors import InitlabError
from initlab.nn import mlp
from initlab.train import History, _batches, accuracy, evaluate, fit


def blobs(n=40, features=3, classes=2, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    X = rng.standard_normal((n, features)) + y[:, None] * 1.5
    return X, y


def assert_same_params(a, b, ra, rb=0):
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        np.testing.assert_allclose(pa.value[ra], pb.value[rb], rtol=1e-10, atol=1e-14)


CASES = {
    "full batch sgd": (dict(), dict(optimizer="sgd", lr=0.1, iterations=25)),
    "minibatches, momentum, dropout, l2": (
        dict(output="softmax", dropout=0.3),
        dict(optimizer="momentum(0.9)", lr=0.05, epochs=4, batch_size=7, l2=0.01)),
    "with replacement, adam, non-inverted dropout, float32": (
        dict(output="softmax", dropout=[0.2, 0.4], dropout_mode="scaled_at_test",
             dtype=np.float32),
        dict(optimizer="adam", lr=0.01, iterations=30, batch_size=8, replace=True,
             l2=[0.0, 0.1, 0.01], seed=5)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_replicas_trained_together_equal_each_trained_alone(case):
    model_kw, fit_kw = CASES[case]
    classes = 3 if model_kw.get("output") == "softmax" else 2
    X, y = blobs(classes=classes)
    sizes = [3, 8, 6, classes if classes > 2 else 1]
    inits, seeds = ["he", "xavier_uniform", "normal(0.3)"], [5, 6, 7]
    together = mlp(sizes, init=inits, seed=seeds, **model_kw)
    selected = [together.select([r]) for r in range(3)]
    hist = fit(together, X, y, record_every=3, X_test=X[:9], y_test=y[:9], **fit_kw)
    tol = 1e-5 if model_kw.get("dtype") == np.float32 else 1e-10
    for r in range(3):
        alone = mlp(sizes, init=inits[r], seed=[seeds[r]], **model_kw)
        h1 = fit(alone, X, y, record_every=3, X_test=X[:9], y_test=y[:9], **fit_kw)
        h2 = fit(selected[r], X, y, record_every=3, X_test=X[:9], y_test=y[:9], **fit_kw)
        for other, h in ((alone, h1), (selected[r], h2)):
            for pa, pb in zip(together.parameters(), other.parameters(), strict=True):
                np.testing.assert_allclose(pa.value[r], pb.value[0], rtol=tol, atol=tol * 1e-4)
            np.testing.assert_allclose(hist.loss[r], h.loss[0], rtol=tol)
            np.testing.assert_array_equal(hist.test_accuracy[r], h.test_accuracy[0])


def test_per_replica_inputs_train_each_replica_on_its_own_data():
    X, y = blobs()
    Xs = np.stack([X, X[::-1], 2 * X])
    model = mlp([3, 5, 1], replicas=3, seed=0)
    alone = model.select([1])
    fit(model, Xs, y, iterations=10, lr=0.1)  # one label vector for all replicas
    fit(alone, Xs[1], y, iterations=10, lr=0.1)
    assert_same_params(model, alone, 1)


def test_history_records_the_batch_loss_before_each_update():
    X, y = blobs()
    model = mlp([3, 6, 1], replicas=2, seed=1)
    start = model.copy()
    hist = fit(model, X, y, lr=0.2, iterations=12, record_every=5, X_test=X[:10], y_test=y[:10])
    assert hist.iterations == [0, 5, 10, 12] and hist.steps == 12
    assert hist.loss.shape == hist.train_accuracy.shape == hist.test_accuracy.shape == (2, 4)
    np.testing.assert_allclose(hist.loss[:, 0], evaluate(start, X, y), rtol=1e-13)
    np.testing.assert_allclose(hist.train_accuracy[:, 0], accuracy(start, X, y))
    fit(start, X, y, lr=0.2, iterations=10)  # ten updates: the state recorded at step 10
    np.testing.assert_allclose(hist.loss[:, 2], evaluate(start, X, y), rtol=1e-12)
    np.testing.assert_allclose(hist.test_accuracy[:, 2], accuracy(start, X[:10], y[:10]))


def test_recording_the_test_accuracy_only_skips_the_pass_over_the_training_set():
    X, y = blobs(n=60)
    model = mlp([3, 6, 1], replicas=2, seed=1)
    kw = dict(lr=0.2, iterations=9, batch_size=8, record_every=4, X_test=X[:10], y_test=y[:10])
    both = fit(model.copy(), X, y, **kw)
    passes = []
    forward = model.forward
    model.forward = lambda x, train=False, keep=True: (passes.append((len(x), train))
                                                       or forward(x, train, keep))
    test = fit(model, X, y, record_accuracy="test", **kw)
    assert test.train_accuracy is None
    np.testing.assert_array_equal(test.test_accuracy, both.test_accuracy)
    np.testing.assert_array_equal(test.loss, both.loss)
    # over X only the final loss's pass; over X_test one per record (the last after training)
    assert passes[-2:] == [(60, False), (10, False)] and passes.count((60, False)) == 1
    assert passes.count((10, False)) == 4
    assert fit(mlp([3, 6, 1], seed=1), X, y, record_accuracy=1, **kw).train_accuracy is not None


def test_final_loss_is_the_whole_training_set_after_the_last_update():
    """Not the last recorded minibatch loss: with minibatches and dropout those differ."""
    X, y = blobs(n=60)
    model = mlp([3, 6, 1], replicas=2, seed=1, dropout=0.3)
    hist = fit(model, X, y, lr=0.2, iterations=9, batch_size=8, l2=0.01, record_every=4)
    np.testing.assert_allclose(hist.final_loss, evaluate(model, X, y, l2=0.01), rtol=1e-13)
    assert not np.allclose(hist.final_loss, hist.loss[:, -2])  # the last minibatch's
    np.testing.assert_array_equal(hist.loss[:, -1], hist.final_loss)  # the trained net's
    assert [row[1] for row in hist.table()[1]] == pytest.approx(list(hist.final_loss))
    back = History.from_dict(hist.to_dict())
    np.testing.assert_array_equal(back.final_loss, hist.final_loss)


def test_loss_of_a_large_set_is_computed_in_chunks_with_the_same_value(monkeypatch):
    X, y = blobs(n=103, classes=3)
    model = mlp([3, 7, 3], output="softmax", replicas=2, seed=3)
    whole = evaluate(model, X, y, l2=0.1)
    monkeypatch.setattr(train, "EVAL_VALUES", 2 * 7 * 10)  # chunks of 10 examples
    calls = []
    monkeypatch.setattr(model, "forward", lambda x, *a, **kw: calls.append(len(x)) or
                        type(model).forward(model, x, *a, **kw))
    np.testing.assert_allclose(evaluate(model, X, y, l2=0.1), whole, rtol=1e-13)
    assert calls == [10] * 10 + [3]


def test_recorded_loss_includes_the_l2_penalty():
    X, y = blobs()
    model = mlp([3, 6, 1], seed=1)
    expected = evaluate(model, X, y, l2=0.5)
    assert expected[0] > evaluate(model, X, y)[0]
    hist = fit(model, X, y, iterations=1, l2=0.5)
    np.testing.assert_allclose(hist.loss[:, 0], expected, rtol=1e-13)


def test_history_round_trips_through_json():
    X, y = blobs()
    hist = fit(mlp([3, 4, 1], replicas=2), X, y, iterations=4, record_every=2)
    hist.loss[1, 1] = np.nan
    back = History.from_dict(hist.to_dict())
    np.testing.assert_array_equal(back.loss, hist.loss)
    assert back.iterations == [0, 2, 4] and back.test_accuracy is None
    header, rows = hist.table()
    assert header[0] == "replica" and len(rows) == 2


def test_divergence_freezes_only_that_replica_and_reports_the_step():
    X, y = blobs(n=20)
    inits = ["he", "normal(1e30)", "he"]
    model = mlp([3, 8, 8, 1], init=inits, seed=[1, 2, 3])
    start = model.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        hist = fit(model, X, y, lr=1.0, iterations=30, X_test=X, y_test=y)
    step = hist.diverged_at[1]
    assert hist.diverged_at[0] is None and hist.diverged_at[2] is None
    assert isinstance(step, int) and 0 < step < 30
    assert np.isfinite(hist.loss[1, :step]).all() and not np.isfinite(hist.loss[1, step])
    assert np.isnan(hist.loss[1, step + 1:]).all() and np.isnan(hist.train_accuracy[1, step:]).all()
    assert np.isfinite(hist.loss[[0, 2]]).all()
    assert np.isnan(hist.final_loss[1]) and np.isfinite(hist.final_loss[[0, 2]]).all()
    frozen = start.select([1])
    fit(frozen, X, y, lr=1.0, iterations=step)  # the parameters as they were at that step
    for a, b in zip(model.parameters(), frozen.parameters(), strict=True):
        np.testing.assert_array_equal(a.value[1], b.value[0])
    for r in (0, 2):  # the others trained on as if alone
        alone = start.select([r])
        fit(alone, X, y, lr=1.0, iterations=30)
        assert_same_params(model, alone, r)


def test_all_replicas_diverging_stops_early_without_warnings():
    X, y = blobs(n=20)
    model = mlp([3, 8, 8, 1], init="normal(1e30)", replicas=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        hist = fit(model, X, y, lr=1.0, iterations=50, record_every=10)
    assert all(isinstance(s, int) for s in hist.diverged_at)
    assert hist.steps == max(hist.diverged_at) < 50  # no update at the last step
    assert hist.loss.shape == (2, 6) and np.isnan(hist.loss[:, -1]).all()


def test_minibatches_without_replacement_visit_every_example_once_per_epoch():
    X = np.arange(10.0)[:, None]
    gen = _batches(X, X, 4, False, np.random.default_rng(0))
    epoch = [next(gen)[0][:, 0] for _ in range(3)]
    assert [len(b) for b in epoch] == [4, 4, 2]
    assert sorted(np.concatenate(epoch)) == list(range(10))
    drawn = next(_batches(X, X, 50, True, np.random.default_rng(0)))[0]
    assert len(drawn) == 50  # with replacement a batch may be larger than the data


@pytest.mark.parametrize("make", [np.random.default_rng, np.random.RandomState])
def test_minibatches_with_replacement_are_the_draws_of_rng_choice(make):
    X = np.arange(40.0).reshape(20, 2)
    gen, rng = _batches(X, X[:, 0], 7, True, make(3)), make(3)
    for _ in range(3):
        idx = rng.choice(20, 7)
        x, t = next(gen)
        np.testing.assert_array_equal(x, X[idx])
        np.testing.assert_array_equal(t, X[idx, 0])


def _memory(a: np.ndarray) -> np.ndarray:
    return a if a.base is None else a.base


@pytest.mark.parametrize("replace", [True, False])
@pytest.mark.parametrize("shape", [(20, 2), (3, 20, 2)])
def test_minibatches_are_gathered_into_the_same_memory_at_every_draw(replace, shape):
    """No new array per minibatch (or per epoch's permuted copy): one made at every draw
    cost page faults at every step (37 a step, ~70 us, for 128 MNIST rows)."""
    X = np.arange(np.prod(shape), dtype=float).reshape(shape)
    T = np.arange(20.0)[:, None]
    gen = _batches(X, T, 8, replace, np.random.default_rng(0))
    first_x, first_t = next(gen)
    for _ in range(7):  # past two epochs' ends without replacement
        x, t = next(gen)
        assert _memory(x) is _memory(first_x) and _memory(t) is _memory(first_t)
        rows = t[:, 0].astype(int)  # T's row i holds i: the batch is the rows it names
        np.testing.assert_array_equal(x, X[..., rows, :])


def blas_threads_seen(model, X, y, **kwargs):
    """The BLAS thread count fit() runs its steps with (None without threadpoolctl)."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    seen = []

    def hook(step, m):
        seen.append(max(i["num_threads"] for i in threadpoolctl.threadpool_info()
                        if i["user_api"] == "blas"))

    with threadpoolctl.threadpool_limits(2, "blas"):
        outside = max(i["num_threads"] for i in threadpoolctl.threadpool_info()
                      if i["user_api"] == "blas")
        if outside < 2:
            pytest.skip("this BLAS runs on one thread only")
        fit(model, X, y, iterations=2, on_record=hook, **kwargs)
    return seen


def test_small_products_train_on_one_blas_thread_large_ones_on_the_free_cores(monkeypatch):
    X, y = blobs(n=50)
    model = mlp([3, 8, 1], replicas=2)
    monkeypatch.setattr(train, "usable_cores", lambda: 2)
    monkeypatch.setattr(train, "free_cores", lambda: 2)
    # steps 0 and 1, then the trained net on the whole training set
    assert blas_threads_seen(model, X, y) == [1, 1, 1]
    assert 8 * 3 * 50 * 2 < train.SMALL_PRODUCT
    monkeypatch.setattr(train, "SMALL_PRODUCT", 3 * 8 * 50)  # the first layer's product: 2x
    assert blas_threads_seen(model, X, y) == [2, 2, 2]
    assert blas_threads_seen(model, X, y, batch_size=10) == [1, 1, 2]
    monkeypatch.setattr(train, "free_cores", lambda: 1)  # another task holds a core
    assert blas_threads_seen(model, X, y) == [1, 1, 1]
    monkeypatch.setattr(train, "free_cores", lambda: 2)
    monkeypatch.setattr(train, "usable_cores", lambda: 4)  # two of four cores free: 2 threads
    from threadpoolctl import threadpool_info, threadpool_limits

    def blas():
        return max(i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas")

    with threadpool_limits(limits=1, user_api="blas"):  # a caller's pin (the report's) holds
        with train.blas_threads(model, X, 50):
            assert blas() == 1


@pytest.mark.parametrize("loadavg, own, cores, free", [
    ("0.1 0.1 0.1 1/90 7", "R", 2, 2), ("1.9 1.9 1.9 2/90 7", "R", 2, 1),
    ("0.1 0.1 0.1 3/90 7", "R", 8, 6), ("0.1 0.1 0.1 9/90 7", "R", 2, 1),
    # a BLAS thread of this process still spinning after a product is not another task
    ("0.1 0.1 0.1 2/90 7", "RRS", 2, 2), ("0.1 0.1 0.1 3/90 7", "RRS", 2, 1)])
def test_free_cores_are_the_cores_less_the_other_processes_runnable_tasks(
        monkeypatch, loadavg, own, cores, free):
    import io

    from initlab.runtime import cores as budget

    def fake_open(path, *args):
        if path == "/proc/loadavg":
            return io.StringIO(loadavg)
        task = int(path.split("/")[-2])  # /proc/self/task/<k>/stat
        return io.StringIO(f"{task} (python) {own[task]} 1 2 3")

    monkeypatch.setattr(budget, "usable_cores", lambda: cores)
    monkeypatch.setattr(budget, "open", fake_open, raising=False)
    monkeypatch.setattr(budget.os, "listdir", lambda path: [str(k) for k in range(len(own))])
    assert budget.free_cores() == free


def test_huge_finite_inputs_are_accepted_and_non_finite_ones_named():
    X, y = blobs(n=8)
    big = np.full((8, 3), 1e308)  # its sum overflows; every value is finite
    fit(mlp([3, 2, 1]), big, y, iterations=1)
    big[3, 1] = -np.inf
    with pytest.raises(InitlabError, match="X contains NaN or inf"):
        fit(mlp([3, 2, 1]), big, y, iterations=1)


def test_epochs_count_steps_per_epoch():
    X, y = blobs(n=10)
    assert fit(mlp([3, 2, 1]), X, y, epochs=3, batch_size=4).steps == 9
    assert fit(mlp([3, 2, 1]), X, y, epochs=3).steps == 3


def test_float32_training_stays_float32_and_learns():
    X, y = blobs(n=200, classes=3)
    model = mlp([3, 16, 3], output="softmax", dtype=np.float32, seed=2)
    hist = fit(model, X, y, optimizer="adam", lr=0.01, iterations=150, batch_size=32,
               record_every=50)
    assert all(p.value.dtype == np.float32 for p in model.parameters())
    assert hist.loss[0, -1] < 0.8 * hist.loss[0, 0]
    assert accuracy(model, X, y)[0] > 0.7


def test_progress_bar_runs(capsys):
    X, y = blobs()
    hist = fit(mlp([3, 4, 1]), X, y, iterations=5, progress=True)
    assert hist.steps == 5


@pytest.mark.parametrize("kwargs, message", [
    (dict(), "give exactly one of iterations or epochs"),
    (dict(iterations=3, epochs=2), "give exactly one of iterations or epochs"),
    (dict(iterations=0), "iterations must be a positive integer, got 0"),
    (dict(iterations=3, lr=-0.1), "learning rate must be a number in .*got -0.1"),
    (dict(iterations=3, optimizer="adamax"), "unknown optimizer 'adamax'; valid: adagrad"),
    (dict(iterations=3, replace=True), "replace=True samples minibatches: give a batch_size"),
    (dict(iterations=3, batch_size=0), "batch_size must be a positive integer"),
    (dict(iterations=3, record_every=0), "record_every must be a positive integer"),
    (dict(iterations=3, X_test=np.zeros((2, 3))), "give both X_test and y_test"),
    (dict(iterations=3, X_test=np.zeros((2, 3)), y_test=[0, 5]), "label 5 in y_test is out of"),
    (dict(iterations=3, X_test=np.zeros((2, 4)), y_test=[0, 1]), "X_test has 4 features"),
    (dict(iterations=3, record_accuracy="train"), "record_accuracy must be True, False or 'test'"),
    (dict(iterations=3, record_accuracy="test"), "give X_test and y_test"),
])
def test_bad_fit_arguments(kwargs, message):
    X, y = blobs(n=6)
    with pytest.raises(InitlabError, match=message):
        fit(mlp([3, 2, 1]), X, y, **kwargs)


@pytest.mark.parametrize("X, y, message", [
    (np.zeros((6, 2)), [0, 1] * 3, "X has 2 features per example but the model takes 3"),
    (np.zeros((6, 3)), [0, 1] * 2, "y has 4 labels but the data has 6 examples"),
    (np.zeros((6, 3)), [0, 1, 2] * 2, "label 2 in y is out of range: labels must be 0 or 1"),
    (np.full((6, 3), np.nan), [0, 1] * 3, "X contains NaN or inf"),
    (np.zeros((0, 3)), [], "X is empty"),
])
def test_bad_data(X, y, message):
    with pytest.raises(InitlabError, match=message):
        fit(mlp([3, 2, 1]), X, np.asarray(y), iterations=2)


def test_on_record_sees_each_recorded_step_before_its_update():
    X, y = blobs()
    model = mlp([3, 4, 1], init="he", replicas=2, seed=1)
    seen = []

    def hook(step, m):
        dense = m.dense_layers[0]
        # the layer still holds this step's input and its gradient is dL/dW of this step
        np.testing.assert_array_equal(dense._x, X)
        seen.append((step, dense.weight.value.copy(), dense.weight.grad.copy()))

    history = fit(model, X, y, lr=0.1, iterations=7, record_every=3, on_record=hook,
                  X_test=X[:10], y_test=y[:10])
    assert [s for s, _, _ in seen] == history.iterations == [0, 3, 6, 7]
    # plain SGD: the weights after step 0's update are W0 - lr * grad0
    again = mlp([3, 4, 1], init="he", replicas=2, seed=1)
    fit(again, X, y, lr=0.1, iterations=1)
    np.testing.assert_allclose(again.dense_layers[0].weight.value,
                               seen[0][1] - 0.1 * seen[0][2], rtol=1e-12)


@pytest.mark.parametrize("iterations, every, recorded", [(12, 5, [0, 5, 10, 12]),
                                                          (10, 5, [0, 5, 10]),
                                                          (3, 10, [0, 3])])
def test_the_state_after_the_last_update_is_recorded_too(iterations, every, recorded):
    """A curve ends where training ends: its last point is the trained net (step ``steps``),
    with the loss fit reports as final and the accuracies of the trained parameters."""
    X, y = blobs()
    model = mlp([3, 6, 1], replicas=2, seed=1, dropout=0.3)
    seen = []

    def hook(step, m):
        seen.append((step, [p.grad.copy() for p in m.parameters()]))

    hist = fit(model, X, y, lr=0.2, iterations=iterations, batch_size=8, l2=0.01,
               record_every=every, X_test=X[:10], y_test=y[:10], on_record=hook)
    assert hist.iterations == recorded and hist.loss.shape == (2, len(recorded))
    np.testing.assert_array_equal(hist.loss[:, -1], hist.final_loss)
    np.testing.assert_allclose(hist.final_loss, evaluate(model, X, y, l2=0.01), rtol=1e-13)
    np.testing.assert_array_equal(hist.train_accuracy[:, -1], accuracy(model, X, y))
    np.testing.assert_array_equal(hist.test_accuracy[:, -1], accuracy(model, X[:10], y[:10]))
    # on_record sees the trained net too, with its gradient on the whole training set
    assert [s for s, _ in seen] == recorded
    trained = model.copy()
    z = trained.forward(X)  # evaluation mode: no dropout
    trained.backward(trained.loss.grad(z, trained.loss.targets(y, len(y), 1, z.dtype)),
                     input_grad=False)
    train.add_l2_grad(train.l2_terms(trained, 0.01))
    for got, want in zip(seen[-1][1], (p.grad for p in trained.parameters()), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12)
