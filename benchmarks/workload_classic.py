"""Workload "classic": the course's three-init, three-layer run (issues 3 and 16, goal <= 0.5x
the lean NumPy loop).

Every contender does the whole published recipe as one process, in float64: make the circles
data (300 train points after seed 1, 100 test points after seed 2), train [2, 10, 5, 1]
ReLU/sigmoid nets from the zeros, random (randn * 10) and He inits (legacy seed 3) with
full-batch gradient descent, lr 0.01, 15000 iterations each, and report train/test accuracy.

- ``initlab``: ``initlab.experiments.classic.run_classic`` (the three inits as three replicas;
  the cost recorded every 1000 steps).
- ``lean``: the notebook's algorithm (same layout, same arithmetic, same numbers) written
  tight: the cost computed only when it is recorded, every 1000 steps as initlab records,
  local arrays instead of the parameter dict, in-place updates, the ReLU mask multiplied as
  booleans. The goal is judged against it.
- ``numpy``: the course notebook's way, for information: a dict of parameters W1, b1, ...,
  the (features, examples) layout, forward/backward/update functions, one full-batch step at a
  time, the cost computed at every step.

The NumPy loops' ``exp`` overflow warnings are silenced (``np.errstate``), which only makes
them faster. The notebook's plotting is left out of all. The helpers below are reused by the
"seeds" workload.
"""

from __future__ import annotations

import numpy as np

from harness import Contender, Workload, child_main, script

SIZES = {"full": 15000, "quick": 3000, "tiny": 30}
INITS = ("zeros", "random", "he")


# ------------------------------------------------------- plain NumPy, the notebook's way
def initialize_parameters(layers_dims, initialization, seed=3):
    """W1, b1, ... as the notebook draws them: W = randn(out, in) * scale after seed(3)."""
    parameters = {}
    if initialization != "zeros":
        np.random.seed(seed)  # noqa: NPY002 - the notebook's legacy global stream
    for l in range(1, len(layers_dims)):  # noqa: E741 - the notebook's loop variable
        shape = (layers_dims[l], layers_dims[l - 1])
        if initialization == "zeros":
            parameters["W" + str(l)] = np.zeros(shape)
        elif initialization == "random":
            parameters["W" + str(l)] = np.random.randn(*shape) * 10  # noqa: NPY002
        else:
            scale = np.sqrt(2 / layers_dims[l - 1])
            parameters["W" + str(l)] = np.random.randn(*shape) * scale  # noqa: NPY002
        parameters["b" + str(l)] = np.zeros((layers_dims[l], 1))
    return parameters


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def relu(x):
    return np.maximum(0, x)


def forward_propagation(X, parameters):
    """LINEAR -> RELU -> LINEAR -> RELU -> LINEAR -> SIGMOID on X (features, examples)."""
    W1, b1 = parameters["W1"], parameters["b1"]
    W2, b2 = parameters["W2"], parameters["b2"]
    W3, b3 = parameters["W3"], parameters["b3"]
    z1 = np.dot(W1, X) + b1
    a1 = relu(z1)
    z2 = np.dot(W2, a1) + b2
    a2 = relu(z2)
    z3 = np.dot(W3, a2) + b3
    a3 = sigmoid(z3)
    return a3, (z1, a1, W1, b1, z2, a2, W2, b2, z3, a3, W3, b3)


def compute_loss(a3, Y):
    """Binary cross-entropy averaged over the examples, from the probabilities."""
    m = Y.shape[1]
    logprobs = np.multiply(-np.log(a3), Y) + np.multiply(-np.log(1 - a3), 1 - Y)
    return 1.0 / m * np.nansum(logprobs)


def backward_propagation(X, Y, cache):
    """Gradients of the mean loss with respect to W1, b1, ..., W3, b3."""
    m = X.shape[1]
    (z1, a1, W1, b1, z2, a2, W2, b2, z3, a3, W3, b3) = cache
    dz3 = 1.0 / m * (a3 - Y)
    dW3 = np.dot(dz3, a2.T)
    db3 = np.sum(dz3, axis=1, keepdims=True)
    da2 = np.dot(W3.T, dz3)
    dz2 = np.multiply(da2, np.int64(a2 > 0))
    dW2 = np.dot(dz2, a1.T)
    db2 = np.sum(dz2, axis=1, keepdims=True)
    da1 = np.dot(W2.T, dz2)
    dz1 = np.multiply(da1, np.int64(a1 > 0))
    dW1 = np.dot(dz1, X.T)
    db1 = np.sum(dz1, axis=1, keepdims=True)
    return {"dW1": dW1, "db1": db1, "dW2": dW2, "db2": db2, "dW3": dW3, "db3": db3}


