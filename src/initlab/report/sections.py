"""The report's story: which experiments ``initlab report`` runs, and what it says about them.

Each step runs one experiment on built-in data, draws its figures and writes its explanation,
with the conclusions filled in from the numbers it measured. :data:`STEPS` lists them in
reading order; a step is a function ``step(settings) -> (Section, result)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from initlab.report.text_activations import deep_text, saito_text
from initlab.report.text_depth import depth_study
from initlab.report.text_training import (
    classic_text,
    digits_text,
    normalization_text,
    regularization_table,
    regularization_text,
    seeds_text,
)

#: The course's published circles table (train, test accuracy), shown beside initlab's numbers.
PUBLISHED_CIRCLES = {"zeros": (0.5, 0.5), "random": (0.83, 0.86), "he": (0.9933333333333333, 0.96)}


#: Training lengths (full, quick) of the sections that --quick shortens: the quick report is
#: a fast look (each checked to tell the same story at these lengths); the exact
#: reproductions (circles, moons) and the seed comparison of the course's recipe never shrink.
LENGTHS = {"digits_iterations": (2000, 300), "regularize_epochs": (200, 40),
           "normalize_epochs": (20, 8)}


@dataclass(frozen=True)
class Settings:
    """How big the report's runs are: ``quick`` shrinks everything but the exact reproduction."""

    quick: bool = False
    seeds: int | None = None
    dpi: int = 100  # of the figures the report embeds (initlab report --dpi)

    def n_seeds(self, full: int, quick: int) -> int:
        return self.seeds or (quick if self.quick else full)

    def length(self, name: str) -> int:
        """The training length ``name`` of :data:`LENGTHS` at this size."""
        return LENGTHS[name][self.quick]


def classic(dataset: str):
    """The course's experiment reproduced exactly on one of its data sets."""

    def step(settings: Settings):
        from initlab.experiments.classic import INITS, run_classic
        from initlab.plots.classic import boundary_figure, cost_figure
        from initlab.report import Section

        result = run_classic(dataset)
        rows = {r.init: r for r in result.rows}
        # the course published its run on circles only: moons has nothing to compare with
        published = dataset == "circles"
        text = classic_text(result, published=published)
        tables = []
        if published:
            match = all((rows[k].train_accuracy, rows[k].test_accuracy) == v
                        for k, v in PUBLISHED_CIRCLES.items())
            text += ("\n\ninitlab's table equals the published one exactly." if match else
                     "\n\ninitlab's table differs from the published one (see the table).")
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
                     ("Decision boundaries after training, over every train and test point "
                      "(x1 from {:.2f} to {:.2f}, x2 from {:.2f} to {:.2f}).".format(
                          *result.boundary.extent), boundary_figure(result))])
        return section, result

    return step


def classic_seeds(settings: Settings):
    """The classic experiment over many seeds, with error bars."""
    from initlab.experiments.compare import COMPARE_PRESETS, run_compare
    from initlab.plots.compare import accuracy_figure, boundary_figure, loss_figure
    from initlab.report import Section

    options = dict(COMPARE_PRESETS["coursera"])
    seeds = settings.n_seeds(10, 3)
    result = run_compare(seeds=seeds, **options)
    text = seeds_text(result)
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
                     first.grad_std, run.verdict.text])
    return header, rows


def _activation_figures(figs: dict, histogram_caption: str, std_caption: str) -> list:
    """(caption, figure) pairs for the histogram grids and the std-versus-depth plot."""
    return [(histogram_caption.format(activation=name.split("_", 1)[1]), fig)
            if name.startswith("histograms") else (std_caption, fig)
            for name, fig in figs.items()]


def _activation_section(id: str, title: str, options: dict, text_of, histogram_caption: str,
                        std_caption: str):
    """Run the activation study with ``options`` and make its section (text from
    ``text_of(result)``, the per-run table with verdicts, histograms and std-vs-depth)."""
    from initlab.experiments.activations import run_activations
    from initlab.plots.activations import figures
    from initlab.report import Section

    result = run_activations(**options)
    section = Section(
        id=id, title=title, text=text_of(result),
        tables=[("Per-run summary", *_activation_table(result))], config=result.config,
        figures=_activation_figures(figures(result), histogram_caption, std_caption))
    return section, result


