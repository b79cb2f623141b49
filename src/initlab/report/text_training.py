"""The report's sentences about training experiments (the classic net, seeds, digits,
regularization, normalization), computed from the results they describe.

Every comparative or quantitative sentence here is filled in from a result, or picked
between wordings by it (:mod:`initlab.report.wording`): textbook expectations are stated as
expectations and checked against the run, and two means are called different only when
their 95% intervals do not overlap. Each function takes a result and returns the text of one
report section; :mod:`initlab.report.sections` says which experiment each section runs.
"""

from __future__ import annotations

import math

from initlab.report.wording import (
    compare_means,
    compare_spreads,
    differs,
)
from initlab.statistics import format_interval, format_stat, separated


def _fmt(x: float | None, digits: int = 3) -> str:
    return "n/a" if x is None else f"{x:.{digits}f}"


def _pm(s, digits: int = 3) -> str:
    """A Stat's mean with its 95% interval (just the mean without one)."""
    return format_stat(s, digits)


def classic_text(result, published: bool = False) -> str:
    """The classic section's explanation: the course's expectations, then what this run did.

    ``published``: the section shows the course's published run beside this one (circles), so
    the text may say what the published notebook printed; elsewhere it speaks of this run only.
    """
    rows = {r.init: r for r in result.rows}
    zeros, random, he = rows["zeros"], rows["random"], rows["he"]
    cfg = result.config or {}
    steps, ln2 = cfg.get("iterations", 15000), math.log(2)
    flat = max(zeros.costs + [zeros.final_cost or 0.0]) - min(zeros.costs) < 1e-9
    at_ln2 = zeros.final_cost is not None and abs(zeros.final_cost - ln2) < 1e-6
    zeros_text = (f"here the cost stays at {zeros.final_cost:.4f}"
                  + (" = ln 2, the cost of answering 1/2 everywhere" if at_ln2 else "")
                  if flat else f"here the cost moves from {zeros.costs[0]:.4f} to "
                  f"{zeros.final_cost:.4f}, which the course does not expect")
    slower = random.final_cost > he.final_cost
    finite = ("the published notebook prints inf here; initlab computes the cost from the "
              "logits, so it stays finite and no warning is printed" if published else
              "finite: initlab computes the cost from the logits, so it does not overflow and "
              "no warning is printed")
    return f"""
    A [2, 10, 5, 1] network (LINEAR -> RELU -> LINEAR -> RELU -> LINEAR -> SIGMOID) learns
    to separate the course's {result.dataset} data (300 training points, 100 test points),
    trained by full-batch gradient descent with learning rate {cfg.get('lr', 0.01)} for
    {steps} iterations. The three initializations are drawn exactly as the course draws them
    (deeplearning.ai, "Improving Deep Neural Networks", week 1, "Initialization"), from a
    legacy NumPy stream reseeded with 3: all zeros, large random weights (randn * 10, spec
    normal(10)) and He (randn * sqrt(2 / fan_in), spec he; He et al., 2015).

    The course expects zeros never to break the symmetry: every hidden unit computes the
    same function and gets the same update, so the net is no better than its output unit
    alone. {zeros_text[0].upper() + zeros_text[1:]}, and the train accuracy is
    {zeros.train_accuracy:.2f}. It expects large random weights to saturate the output
    sigmoid and learn slowly: their first cost is {random.costs[0]:.1f} ({finite}), and
    after {steps} iterations it is {random.final_cost:.3f}
    with train accuracy {random.train_accuracy:.3f}, against He's {he.final_cost:.3f} and
    {he.train_accuracy:.3f}: {"as expected, He ends lower" if slower else
    "contrary to the expectation, He does not end lower"}.
    """ + (_published_sentence(result) if published else "")


#: The course's published circles table (train, test accuracy), shown beside initlab's numbers.
PUBLISHED_CIRCLES = {"zeros": (0.5, 0.5), "random": (0.83, 0.86), "he": (0.9933333333333333, 0.96)}