def update_parameters(parameters, grads, learning_rate):
    """One gradient-descent step on every W and b."""
    for k in range(1, len(parameters) // 2 + 1):
        parameters["W" + str(k)] = parameters["W" + str(k)] - learning_rate * grads["dW" + str(k)]
        parameters["b" + str(k)] = parameters["b" + str(k)] - learning_rate * grads["db" + str(k)]
    return parameters


def model(X, Y, learning_rate=0.01, num_iterations=15000, initialization="he", seed=3):
    """Train one net full batch; return its parameters and the cost every 1000 steps."""
    costs = []
    parameters = initialize_parameters([X.shape[0], 10, 5, 1], initialization, seed)
    for i in range(num_iterations):
        a3, cache = forward_propagation(X, parameters)
        cost = compute_loss(a3, Y)
        grads = backward_propagation(X, Y, cache)
        parameters = update_parameters(parameters, grads, learning_rate)
        if i % 1000 == 0:
            costs.append(cost)
    return parameters, costs


def lean_model(X, Y, learning_rate=0.01, num_iterations=15000, initialization="he", seed=3,
               record_every=1000):
    """The notebook's ``model`` written tight, in ``X``'s dtype; the same parameters and costs.

    X : (features, examples); Y : (1, examples). Returns the parameter dict and the cost
    every ``record_every`` steps (computed only then).
    """
    p = initialize_parameters([X.shape[0], 10, 5, 1], initialization, seed)
    W1, b1, W2, b2, W3, b3 = (p[k].astype(X.dtype) for k in ("W1", "b1", "W2", "b2", "W3",
                                                              "b3"))
    Y = Y.astype(X.dtype)
    lr, m, costs = learning_rate, X.shape[1], []
    for i in range(num_iterations):
        z1 = np.dot(W1, X) + b1
        a1 = np.maximum(0, z1)
        z2 = np.dot(W2, a1) + b2
        a2 = np.maximum(0, z2)
        a3 = 1 / (1 + np.exp(-(np.dot(W3, a2) + b3)))
        if i % record_every == 0:
            costs.append(compute_loss(a3, Y))
        dz3 = 1.0 / m * (a3 - Y)
        dz2 = np.dot(W3.T, dz3) * (a2 > 0)
        dz1 = np.dot(W2.T, dz2) * (a1 > 0)
        W3 -= lr * np.dot(dz3, a2.T)
        b3 -= lr * np.sum(dz3, axis=1, keepdims=True)
        W2 -= lr * np.dot(dz2, a1.T)
        b2 -= lr * np.sum(dz2, axis=1, keepdims=True)
        W1 -= lr * np.dot(dz1, X.T)
        b1 -= lr * np.sum(dz1, axis=1, keepdims=True)
    return {"W1": W1, "b1": b1, "W2": W2, "b2": b2, "W3": W3, "b3": b3}, costs


def predict(X, Y, parameters):
    """Accuracy of the prediction a3 > 0.5."""
    a3, _ = forward_propagation(X, parameters)
    return float(np.mean((a3 > 0.5) == Y))


def load_course_data(name="circles"):
    """The course's data in the (features, examples) layout: 300 train, 100 test points."""
    import sklearn.datasets

    make = getattr(sklearn.datasets, f"make_{name}")
    np.random.seed(1)  # noqa: NPY002 - the course seeds the global stream
    train_X, train_Y = make(n_samples=300, noise=0.05)
    np.random.seed(2)  # noqa: NPY002
    test_X, test_Y = make(n_samples=100, noise=0.05)
    return train_X.T, train_Y.reshape(1, -1), test_X.T, test_Y.reshape(1, -1)


def run_numpy(iterations: int, lean: bool = False) -> dict:
    """The three inits trained one after the other, as the notebook's cells do."""
    train_X, train_Y, test_X, test_Y = load_course_data("circles")
    accuracies = {}
    train = lean_model if lean else model
    with np.errstate(all="ignore"):
        for init in INITS:
            parameters, _ = train(train_X, train_Y, num_iterations=iterations,
                                  initialization=init)
            accuracies[init] = [predict(train_X, train_Y, parameters),
                                predict(test_X, test_Y, parameters)]
    return {"accuracy": accuracies}


# ------------------------------------------------------------------------------- initlab
def run_initlab(iterations: int) -> dict:
    """``run_classic`` on circles: the three inits as three replicas of one model."""
    from initlab.experiments.classic import run_classic

    result = run_classic("circles", iterations=iterations)
    return {"accuracy": {r.init: [r.train_accuracy, r.test_accuracy] for r in result.rows}}


CONTENDERS = {"initlab": run_initlab, "numpy": run_numpy}


def workload(size: str, torch_skip: str | None) -> Workload:
    """The classic workload at ``size`` (full, quick or tiny)."""
    it = SIZES[size]
    return Workload(
        name="classic",
        title=f"course 3-layer net, 3 inits x {it} full-batch steps, float64, whole process",
        contenders=[
            Contender("initlab", script("workload_classic", "initlab", iterations=it)),
            Contender("numpy lean loop",
                      script("workload_classic", "numpy", iterations=it, lean=True), goal=0.5,
                      note="the notebook's algorithm, cost every 1000 steps"),
            Contender("numpy notebook", script("workload_classic", "numpy", iterations=it),
                      note="the notebook as written, cost every step; for information"),
        ],
    )


if __name__ == "__main__":
    child_main(CONTENDERS)
