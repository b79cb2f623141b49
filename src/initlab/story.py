"""The report's story: which experiments ``initlab report`` runs, and what it says about them.

Each step runs one experiment on built-in data, draws its figures and writes its explanation,
with the conclusions filled in from the numbers it measured. :data:`STEPS` lists them in
reading order; a step is a function ``step(settings) -> (Section, result)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: The course's published circles table (train, test accuracy), shown beside initlab's numbers.
PUBLISHED_CIRCLES = {"zeros": (0.5, 0.5), "random": (0.83, 0.86), "he": (0.9933333333333333, 0.96)}


@dataclass(frozen=True)
class Settings:
    """How big the report's runs are: ``quick`` shrinks everything but the exact reproduction."""

    quick: bool = False
    seeds: int | None = None

    def n_seeds(self, full: int, quick: int) -> int:
        return self.seeds or (quick if self.quick else full)


def _fmt(x: float | None, digits: int = 3) -> str:
    return "n/a" if x is None else f"{x:.{digits}f}"


def classic(dataset: str):
    """The course's experiment reproduced exactly on one of its data sets."""

    def step(settings: Settings):
        from initlab.experiments.classic import INITS, run_classic
        from initlab.plots.classic import boundary_figure, cost_figure
        from initlab.report import Section

        result = run_classic(dataset)
        rows = {r.init: r for r in result.rows}
        zeros, random, he = rows["zeros"], rows["random"], rows["he"]
        text = f"""
        A [2, 10, 5, 1] network (LINEAR -> RELU -> LINEAR -> RELU -> LINEAR -> SIGMOID) learns
        to separate the course's {dataset} data (300 training points, 100 test points), trained
        by full-batch gradient descent with learning rate 0.01 for 15000 iterations. The three
        initializations are drawn exactly as the course draws them, from a legacy NumPy stream
        reseeded with 3: all zeros, large random weights (randn * 10, spec normal(10)) and He
        (randn * sqrt(2 / fan_in), spec he).

        Zeros never breaks the symmetry: every hidden unit computes the same function and
        gets the same update, so the net is no better than its output unit alone; here the
        cost stays at {zeros.costs[-1]:.4f} (ln 2) and accuracy at {zeros.train_accuracy:.2f}.
        Large random weights saturate the output sigmoid: the first cost is
        {random.costs[0]:.1f} (the published notebook prints inf here; initlab computes the
        cost from the logits, so it stays finite and no warning is printed), and after 15000
        iterations it is still {random.costs[-1]:.3f}, with train accuracy
        {random.train_accuracy:.3f}. He keeps the signal's scale from layer to layer and
        reaches cost {he.costs[-1]:.3f} and train accuracy {he.train_accuracy:.3f} in the
        same time.
        """
        tables = []
        if dataset == "circles":
            match = all((rows[k].train_accuracy, rows[k].test_accuracy) == v
                        for k, v in PUBLISHED_CIRCLES.items())
            text += ("\n\ninitlab's table equals the published one exactly." if match else
                     "\n\nWARNING: initlab's table differs from the published one.")
            tables.append(("initlab beside the published table", [
                "init", "spec", "train (initlab)", "train (published)", "test (initlab)",
                "test (published)"], [[k, INITS[k], rows[k].train_accuracy, v[0],
                                       rows[k].test_accuracy, v[1]]
                                      for k, v in PUBLISHED_CIRCLES.items()]))
        else:
            tables.append(("Accuracy and cost", *result.table()))
        section = Section(
            id=f"classic-{dataset}", title=f"The classic three-layer experiment: {dataset}",
            text=text, tables=tables, config=result.config,
            figures=[("Training cost every 1000 iterations (log scale).", cost_figure(result)),
                     ("Decision boundaries after training (plot range [-1.5, 1.5]).",
                      boundary_figure(result))])
        return section, result

    return step


def _compare_rows_text(result) -> str:
    lines = []
    for row in result.rows:
        t = row.test_accuracy
        spread = "" if t.low is None else f" (95% interval {t.low:.3f} to {t.high:.3f})"
        div = f", {row.diverged} diverged" if row.diverged else ""
        lines.append(f"{row.init}: test accuracy {_fmt(t.mean)}{spread} (std {_fmt(t.std)}"
                     f"{div})")
    return "; ".join(lines) + "."