def _published_sentence(result) -> str:
    rows = {r.init: r for r in result.rows}
    match = all((rows[k].train_accuracy, rows[k].test_accuracy) == v
                for k, v in PUBLISHED_CIRCLES.items())
    return ("\n\ninitlab's table equals the published one exactly." if match else
            "\n\ninitlab's table differs from the published one (see the table).")


def classic_tables(result, published: bool = False) -> list:
    """The classic section's table: beside the course's published one where it has one
    (circles), else the run's own."""
    if not published:
        return [("Accuracy and cost", *result.table())]
    from initlab.experiments.classic import INITS

    rows = {r.init: r for r in result.rows}
    header = ["init", "spec", "train (initlab)", "train (published)", "test (initlab)",
              "test (published)"]
    return [("initlab beside the published table", header,
             [[k, INITS[k], rows[k].train_accuracy, v[0], rows[k].test_accuracy, v[1]]
              for k, v in PUBLISHED_CIRCLES.items()])]


def _compare_rows_text(result) -> str:
    lines = []
    for row in result.rows:
        t = row.test_accuracy
        div = f", {row.diverged} diverged" if row.diverged else ""
        lines.append(f"{row.init}: test accuracy {format_stat(t)} (std {_fmt(t.std)}{div})")
    return "; ".join(lines) + "."


def seeds_text(result) -> str:
    """The seeds section: spreads and means compared only as far as the statistics allow."""
    rows = {r.init: r for r in result.rows}
    seeds = result.config["seeds"]
    parts = [f"""
    The published table is one run from one seed. Here the same recipe runs from {seeds}
    seeds (legacy RandomState(3), (4), ...; seed 3 is the published run), all trained at once
    as replicas of one model. Bars are 95% intervals of the mean accuracy over seeds
    (Wilson's score interval with the seeds' effective sample size, as under the table), dots
    are single seeds.""", _compare_rows_text(result)]
    zeros, random, he = rows.get("zeros"), rows.get("normal(10)"), rows.get("he")
    if zeros is not None and zeros.test_accuracy.std is not None:
        parts.append("Zeros has no spread at all: whatever the seed, nothing breaks the "
                     "symmetry." if zeros.test_accuracy.std == 0 else
                     f"Zeros spreads by std {zeros.test_accuracy.std:.3f} over seeds.")
    if random is not None and he is not None and random.test_per_seed is not None:
        parts.append("One might expect large random weights to vary more from seed to seed "
                     "than He; " + compare_spreads("random (normal(10))", random.test_per_seed,
                                                   "He", he.test_per_seed, "test accuracy")
                     + ". " + compare_means("He", he.test_accuracy, "random",
                                            random.test_accuracy, "test accuracy") + ".")
    return "\n    ".join(parts)


#: Deep Learning from Scratch, ch. 6.2: what the book expects of each weight scale.

def digits_text(result) -> str:
    """The digits section: the book's expectations beside the measured losses and accuracies."""
    cfg = result.config
    rows = {r.init: r for r in result.rows}
    ln10 = math.log(cfg["sizes"][-1]) if cfg["sizes"][-1] > 1 else math.log(2)
    parts = [f"""
    Deep Learning from Scratch (Saito, 2016, ch. 6.2) trains 4 hidden layers of 100 ReLU
    units on MNIST with SGD (learning rate 0.01, minibatches of 128 drawn with replacement)
    from std 0.01, sqrt(1/n) and sqrt(2/n). Here the same runs on scikit-learn's 8x8 digits
    (no download; run 'initlab compare --preset saito --data PATH' for MNIST files),
    {cfg['iterations']} iterations, {cfg['seeds']} seeds per init, {cfg['dtype']}. The final
    loss is the loss on the whole training set after training.""", _compare_rows_text(result)]
    small = rows.get("normal(0.01)")
    if small is not None and small.final_loss.mean is not None:
        near = abs(small.final_loss.mean - ln10) < 0.05 * ln10
        parts.append(
            f"The book expects std 0.01 not to learn, its loss staying near ln "
            f"{cfg['sizes'][-1]} = {ln10:.3f} (guessing); measured: final loss "
            f"{small.final_loss.mean:.3f}, "
            + ("within 5% of it: as expected." if near else
               "more than 5% away from it: in this run it does learn, contrary to the book."))
    he, lecun = rows.get("he"), rows.get("lecun")
    if he is not None and lecun is not None:
        parts.append("The book expects He, made for ReLU, to learn fastest; after "
                     f"{cfg['iterations']} iterations "
                     + compare_means("he", he.test_accuracy, "lecun", lecun.test_accuracy,
                                     "test accuracy") + ".")
    return "\n    ".join(parts)


