"""The report's sections: which experiment each runs, with which Config, and what it shows.

A section is one registered experiment (:mod:`initlab.experiments.registry`) run with the
values :meth:`ReportSection.values` gives at the report's size, plus what the report writes
about it: a title, a text and tables computed from the result, and captions for the
experiment's own figures. The section's "exact configuration" is the TOML of the Config that
ran (``initlab run`` reruns it), so it is true by construction. :data:`SECTIONS` lists them in
reading order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from initlab.errors import InitlabError
from initlab.report.text_activations import deep_text, saito_text
from initlab.report.text_depth import depth_text
from initlab.report.text_residual import residual_table, residual_text
from initlab.report.text_training import (
    classic_tables,
    classic_text,
    digits_text,
    normalization_text,
    regularization_table,
    regularization_text,
    seeds_text,
)
from initlab.report.text_width import coordcheck_text, transfer_text

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


@dataclass(frozen=True)
class ReportSection:
    """One section: ``values(settings)`` are the Config values of experiment ``experiment`` at
    the report's size; ``title(config)``, ``text(result)``, ``tables(result)`` (a list of
    (caption, header, rows)) and ``captions(result, stems)`` (the experiment's figure stems ->
    their captions, in the order shown; a stem left out is not shown) are what the report
    writes."""

    id: str
    experiment: str
    values: Callable
    title: Callable
    text: Callable
    tables: Callable
    captions: Callable
    #: CPU seconds of the run (quick, full), measured on a 2-core machine (2026-11): used only
    #: to start the longest work first, so that the report's workers finish together
    cost: tuple[float, float] = (1.0, 1.0)

    def config(self, settings: Settings):
        """The Config this section runs at ``settings``' size (checked as any Config is)."""
        from initlab.experiments import registry

        cls = registry.get(self.experiment).config
        return cls.from_dict(self.values(settings), source=f"report section {self.id!r}")

    def toml(self, settings: Settings) -> str:
        """The section's exact configuration: a file for ``initlab run``."""
        return self.config(settings).to_toml(self.experiment)

    def heading(self, settings: Settings) -> str:
        """The title, also for a section that failed or did not run (then its Config may be
        what failed: the id stands in)."""
        try:
            return self.title(self.config(settings))
        except Exception:  # noqa: BLE001 - the section is shown as failed with its error
            return self.id


def _table(caption: str):
    """A section's tables: the result's own table under ``caption``."""
    return lambda result: [(caption, *result.table())]


def _classic(dataset: str) -> ReportSection:
    def captions(result, stems):
        extent = "x1 from {:.2f} to {:.2f}, x2 from {:.2f} to {:.2f}".format(
            *result.boundary.extent)
        return {"costs": "Training cost every 1000 iterations (log scale).",
                "boundaries": "Decision boundaries after training, over every train and test "
                              f"point ({extent})."}

    published = dataset == "circles"  # the course published its run on circles only
    return ReportSection(
        id=f"classic-{dataset}", cost=(2.6, 2.6), experiment="reproduce",
        values=lambda s: {"study": "coursera", "dataset": dataset},
        title=lambda c: f"The classic three-layer experiment: {dataset}",
        text=lambda r: classic_text(r, published=published),
        tables=lambda r: classic_tables(r, published=published), captions=captions)


def _activation_captions(histograms: str, std: str):
    """Captions of the activation study's figures: one histogram grid per activation (its
    stem ``histograms_<activation>``), then the std-versus-depth plot."""
    def captions(result, stems):
        return {stem: histograms.format(activation=stem.split("_", 1)[1])
                if stem.startswith("histograms") else std for stem in stems}
    return captions


def _depth_values(settings: Settings) -> dict:
    """The depth study's sizes (``--quick``: the smaller ones)."""
    if settings.quick:
        return {"activation": "tanh", "sigma_w2": list(np.linspace(0.5, 4, 12)),
                "sigma_b2": 0.05, "depth": 60, "width": 200, "seeds": 2, "jacobian": True,
                "jacobian_width": 100, "trainability": True,
                "depths": list(np.linspace(5, 45, 3)),
                "train_sigma_w2": list(np.linspace(1, 4, 4)), "steps": 100, "train_size": 500}
    # Trainability depths 5-60: deeper nets leave chance at no sigma_w^2 in 300 steps, so
    # deeper rows would all read "untrained"; up to 60 the edge of the trained region lies
    # inside the grid (benchmarks/README.md, "Measurements behind constants").
    return {"activation": "tanh", "sigma_w2": list(np.linspace(0.5, 4, 24)), "sigma_b2": 0.05,
            "depth": 100, "width": 400, "seeds": 3, "jacobian": True, "jacobian_width": 200,
            "trainability": True, "depths": list(np.linspace(5, 60, 6)),
            "train_sigma_w2": list(np.linspace(1, 4, 7)), "steps": 300}


