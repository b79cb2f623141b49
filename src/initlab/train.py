"""Training: :func:`fit` runs gradient descent on all replicas of a model at once.

One step on a batch (the whole set, or a minibatch drawn with or without replacement) is:
forward in training mode (dropout on, BatchNorm on batch statistics, updating its running
ones) -> gradient of the mean loss (+ L2) -> backward -> optimizer update.
Every ``record_every`` steps (step 0 included) the :class:`History` stores, per replica, the
training loss *of that step's batch, from that step's forward pass, before its update* (the
data loss plus the L2 penalty; with dropout it is the loss of the dropped-out net), as the
course records ``cost`` at iterations 0, 1000, ...; and, when asked, the train/test accuracy of
the same parameters in evaluation mode (no dropout; BatchNorm on its
running statistics) on the whole sets. After the last step,
``final_loss`` is the loss of the trained parameters on the whole training set in evaluation
mode (plus the L2 penalty): the true final loss, not the last recorded minibatch's. The last
record is always that trained net, at step ``steps`` (after the last update): its loss is
``final_loss`` and its accuracies are the trained parameters', so every curve ends where
training ends (for full-batch training without dropout or BatchNorm it is exactly the loss a
step ``steps`` would record).

Threads: the loop runs BLAS on one thread when every matrix product of a step is small
(:data:`SMALL_PRODUCT`), and on the cores other tasks leave free otherwise: OpenBLAS's threads
wait on each other at every product, and a task sharing their cores makes that wait last its
time slices.

Divergence: when a replica's loss at a step is NaN or inf (its logits are checked at every
step, its full loss at recorded steps), it is marked diverged at that step and frozen there
(its parameters never change again, its later records are NaN); the others go on. No NumPy
warning is ever printed.
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass, field

import numpy as np

from initlab.errors import InitlabError, check_positive_int
from initlab.nn.losses import check_labels
from initlab.optim import add_l2_grad, get_optimizer, l2_penalty, l2_terms
from initlab.results import Result
from initlab.rng import as_rng
from initlab.runtime.cores import free_cores, usable_cores


def _matrix(value) -> np.ndarray | None:
    """(R, T) float array from an array or from JSON lists where None stands for NaN."""
    if value is None:
        return None
    if isinstance(value, np.ndarray) and value.dtype.kind == "f":
        return value.astype(np.float64, copy=False).reshape(len(value), -1)
    rows = [[np.nan if v is None else v for v in row] for row in np.asarray(value, dtype=object)]
    return np.array(rows, dtype=np.float64).reshape(len(rows), -1)


@dataclass(eq=False)
class History(Result):
    """What :func:`fit` recorded, per replica.

    iterations : (T,) the recorded steps, the last one the number of steps asked for (the
    trained net); loss : (R, T) the training loss of the batch at each recorded step (before
    that step's update; NaN after divergence), at the last one ``final_loss``; train_accuracy,
    test_accuracy : (R, T) or None; diverged_at : R entries, the step where the loss became
    NaN/inf, or None; steps : the number of updates made (fewer than asked only when every
    replica diverged); seconds : wall time of the training loop; final_loss : (R,) the loss
    on the whole training set after training, in evaluation mode, plus the L2 penalty (NaN for
    a diverged replica).
    """

    iterations: list[int]
    loss: np.ndarray
    train_accuracy: np.ndarray | None = None
    test_accuracy: np.ndarray | None = None
    diverged_at: list[int | None] = field(default_factory=list)
    steps: int = 0
    seconds: float = 0.0
    final_loss: np.ndarray | None = None

    def __post_init__(self):
        self.iterations = [int(i) for i in self.iterations]
        self.loss = _matrix(self.loss)
        self.train_accuracy = _matrix(self.train_accuracy)
        self.test_accuracy = _matrix(self.test_accuracy)
        if self.final_loss is not None:
            self.final_loss = _matrix([self.final_loss])[0]

    def table(self):
        header = ["replica", "final loss", "train accuracy", "test accuracy", "diverged at"]
        rows = []
        for r in range(self.loss.shape[0]):
            last = [None if m is None else _last_finite(m[r])
                    for m in (self.loss, self.train_accuracy, self.test_accuracy)]
            if self.final_loss is not None:
                final = float(self.final_loss[r])
                last[0] = final if math.isfinite(final) else None
            rows.append([r, *last, self.diverged_at[r] if self.diverged_at else None])
        return header, rows


def _last_finite(row) -> float | None:
    finite = row[np.isfinite(row)]
    return float(finite[-1]) if finite.size else None


def _classes(model) -> int:
    return 2 if model.output == "sigmoid" else model.out_features


def accuracy(model, X, y) -> np.ndarray:
    """Fraction of correct predictions per replica, (R,), in evaluation mode."""
    pred = model.predict(X)
    labels = check_labels(y, pred.shape[1], _classes(model))
    return (pred == labels).mean(axis=1)


#: Activation values (replicas x examples x widest layer) that :func:`mean_loss` passes through
#: the model at once: a large set goes in chunks, not as one set of huge temporaries.
EVAL_VALUES = 1 << 20


def mean_loss(model, X: np.ndarray, t: np.ndarray) -> np.ndarray:
    """The model's mean loss per replica (R,) on a checked ``X`` and its targets ``t`` in
    evaluation mode, passing chunks of examples through it (see :data:`EVAL_VALUES`)."""
    n = X.shape[-2]
    widest = max(max(d.in_features, d.out_features) for d in model.dense_layers)
    size = max(1, EVAL_VALUES // (model.replicas * widest))
    with np.errstate(all="ignore"):
        if size >= n:
            return model.loss.value(model.forward(X, keep=False), t)
        total = 0.0
        for a in range(0, n, size):
            b = min(a + size, n)
            z = model.forward(X[..., a:b, :], keep=False)
            total = total + model.loss.value(z, t[a:b]) * (b - a)
        return total / n


def evaluate(model, X, y, l2=0.0) -> np.ndarray:
    """Mean loss per replica (R,) on (X, y) in evaluation mode, plus the L2 penalty."""
    X = model.check_input(X)
    t = model.loss.targets(y, X.shape[-2], model.out_features, model.dtype)
    with np.errstate(all="ignore"), blas_threads(model, X, X.shape[-2]):
        return mean_loss(model, X, t) + l2_penalty(l2_terms(model, l2))


def schedule(n: int, iterations: int | None = None, epochs: int | None = None,
             batch_size: int | None = None, replace: bool = False) -> tuple[int, int | None]:
    """(number of steps, batch size or None for full batch) of a run on ``n`` examples:
    ``iterations`` steps, or ``epochs`` passes of ceil(n / batch_size) steps each."""
    if (iterations is None) == (epochs is None):
        raise InitlabError("give exactly one of iterations or epochs")
    if batch_size is not None:
        check_positive_int(batch_size, "batch_size")
        if batch_size >= n and not replace:
            batch_size = None
    elif replace:
        raise InitlabError("replace=True samples minibatches: give a batch_size")
    if iterations is not None:
        return check_positive_int(iterations, "iterations"), batch_size
    per_epoch = 1 if batch_size is None else math.ceil(n / batch_size)
    return check_positive_int(epochs, "epochs") * per_epoch, batch_size


def check_batch_norm_batches(n: int, batch: int | None, replace: bool) -> None:
    """Refuse a schedule with a training batch of 1 example: BatchNorm's variance over the
    batch is undefined there (PyTorch raises on it too)."""
    size = n if batch is None else batch
    last = size if batch is None or replace or n % batch == 0 else n % batch
    if min(size, last) < 2:
        where = ("every batch" if size < 2 else
                 f"the last batch of each epoch ({n} examples in batches of {batch})")
        raise InitlabError(
            f"BatchNorm in training mode needs at least 2 examples per batch, but {where} has "
            f"1; change the batch size or the number of examples")


def _batches(X, T, size: int, replace: bool, rng):
    """Endless minibatches (x, t): drawn with replacement, or consecutive slices of a new
    permutation every epoch (the last slice of an epoch may be smaller).

    The rows are gathered into arrays made once and overwritten by every later draw (each
    epoch's permuted copy, or each minibatch): a batch is valid until the next one is drawn.
    A new array at every draw made the C allocator hand its pages back and fault them in
    again (37 page faults a step, ~70 us, for 128 MNIST rows). ``mode="clip"`` only lets
    ``take`` write into ``out`` directly; every index drawn is in range.
    """
    n = T.shape[0]
    if replace:  # the indices rng.choice(n, size) draws, without its per-call checks
        draw = rng.integers if isinstance(rng, np.random.Generator) else rng.randint
        xb = np.empty((*X.shape[:-2], size, X.shape[-1]), X.dtype)
        tb = np.empty((size, *T.shape[1:]), T.dtype)
        while True:
            idx = draw(0, n, size)
            yield (X.take(idx, axis=-2, out=xb, mode="clip"),
                   T.take(idx, axis=0, out=tb, mode="clip"))
    xp, tp = np.empty_like(X), np.empty_like(T)
    while True:
        perm = rng.permutation(n)
        X.take(perm, axis=-2, out=xp, mode="clip")
        T.take(perm, axis=0, out=tp, mode="clip")
        for s in range(0, n, size):
            yield xp[..., s:s + size, :], tp[s:s + size]


#: Multiply-adds of the largest matrix product of a step up to which :func:`fit` runs BLAS on
#: one thread. A second thread gains little on smaller products even on idle cores, and since
#: OpenBLAS's threads wait on each other at every product, one process running alongside makes
#: them many times slower (benchmarks/README.md, "Measurements behind constants").
SMALL_PRODUCT = 1 << 22


def blas_threads(model, X, batch: int) -> contextlib.AbstractContextManager:
    """A context running BLAS during training on one thread when every product of a step on
    ``batch`` examples of ``X`` is small (see :data:`SMALL_PRODUCT`), else on the cores other
    tasks leave free; a no-op when that is all of them (BLAS keeps its threads). It only ever
    lowers BLAS's threads: a caller that pinned them (the report pins one thread per section,
    so that its float32 sums do not depend on the machine's load) keeps its pin."""
    largest = 0
    for i, layer in enumerate(model.dense_layers):
        size = layer.out_features * layer.in_features * batch
        if i == 0 and X.ndim == 2 and model.layers[0] is layer:  # one product for R replicas
            size *= model.replicas
        largest = max(largest, size)
    threads = 1 if largest <= SMALL_PRODUCT else free_cores()
    if threads >= usable_cores():
        return contextlib.nullcontext()
    try:  # the libraries loaded now (scipy's own BLAS may load late, with a lazy import)
        from threadpoolctl import threadpool_info, threadpool_limits
    except ImportError:  # pragma: no cover - a dependency, but fit works without it
        return contextlib.nullcontext()
    now = [p["num_threads"] for p in threadpool_info() if p.get("user_api") == "blas"]
    if now and threads >= min(now):
        return contextlib.nullcontext()
    return threadpool_limits(limits=threads, user_api="blas")


def fit(model, X, y, *, optimizer="sgd", lr: float = 0.01, iterations: int | None = None,
        epochs: int | None = None, batch_size: int | None = None, replace: bool = False,
        l2=0.0, record_every: int = 1, X_test=None, y_test=None, seed=0,
        progress: bool = False, record_accuracy: bool | str = True, on_record=None) -> History:
    """Train every replica of ``model`` in place; return the :class:`History`.

    One long function on purpose: its step loop is the hot path that ``benchmarks/`` holds
    to the time of a plain NumPy loop, and the per-step state (the replicas still active,
    the record index) stays in locals rather than crossing calls at every step.

    X : (N, in) shared by the replicas, or (R, N, in); y : (N,) labels.
    optimizer: a spec (``sgd``, ``momentum(0.9)``, ``adam``) or an Optimizer; lr > 0.
    iterations: number of steps; or epochs: passes over the data (ceil(N / batch_size) steps
    each). batch_size: None (or >= N without replacement) for full batch; replace=True draws
    each minibatch with replacement (as Deep Learning from Scratch does), else each epoch is a
    new permutation cut in slices.
    l2: lambda for every weight matrix or one per Dense layer (loss += lambda/2 sum W^2).
    seed: int, Generator or RandomState for the minibatch order, shared by all replicas.
    record_every: record at steps 0, k, 2k, ... and after the last update (see the module
    docstring for what).
    record_accuracy: also record train (and test) accuracy; each recorded step then costs an
    extra forward pass over X (and X_test), unless training is full batch without dropout.
    ``"test"``: the test accuracy only (``X_test`` required), without the pass over X.
    progress: show progress on stderr (a bar on a terminal, else a line every 5 s).
    on_record: called as ``on_record(step, model)`` at every recorded step, after that
    step's forward and backward pass and before its update: the layers still hold that
    step's inputs and outputs, and every ``param.grad`` that step's gradient. After the last
    update it is called once more, with the step count, after an evaluation-mode forward and
    backward pass of the trained net over the whole training set (no update follows).
    """
    X = model.check_input(X)
    n = X.shape[-2]
    loss = model.loss
    targets = loss.targets(y, n, model.out_features, model.dtype)
    labels = check_labels(y, n, _classes(model))
    if (X_test is None) != (y_test is None):
        raise InitlabError("give both X_test and y_test, or neither")
    if X_test is not None:
        X_test = model.check_input(X_test, "X_test")
        y_test = check_labels(y_test, X_test.shape[-2], _classes(model), "y_test")
    if record_accuracy not in (True, False, "test"):
        raise InitlabError(f"record_accuracy must be True, False or 'test', got "
                           f"{record_accuracy!r}")
    if record_accuracy == "test" and X_test is None:
        raise InitlabError("record_accuracy='test' records the test accuracy: give X_test "
                           "and y_test")
    record_train = bool(record_accuracy) and record_accuracy != "test"  # 1 counts as True
    opt = get_optimizer(optimizer, lr)
    terms = l2_terms(model, l2)
    steps, batch = schedule(n, iterations, epochs, batch_size, replace)
    if model.has_batch_norm:
        check_batch_norm_batches(n, batch, replace)
    check_positive_int(record_every, "record_every")
    batches = None if batch is None else _batches(X, targets, batch, replace, as_rng(seed))

    R = model.replicas
    # steps 0, k, 2k, ... and the trained net after the last update, so a curve ends where
    # training ends (and where the text quoting its length says it does)
    record_at = [*range(0, steps, record_every), steps]
    losses = np.full((R, len(record_at)), np.nan)
    train_acc = np.full_like(losses, np.nan) if record_train else None
    test_acc = np.full_like(losses, np.nan) if record_accuracy and X_test is not None else None
    # step logits = eval logits (BatchNorm trains on batch statistics: never the same)
    reuse = batch is None and not model.has_dropout and not model.has_batch_norm and X.ndim == 2
    active = np.ones(R, dtype=bool)
    everyone = True  # active.all(), kept as a flag to keep the per-step work small
    diverged_at: list[int | None] = [None] * R
    params = model.flat_parameters()
    bar = _bar(steps) if progress else None
    chunk = max(1, steps // 200)
    start, done, k = time.perf_counter(), 0, 0
    with np.errstate(all="ignore"), blas_threads(model, X, batch or n):
        for t in range(steps):
            xb, tb = (X, targets) if batches is None else next(batches)
            z = model.forward(xb, train=True)
            record = t % record_every == 0
            if record:
                lval, g = loss.value_and_grad(z, tb)
            else:
                g = loss.grad(z, tb, errstate=False)  # the loop runs under np.errstate
            # Non-finite logits <=> non-finite loss: a sum is the cheap test at unrecorded steps.
            if everyone:
                check = record or not math.isfinite(z.sum())
            else:
                check = record or not np.isfinite(z.sum(axis=(-2, -1))[active]).all()
            if check:
                if not record:
                    lval = loss.value(z, tb)
                if terms:
                    lval = lval + l2_penalty(terms)
                newly = active & ~np.isfinite(lval)
                if record:
                    losses[:, k] = np.where(active, lval, np.nan)
                if newly.any():
                    for r in np.flatnonzero(newly):
                        diverged_at[r] = t
                    active &= ~newly
                    everyone = False
                    if not active.any():
                        break
            model.backward(g, input_grad=False)
            add_l2_grad(terms)
            if record:
                if on_record is not None:  # before accuracy passes overwrite the layers' caches
                    on_record(t, model)
                if record_train:
                    pred = loss.predict(z if reuse else model.forward(X, keep=False))
                    train_acc[:, k] = np.where(active, (pred == labels).mean(axis=1), np.nan)
                if test_acc is not None:
                    pred = loss.predict(model.forward(X_test, keep=False))
                    test_acc[:, k] = np.where(active, (pred == y_test).mean(axis=1), np.nan)
                k += 1
            opt.step(params, None if everyone else active)
            done = t + 1
            if bar is not None and done % chunk == 0:
                bar.update(chunk)
    if bar is not None:
        bar.update(done - bar.n)
        bar.close()
    seconds = time.perf_counter() - start
    # evaluate(model, X, y, l2) without checking X again
    with np.errstate(all="ignore"), blas_threads(model, X, n):
        final = mean_loss(model, X, targets)
        if terms:
            final = final + l2_penalty(terms)
        final = np.where(active, final, np.nan)
        losses[:, -1] = final
        if on_record is not None:  # the trained net's gradient on the whole training set
            model.backward(loss.grad(model.forward(X), targets, errstate=False),
                           input_grad=False)
            add_l2_grad(terms)
            on_record(steps, model)
        if record_train:
            pred = loss.predict(model.forward(X, keep=False))
            train_acc[:, -1] = np.where(active, (pred == labels).mean(axis=1), np.nan)
        if test_acc is not None:
            pred = loss.predict(model.forward(X_test, keep=False))
            test_acc[:, -1] = np.where(active, (pred == y_test).mean(axis=1), np.nan)
    return History(record_at, losses, train_acc, test_acc, diverged_at, done, seconds, final)


def _bar(total: int):
    from initlab.runtime.progress import Progress

    return Progress(total, "fit", "step", leave=False)


__all__ = ["EVAL_VALUES", "SMALL_PRODUCT", "History", "accuracy", "blas_threads",
           "check_batch_norm_batches", "evaluate", "fit", "mean_loss"]