def regularization_text(result) -> str:
    """The overfitting section: gaps and accuracies compared only where intervals separate."""
    cfg = result.config
    rows = result.rows
    none = rows[0]
    gap = none.gap
    overfits = gap.ci95 is not None and gap.mean - gap.ci95 > 0
    parts = [f"""
    A deep net ({len(cfg['sizes']) - 2} hidden layers of {cfg['sizes'][1]} ReLU units,
    {cfg['init']} init) is trained on only {cfg['n_train']} digits, after Deep Learning from
    Scratch's overfitting study (Saito, 2016, ch. 6.4). The same net is trained four ways
    from the same {cfg['seeds']} seeds: without regularization, with L2 weight decay (loss +
    lambda/2 sum W^2), with dropout after every hidden layer (inverted form; Srivastava et
    al., 2014), and with both.""",
             f"Without regularization the train accuracy reaches "
             f"{_fmt(none.train_accuracy.mean)} and the test accuracy "
             f"{_fmt(none.test_accuracy.mean)}: a train-test gap of {_pm(gap)}"
             + (", whose 95% interval lies above 0: the net overfits." if overfits else
                ", whose 95% interval does not exclude 0: this run does not show overfitting.")]
    parts.append(_versus_none(rows))
    best = min(rows, key=lambda r: r.gap.mean if r.gap.mean is not None else math.inf)
    clear = all(separated(best.gap, r.gap) for r in rows if r is not best)
    parts.append(f"{best.variant} has the narrowest gap, and its interval is clear of every "
                 f"other's." if clear else
                 f"The narrowest mean gap ({best.variant}, {_pm(best.gap)}) is not clear of "
                 f"every other variant's 95% interval, so this run names no winner.")
    parts.append("The 8x8 digits are an easy task; run 'initlab regularize --data PATH' to see "
                 "the same study on MNIST files.")
    return "\n    ".join(parts)


#: The quantities the regularization table compares with the unregularized net: (name, row
#: attribute, column header).
VERSUS_NONE = [("gap", "gap", "gap differs?"),
               ("test accuracy", "test_accuracy", "test acc differs?")]


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _versus_none(rows) -> str:
    """One sentence on what the table's 'differs from none?' columns found."""
    none, found, known = rows[0], [], 0
    for what, attr, _ in VERSUS_NONE:
        words = [(r.variant, differs(getattr(r, attr), getattr(none, attr))) for r in rows[1:]]
        known += sum(w is not None for _, w in words)
        found += [f"the mean {what} is {word} for {_and([n for n, w in words if w == word])}"
                  for word in ("lower", "higher") if any(w == word for _, w in words)]
    if not known:
        return ("With one seed per variant there is no interval to compare a variant with "
                "none by.")
    if not found:
        return ("No variant's mean gap or mean test accuracy can be told apart from none's "
                "(the table's last two columns: the 95% intervals overlap).")
    rest = ("" if len(found) == known else
            "; the other differences cannot be told apart")
    return (f"Against none, only where the 95% intervals do not overlap (the table's last two "
            f"columns): {', '.join(found)}{rest}.")