def _normalize_scales(settings: Settings) -> list[float]:
    """The normalization study's weight stds: every third of its 16 with --quick."""
    from initlab.experiments.normalize import SCALES

    return list(SCALES[::3] if settings.quick else SCALES)


SECTIONS = [
    _classic("circles"),
    _classic("moons"),
    ReportSection(
        id="classic-seeds", cost=(5, 13), experiment="compare",
        values=lambda s: {"preset": "coursera", "seeds": s.n_seeds(10, 3)},
        title=lambda c: f"The classic experiment over {c.seeds} seeds", text=seeds_text,
        tables=_table("Accuracy over seeds (mean and 95% interval)"),
        captions=lambda r, stems: {"loss": "Training loss: median over seeds and 10-90% band.",
                            "accuracy": "Accuracy by init with 95% intervals.",
                            "boundaries": "Decision boundary of each init's median seed."}),
    ReportSection(
        id="saito", cost=(1.8, 1.8), experiment="activations",
        values=lambda s: {"preset": "saito"},
        title=lambda c: "Activations at initialization: 5 layers of 100 units", text=saito_text,
        tables=lambda r: [("Per-run summary", *activation_table(r))],
        captions=_activation_captions(
            "Histograms of the activations per layer ({activation}).",
            "Std of activations and gradients versus depth: theory (lines) and measurements "
            "(markers).")),
    ReportSection(
        id="deep", cost=(1.2, 6), experiment="activations",
        # at this width the nets of different seeds barely differ: one seed
        values=lambda s: {"preset": "cs231n", "seeds": 1, **({"width": 512} if s.quick else {})},
        title=lambda c: f"The 10-layer tanh/ReLU study (width {c.width})", text=deep_text,
        tables=lambda r: [("Per-run summary", *activation_table(r))],
        captions=_activation_captions(
            "Histograms per layer ({activation}), 40 bins on (-1, 1).",
            "Std versus depth of the activations (left), their gradients (middle) and the "
            "weight gradients (right): theory as lines, each net as faint markers.")),
    ReportSection(
        id="digits", cost=(2.8, 26), experiment="compare",
        # float32 halves the time of these matmuls; the comparison does not need float64
        values=lambda s: {"preset": "saito", "seeds": s.n_seeds(5, 2), "dtype": "float32",
                          "iterations": s.length("digits_iterations")},
        title=lambda c: "Which init lets a deeper net learn? (digits)", text=digits_text,
        tables=_table("Accuracy over seeds (mean and 95% interval)"),
        captions=lambda r, stems: {"loss": "Training loss: median over seeds and 10-90% band.",
                            "accuracy": "Accuracy by init with 95% intervals."}),
    ReportSection(
        id="regularize", cost=(1.9, 14), experiment="regularize",
        values=lambda s: {"seeds": s.n_seeds(5, 2), "epochs": s.length("regularize_epochs")},
        title=lambda c: "Overfitting and what L2 and dropout do", text=regularization_text,
        tables=lambda r: [("Train/test accuracy and gap per variant; differs: from none's, "
                           "only where the two 95% intervals do not overlap",
                           *regularization_table(r))],
        captions=lambda r, stems: {"curves": "Mean train (dashed) and test (solid) accuracy, "
                                             "band of one std over seeds."}),
    ReportSection(
        id="normalize", cost=(2.2, 21), experiment="normalize",
        values=lambda s: {"seeds": s.n_seeds(3, 2), "scales": _normalize_scales(s),
                          "epochs": s.length("normalize_epochs")},
        title=lambda c: "Normalization forgives a bad scale", text=normalization_text,
        tables=_table("Final accuracy per weight scale, with and without BatchNorm (mean and "
                      "95% interval over seeds)"),
        captions=lambda r, stems: {
            "curves": "Train accuracy after every epoch, one panel per weight std: without "
                    "normalization (dashed) and with BatchNorm (solid); faint lines are seeds.",
            "scales": "Final train and test accuracy against the weight std (log scale), "
                       "with 95% bands over seeds."}),
    ReportSection(
        id="depth", cost=(4.5, 38), experiment="propagate", values=_depth_values,
        title=lambda c: "How deep can it go? Correlations and the edge of chaos",
        text=depth_text, tables=_table("Per sigma_w^2: theory and the last layer"),
        captions=lambda r, stems: {
            "propagation": "Length q_l and correlation c_l of the pre-activations against "
                           "depth: the maps' iterates (lines) and the measured nets (circles).",
            "phase": "ln chi_1 over (sigma_w^2, sigma_b^2) with the critical line chi_1 = 1; "
                     "the run's points coloured by their measured last-layer correlation.",
            "jacobian": "Singular values of the input-output Jacobian at criticality.",
            "trainability": "Training accuracy after training over (sigma_w^2, depth), with "
                            "the theory's 6 xi_c on top."}),
    ReportSection(
        id="residual", cost=(1.5, 25), experiment="residual",
        # the study's default grid takes minutes: the report runs one learning rate per
        # optimizer, to 128 blocks (--quick: 16), in fewer steps
        values=lambda s: {"depths": [4, 16] if s.quick else [4, 16, 64, 128],
                          "seeds": s.n_seeds(2, 2), "sgd_lr": [0.01], "adam_lr": [0.003],
                          "iterations": 15 if s.quick else 30,
                          **({"train_size": 200, "probe": 64} if s.quick else {})},
        title=lambda c: f"Residual nets without normalization: up to {max(c.depths)} blocks",
        text=residual_text,
        tables=lambda r: [("At the deepest depth: best learning rate per scheme and optimizer",
                           *residual_table(r))],
        captions=lambda r, stems: {
            "stream": "The stream's std entering each block at init (log scale): each seed "
                      "solid, the theory dashed.",
            "loss": "Final training loss against depth at each optimizer's best learning "
                    "rate, with 95% intervals over seeds."}),
    ReportSection(
        id="width-coordcheck", cost=(1.0, 3), experiment="width-coordcheck",
        values=lambda s: {"widths": [64, 256, 1024], "depth": 2, "steps": 2,
                          "seeds": s.n_seeds(3, 2), "params": ["sp", "mup"]} if s.quick else
        {"widths": [64, 128, 256, 512, 1024], "steps": 4, "seeds": s.n_seeds(3, 2)},
        title=lambda c: "Does it transfer to a wider net? The coordinate check",
        text=coordcheck_text, tables=_table("Slope of log2 mean |x| against log2 width"),
        captions=lambda r, stems: {"coordcheck": "Mean |x| of every layer's output against "
                                   "width (log-log), one panel per step, one row per "
                                   "parametrization."}),
    ReportSection(
        id="width-transfer", cost=(1.0, 8), experiment="width-transfer",
        values=lambda s: {"widths": [64, 256], "seeds": s.n_seeds(2, 2), "steps": 40,
                          "optimizers": ["adam"], "train_size": 300,
                          "adam_lrs": [2.0**k for k in range(-13, -4, 2)]} if s.quick else
        {"widths": [64, 128, 256], "seeds": s.n_seeds(2, 2)},
        title=lambda c: "Does it transfer to a wider net? The learning rate",
        text=transfer_text, tables=_table("Best learning rate per width (argmin of the mean "
                                          "final loss; seed range: the seeds' own argmins)"),
        captions=lambda r, stems: {"transfer": "Final training loss against learning rate, "
                                   "one curve per width (darker: wider); stars: the optimum "
                                   "of each width; dotted: the threshold loss."}),
]