def classic_seeds(settings: Settings):
    """The classic experiment over many seeds, with error bars."""
    from initlab.experiments.compare import PRESETS, run_compare
    from initlab.plots.compare import accuracy_figure, boundary_figure, loss_figure
    from initlab.report import Section

    options = dict(PRESETS["coursera"])
    seeds = settings.n_seeds(10, 3)
    result = run_compare(options.pop("inits"), seeds=seeds, **options)
    text = f"""
    The published table is one run from one seed. Here the same recipe runs from {seeds}
    seeds (legacy RandomState(3), (4), ...; seed 3 is the published run), all trained at once
    as replicas of one model. Bars are 95% confidence intervals of the mean over seeds
    (Wilson score intervals with the seeds' effective sample size), dots are single seeds.

    {_compare_rows_text(result)} Zeros has no spread at all: whatever the seed, nothing
    breaks the symmetry. Large random weights vary much more from seed to seed than He does,
    so one lucky or unlucky seed can make them look better or worse than they are.
    """
    section = Section(
        id="classic-seeds", title=f"The classic experiment over {seeds} seeds", text=text,
        tables=[("Accuracy over seeds (mean and 95% interval)", *result.table())],
        config=result.config,
        figures=[("Training loss: median over seeds and 10-90% band.", loss_figure(result)),
                 ("Accuracy by init with 95% intervals.", accuracy_figure(result)),
                 ("Decision boundary of each init's median seed.", boundary_figure(result))])
    return section, result


def _activation_table(result):
    header = ["activation", "init", "std layer 1", f"std layer {len(result.runs[0].layers)}",
              "theory (last layer)", "grad std layer 1", "verdict"]
    rows = []
    for run in result.runs:
        first, last = run.layers[0], run.layers[-1]
        rows.append([run.activation, run.init, first.std, last.std, last.predicted_std,
                     first.grad_std, run.verdict().split(": ", 1)[1]])
    return header, rows


def _activation_figures(figs: dict, histogram_caption: str, std_caption: str) -> list:
    """(caption, figure) pairs for the histogram grids and the std-versus-depth plot."""
    return [(histogram_caption.format(activation=name.split("_", 1)[1]), fig)
            if name.startswith("histograms") else (std_caption, fig)
            for name, fig in figs.items()]


def saito_activations(settings: Settings):
    """Deep Learning from Scratch 6.2: histograms of 5 layers of 100 units."""
    from initlab.experiments.activations import preset, run_activations
    from initlab.plots.activations import figures
    from initlab.report import Section

    result = run_activations(**preset("saito"))
    figs = figures(result)
    text = """
    A batch of 1000 standard-normal inputs goes through 5 layers of 100 units without bias,
    for each weight scale of Deep Learning from Scratch (chapter 6.2): std 1, std 0.01,
    sqrt(1/n) (lecun; the book calls it "Xavier"), sqrt(2/n) (he), and the constants 0, 1
    and 5. Each row of histograms is one init, each column one layer.

    With sigmoid, std 1 piles the activations at 0 and 1, where the sigmoid is flat: the
    gradient vanishes. Std 0.01 piles them all at 0.5: the units are all alike and the net
    loses its expressiveness. sqrt(1/n) keeps them spread out. With ReLU, std 0.01 collapses
    everything towards 0, sqrt(1/n) shrinks the signal layer by layer, and sqrt(2/n) keeps
    every layer alike: ReLU zeroes half its inputs, so it needs twice the variance. Constant
    weights make every unit of a layer identical, whatever the constant. The std-versus-depth
    plot puts the measured stds (markers) beside what variance-propagation theory predicts
    (lines).
    """
    section = Section(
        id="saito", title="Activations at initialization: 5 layers of 100 units", text=text,
        tables=[("Per-run summary", *_activation_table(result))], config=result.config,
        figures=_activation_figures(
            figs, "Histograms of the activations per layer ({activation}).",
            "Std of activations and gradients versus depth: theory (lines) and measurements "
            "(markers)."))
    return section, result


def deep_study(settings: Settings):
    """The 10-layer tanh/ReLU study, with gradients and theory."""
    from initlab.experiments.activations import preset, run_activations
    from initlab.plots.activations import figures
    from initlab.report import Section

    options = preset("cs231n")
    if settings.quick:
        options["width"] = 512
    options["seeds"] = 1  # at this width the nets of different seeds barely differ
    result = run_activations(**options)
    figs = figures(result)
    width = options["width"]
    verdicts = "; ".join(r.verdict() for r in result.runs)
    text = f"""
    Ten layers of {width} units without bias, an input batch of 16 standard-normal vectors,
    and {options['seeds']} independently drawn net(s) per init. The forward pass shows the
    activations; the backward pass sends a unit-variance random gradient down from the top
    and shows what reaches each layer. The reason behind every picture: for zero-mean
    independent weights and inputs, Var(sum_i w_i x_i) = n Var(w) Var(x), so keeping
    n Var(w) = 1 (tanh, lecun) or 2 (ReLU, he) keeps the signal's scale.

    What this run measured: {verdicts}.
    """
    section = Section(
        id="deep", title=f"The 10-layer tanh/ReLU study (width {width})", text=text,
        tables=[("Per-run summary", *_activation_table(result))], config=result.config,
        figures=_activation_figures(
            figs, "Histograms per layer ({activation}), 40 bins on (-1, 1).",
            "Std versus depth of the activations (left), their gradients (middle) and the "
            "weight gradients (right): theory as lines, measurements as markers."))
    return section, result