def regularization_table(result) -> tuple[list, list]:
    """The section's table: per variant its accuracies, its gap with the 95% interval, and
    whether its mean gap and test accuracy differ from none's (intervals apart)."""
    none = result.rows[0]
    header = ["variant", "train acc", "test acc", "95% interval", "gap", "+-95%",
              *(column for *_, column in VERSUS_NONE)]
    rows = []
    for r in result.rows:
        cells = []
        for _, attr, _ in VERSUS_NONE:
            word = differs(getattr(r, attr), getattr(none, attr))
            cells.append("reference" if r is none else "n/a (1 seed)" if word is None else
                         word if word == "no" else f"yes, {word}")
        rows.append([r.variant, r.train_accuracy.mean, r.test_accuracy.mean,
                     format_interval(r.test_accuracy), r.gap.mean, r.gap.ci95, *cells])
    return header, rows


def _scale_list(scales) -> str:
    return ", ".join(f"{s:.2g}" for s in scales) if scales else "none"


def normalization_text(result) -> str:
    """Deep Learning from Scratch 6.3's BatchNorm grid: which scales train with and without."""
    from initlab.experiments.normalize import SCALES  # the book's

    n, cfg = len(result.config["scales"]), result.config
    seeds = cfg["seeds"]
    plain, batch = result.training_scales("none"), result.training_scales("batch")
    only = [s for s in batch if s not in plain]
    lost = [s for s in plain if s not in batch]
    diverged = sum(r.diverged for r in result.rows_of("none"))
    best = {norm: max(result.rows_of(norm), key=lambda r: r.test_accuracy.mean or 0.0)
            for norm in ("none", "batch")}
    agrees = len(batch) > len(plain) and not lost
    below = ""
    if batch and min(batch) > min(cfg["scales"]):
        below = (f"Below std {min(batch):.2g} even BatchNorm does not train in {cfg['epochs']} "
                 f"epochs; the expected reason: the first layer's pre-activations then have a "
                 f"variance near or below eps = {cfg['eps']:g}, which the normalization no "
                 f"longer scales back to 1.")
    text = f"""
    Deep Learning from Scratch ends its initialization chapter where Batch Normalization
    begins: it trains a net of 5 hidden layers of 100 ReLU units from weights N(0, std^2) for
    {len(SCALES)} values of std between 1 and 1e-4, with and without BatchNorm between each
    linear layer and its ReLU, and shows that only a narrow band of scales trains without it.
    Here the same runs{"" if list(cfg["scales"]) == SCALES else f" at {n} weight stds"} on
    {cfg['n_train']} of scikit-learn's 8x8 digits (run 'initlab normalize --data PATH' for
    MNIST files): SGD with learning rate {cfg['lr']}, batches of {cfg['batch']},
    {cfg['epochs']} epochs, {seeds} seeds per scale, every (scale, seed) pair a replica of one
    model per variant. A scale counts as training when its mean final train accuracy is at
    least {cfg['threshold']:.2f}, halfway from chance ({cfg['chance']:.2f}) to 1.

    Without normalization {len(plain)} of {n} scales train (std {_scale_list(plain)}); with
    BatchNorm {len(batch)} of {n} do (std {_scale_list(batch)}). {len(only)} scale(s) train
    only with BatchNorm{f", and {len(lost)} only without it ({_scale_list(lost)})" if lost
    else ""}. {f"Without normalization {diverged} run(s) diverged (the loss became inf or "
    "NaN)." if diverged else "No run diverged."} The best test accuracy without
    normalization is {_fmt(best['none'].test_accuracy.mean)} (std {best['none'].scale:.2g});
    with BatchNorm {_fmt(best['batch'].test_accuracy.mean)} (std
    {best['batch'].scale:.2g}).

    The expectation, from the book and from Ioffe and Szegedy (2015): normalizing each
    layer's pre-activations restores their scale at every layer, so the init's scale stops
    mattering over a wide range. {"This run agrees: BatchNorm widens the band of scales that "
    "train." if agrees else "This run does not show it: BatchNorm did not widen the band of "
    "scales that train here."} {below}
    """
    return text
