"""The results of the residual-net depth study (:mod:`initlab.experiments.residual`): one row
per replica, the best learning rate per scheme, depth and optimizer, and theory's stream."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from initlab.results import Result
from initlab.statistics import summarize


@dataclass
class ResidualRun(Result):
    """One replica: its scheme, depth, optimizer, learning rate and seed; the stream's std
    entering each block and after the last at init (None where it overflowed), the first
    block's gradient norm at init, and after training its final loss and accuracy on the
    training set (None where it diverged) and whether it diverged."""

    scheme: str
    depth: int
    optimizer: str
    lr: float
    seed: int
    stream_std: list
    first_grad_norm: float | None
    final_loss: float | None
    final_accuracy: float | None
    diverged: bool


@dataclass
class BestRow(Result):
    """The grid's best learning rate for one scheme, depth and optimizer (fewest diverged
    seeds, then the lowest mean final loss), with the mean final loss and its Student-t 95%
    half-width over the seeds that did not diverge."""

    scheme: str
    depth: int
    optimizer: str
    lr: float
    final_loss_mean: float | None
    final_loss_ci95: float | None
    final_accuracy_mean: float | None
    diverged: int
    seeds: int


@dataclass
class StreamTheory(Result):
    """Theory's stream std per block for one scheme and depth (from the measured block-0
    second moment, mean over seeds)."""

    scheme: str
    depth: int
    stream_std: list


@dataclass
class ResidualResult(Result):
    """Every run, the best learning rates, the theory, and the configuration."""

    runs: list[ResidualRun]
    best: list[BestRow]
    theory: list[StreamTheory]
    config: dict

    def table(self):
        header = ["scheme", "depth", "optimizer", "best lr", "final loss", "+-95%",
                  "accuracy", "diverged"]
        return header, [[b.scheme, b.depth, b.optimizer, b.lr, b.final_loss_mean,
                         b.final_loss_ci95, b.final_accuracy_mean, f"{b.diverged}/{b.seeds}"]
                        for b in self.best]

    def footnote(self) -> str:
        return ("best lr: fewest diverged seeds, then the lowest mean final training loss; "
                "+-95%: Student-t half-width over the seeds that did not diverge")

    def trained(self, scheme: str, depth: int) -> bool:
        """Whether ``scheme`` trained at ``depth``: with some optimizer at its best learning
        rate, no seed diverged and the mean final training loss is under ln(classes) / 2."""
        chance = math.log(self.config["classes"]) / 2
        return any(b.diverged == 0 and b.final_loss_mean is not None
                   and b.final_loss_mean < chance for b in self.best
                   if b.scheme == scheme and b.depth == depth)


def best_rows(runs: list[ResidualRun]) -> list[BestRow]:
    """Per scheme, depth and optimizer, the learning rate with the fewest diverged seeds and
    then the lowest mean final loss, with its statistics over the seeds."""
    cells: dict = {}
    for r in runs:
        cells.setdefault((r.scheme, r.depth, r.optimizer), {}).setdefault(r.lr, []).append(r)
    out = []
    for (scheme, depth, opt), by_lr in cells.items():
        def key(item):
            group = item[1]
            losses = [r.final_loss for r in group if r.final_loss is not None]
            return (sum(r.diverged for r in group), np.mean(losses) if losses else math.inf)

        lr, group = min(by_lr.items(), key=key)
        loss = summarize([r.final_loss for r in group if r.final_loss is not None])
        accs = [r.final_accuracy for r in group if r.final_accuracy is not None]
        out.append(BestRow(scheme, depth, opt, lr, loss.mean, loss.ci95,
                           float(np.mean(accs)) if accs else None,
                           sum(r.diverged for r in group), len(group)))
    return out