def digits_compare(settings: Settings):
    """Deep Learning from Scratch's init comparison on the digits data."""
    from initlab.experiments.compare import PRESETS, run_compare
    from initlab.plots.compare import accuracy_figure, loss_figure
    from initlab.report import Section

    options = dict(PRESETS["saito"])
    seeds = settings.n_seeds(5, 2)
    if settings.quick:
        options["iterations"] = 500
    # float32 halves the time of these matmuls; the comparison does not need float64
    result = run_compare(options.pop("inits"), seeds=seeds, dtype="float32", **options)
    small = result.rows[0]
    text = f"""
    Deep Learning from Scratch trains 4 hidden layers of 100 ReLU units on MNIST with SGD
    (learning rate 0.01, minibatches of 128 drawn with replacement) from std 0.01, sqrt(1/n)
    and sqrt(2/n). Here the same runs on scikit-learn's 8x8 digits (no download; run
    'initlab compare --preset saito --data PATH' for MNIST files), {options['iterations']}
    iterations, {seeds} seeds per init, float32.

    {_compare_rows_text(result)} With std 0.01 the signal dies on its way through four
    layers, so the loss stays at {_fmt(small.final_loss.mean)}, near ln 10 = {math.log(10):.3f}:
    the net does not learn. He, made for ReLU, learns fastest.
    """
    section = Section(
        id="digits", title="Which init lets a deeper net learn? (digits)", text=text,
        tables=[("Accuracy over seeds (mean and 95% interval)", *result.table())],
        config=result.config,
        figures=[("Training loss: median over seeds and 10-90% band.", loss_figure(result)),
                 ("Accuracy by init with 95% intervals.", accuracy_figure(result))])
    return section, result


def regularization(settings: Settings):
    """The overfitting study on a 300-example subset."""
    from initlab.experiments.regularize import run_regularize
    from initlab.plots.regularize import curves_figure
    from initlab.report import Section

    seeds = settings.n_seeds(5, 2)
    result = run_regularize(seeds=seeds, epochs=80 if settings.quick else 200)
    none = result.rows[0]
    best = min(result.rows[1:], key=lambda r: r.gap.mean)
    top = max(result.rows, key=lambda r: r.test_accuracy.mean)
    helped = [r.variant for r in result.rows[1:] if r.gap.mean < none.gap.mean
              and r.test_accuracy.mean >= none.test_accuracy.mean]
    text = f"""
    A deep net (5 hidden layers of 100 ReLU units, He init) trained on only
    {result.config['n_train']} digits overfits: it fits its training set far better than
    unseen data. The same net is trained four ways from the same {seeds} seeds: without
    regularization, with L2 weight decay (loss + lambda/2 sum W^2), with dropout after every
    hidden layer (inverted form), and with both.

    Without regularization the train accuracy reaches {_fmt(none.train_accuracy.mean)} and
    the test accuracy {_fmt(none.test_accuracy.mean)}: a gap of {_fmt(none.gap.mean)}. The
    smallest gap comes from {best.variant}: {_fmt(best.gap.mean)}, with test accuracy
    {_fmt(best.test_accuracy.mean)}; the best test accuracy comes from {top.variant}
    ({_fmt(top.test_accuracy.mean)}). {"Narrower gap without losing test accuracy: "
    + ", ".join(helped) + "." if helped else "In this run no variant narrowed the gap without "
    "costing test accuracy: regularization is a trade, and its strength must be tuned."}
    The 8x8 digits are an easy task, so the gap is modest; run 'initlab regularize --data
    PATH' to see the same study on MNIST files.
    """
    section = Section(
        id="regularize", title="Overfitting and what L2 and dropout do", text=text,
        tables=[("Train/test accuracy and gap per variant", *result.table())],
        config=result.config,
        figures=[("Mean train (dashed) and test (solid) accuracy, band of one std over seeds.",
                  curves_figure(result))])
    return section, result


#: (id, title, step) in reading order.
STEPS = [
    ("classic-circles", "The classic three-layer experiment: circles", classic("circles")),
    ("classic-moons", "The classic three-layer experiment: moons", classic("moons")),
    ("classic-seeds", "The classic experiment over many seeds", classic_seeds),
    ("saito", "Activations at initialization: 5 layers of 100 units", saito_activations),
    ("deep", "The 10-layer tanh/ReLU study", deep_study),
    ("digits", "Which init lets a deeper net learn? (digits)", digits_compare),
    ("regularize", "Overfitting and what L2 and dropout do", regularization),
]

INTRO = """
Why initialization matters, told by the classic experiments, rerun here on built-in data.
Each section says what was run, shows the figures and tables, and says what to conclude;
the exact configuration of each run is under it. Every number was computed by initlab for
this report; where a published value exists, it is shown beside initlab's.
"""


def as_table(result) -> list:
    """A result's table as plain rows (for results.json summaries)."""
    header, rows = result.table()
    return [header, [[None if isinstance(c, float) and not np.isfinite(c) else c for c in r]
                     for r in rows]]