def saito_activations(settings: Settings):
    """Deep Learning from Scratch 6.2: histograms of 5 layers of 100 units."""
    from initlab.experiments.activations import preset

    return _activation_section(
        "saito", "Activations at initialization: 5 layers of 100 units", preset("saito"),
        saito_text, "Histograms of the activations per layer ({activation}).",
        "Std of activations and gradients versus depth: theory (lines) and measurements "
        "(markers).")


def deep_study(settings: Settings):
    """The 10-layer tanh/ReLU study, with gradients and theory."""
    from initlab.experiments.activations import preset

    options = preset("cs231n")
    if settings.quick:
        options["width"] = 512
    options["seeds"] = 1  # at this width the nets of different seeds barely differ
    return _activation_section(
        "deep", f"The 10-layer tanh/ReLU study (width {options['width']})", options, deep_text,
        "Histograms per layer ({activation}), 40 bins on (-1, 1).",
        "Std versus depth of the activations (left), their gradients (middle) and the "
        "weight gradients (right): theory as lines, each net as faint markers.")


def digits_compare(settings: Settings):
    """Deep Learning from Scratch's init comparison on the digits data."""
    from initlab.experiments.compare import COMPARE_PRESETS, run_compare
    from initlab.plots.compare import accuracy_figure, loss_figure
    from initlab.report import Section

    options = dict(COMPARE_PRESETS["saito"])
    seeds = settings.n_seeds(5, 2)
    options["iterations"] = settings.length("digits_iterations")
    # float32 halves the time of these matmuls; the comparison does not need float64
    result = run_compare(seeds=seeds, dtype="float32", **options)
    text = digits_text(result)
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
    result = run_regularize(seeds=seeds, epochs=settings.length("regularize_epochs"))
    text = regularization_text(result)
    section = Section(
        id="regularize", title="Overfitting and what L2 and dropout do", text=text,
        tables=[("Train/test accuracy and gap per variant; differs: from none's, only where "
                 "the two 95% intervals do not overlap", *regularization_table(result))],
        config=result.config,
        figures=[("Mean train (dashed) and test (solid) accuracy, band of one std over seeds.",
                  curves_figure(result))])
    return section, result


def normalize_scales(settings: Settings) -> list[float]:
    """The normalization study's weight stds: every third of its 16 with --quick."""
    from initlab.experiments.normalize import SCALES

    return SCALES[::3] if settings.quick else SCALES


def normalization(settings: Settings):
    """Deep Learning from Scratch's BatchNorm experiment: a grid of weight scales."""
    from initlab.experiments.normalize import run_normalize
    from initlab.plots.normalize import grid_figure, summary_figure
    from initlab.report import Section

    seeds = settings.n_seeds(3, 2)
    result = run_normalize(seeds=seeds, scales=normalize_scales(settings),
                           epochs=settings.length("normalize_epochs"))
    text = normalization_text(result, seeds)
    section = Section(
        id="normalize", title="Normalization forgives a bad scale", text=text,
        tables=[("Final accuracy per weight scale, with and without BatchNorm (mean and 95% "
                 "interval over seeds)", *result.table())],
        config=result.config,
        figures=[("Train accuracy after every epoch, one panel per weight std: without "
                  "normalization (dashed) and with BatchNorm (solid); faint lines are seeds.",
                  grid_figure(result)),
                 ("Final train and test accuracy against the weight std (log scale), with 95% "
                  "bands over seeds.", summary_figure(result))])
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
    ("normalize", "Normalization forgives a bad scale", normalization),
    ("depth", "How deep can it go? Correlations and the edge of chaos", depth_study),
]

INTRO = """
Why initialization matters, told by the classic experiments, rerun here on built-in data.
Each section says what was run, shows the figures and tables, states what its source
expects and whether this run agrees; the exact configuration of each run is under it. Every
number was computed by initlab for this report, and two results are called different only
when their 95% intervals say so; where a published value exists, it is shown beside
initlab's.
"""


def as_table(result) -> list:
    """A result's table as plain rows (for results.json summaries)."""
    header, rows = result.table()
    return [header, [[None if isinstance(c, float) and not np.isfinite(c) else c for c in r]
                     for r in rows]]