def activation_table(result):
    """The activation studies' table: per run, the first and last layer, theory, verdict."""
    header = ["activation", "init", "std layer 1", f"std layer {len(result.runs[0].layers)}",
              "theory (last layer)", "grad std layer 1", "verdict"]
    rows = []
    for run in result.runs:
        first, last = run.layers[0], run.layers[-1]
        rows.append([run.activation, run.init, first.std, last.std, last.predicted_std,
                     first.grad_std, run.verdict.text])
    return header, rows


def run_section(section: ReportSection, settings: Settings):
    """Run ``section`` at ``settings``' size: its :class:`~initlab.report.html.Section` (figures
    still as matplotlib Figures) and the result."""
    from initlab.experiments import registry
    from initlab.report.html import Section

    exp = registry.get(section.experiment)
    config = section.config(settings)
    result = exp.execute(config)
    figures = exp.figures(result)
    captions = section.captions(result, list(figures))
    missing = [stem for stem in captions if stem not in figures]
    if missing:  # a caption without its figure is a mistake here, not a figure to drop
        raise InitlabError(f"report section {section.id!r} captions figures "
                           f"{', '.join(missing)}, which {exp.name} does not draw (it draws "
                           f"{', '.join(figures) or 'none'})")
    return Section(
        id=section.id, title=section.title(config), text=section.text(result),
        tables=section.tables(result), config=getattr(result, "config", {}),
        config_toml=config.to_toml(exp.name),
        figures=[(caption, figures[stem]) for stem, caption in captions.items()]), result


def as_table(result) -> list:
    """A result's table as plain rows (for results.json summaries)."""
    header, rows = result.table()
    return [header, [[None if isinstance(c, float) and not np.isfinite(c) else c for c in r]
                     for r in rows]]


INTRO = """
Why initialization matters, told by the classic experiments, rerun here on built-in data.
Each section says what was run, shows the figures and tables, states what its source
expects and whether this run agrees; the exact configuration of each run is under it. Every
number was computed by initlab for this report, and two results are called different only
when their 95% intervals say so; where a published value exists, it is shown beside
initlab's.
"""
