"""The report's section on residual nets without normalization: which schemes trained at which
depths and where naive He stopped, every statement computed from the run it describes."""

from __future__ import annotations

import math

import numpy as np


def _depths(result, scheme: str) -> tuple[list[int], list[int]]:
    """(depths where ``scheme`` trained, depths where it did not)."""
    depths = result.config["depths"]
    ok = [d for d in depths if result.trained(scheme, d)]
    return ok, [d for d in depths if d not in ok]


def _listing(values) -> str:
    return ", ".join(str(v) for v in values) if values else "none"


def _growth(result, scheme: str, depth: int) -> str:
    """The measured stream growth from block 0 to the last block, mean over seeds."""
    runs = [r for r in result.runs if (r.scheme, r.depth) == (scheme, depth)]
    ends = [r.stream_std[-1] for r in runs]
    if any(e is None for e in ends):
        return "overflowed float32"
    ratio = np.mean([r.stream_std[-1] / r.stream_std[0] for r in runs])
    return f"grew x{ratio:.3g} in std"


def _optimizers(result, scheme: str, depth: int) -> str:
    """Which optimizers (at their best learning rate) trained ``scheme`` at ``depth``."""
    chance = math.log(result.config["classes"]) / 2
    good = [f"{b.optimizer} (lr {b.lr:g}, loss {b.final_loss_mean:.3g})" for b in result.best
            if (b.scheme, b.depth) == (scheme, depth) and b.diverged == 0
            and b.final_loss_mean is not None and b.final_loss_mean < chance]
    return " and ".join(good) if good else "no optimizer"


def residual_text(result) -> str:
    """The section's explanation: the schemes, the trained depths, the stream at init."""
    cfg = result.config
    deepest = max(cfg["depths"])
    chance = math.log(cfg["classes"]) / 2
    lines = []
    for scheme in cfg["schemes"]:
        ok, failed = _depths(result, scheme)
        where = (f"trained at every depth ({_listing(ok)} blocks)" if not failed else
                 f"trained at no depth ({_listing(failed)} blocks)" if not ok else
                 f"trained at {_listing(ok)} blocks but not at {_listing(failed)}")
        lines.append(f"{scheme} {where}; at {deepest} blocks its stream at init "
                     f"{_growth(result, scheme, deepest)}, and "
                     f"{_optimizers(result, scheme, deepest)} trained it.")
    he_ok, he_failed = _depths(result, "he") if "he" in cfg["schemes"] else ([], [])
    stop = (f"Naive He stopped training at {min(he_failed)} blocks (it trained up to "
            f"{max(he_ok) if he_ok else 'no depth of the grid'})." if he_failed else
            "Naive He trained at every depth of this grid." if "he" in cfg["schemes"] else "")
    text = f"""
    Residual MLPs without normalization: width {cfg['width']}, blocks x <- x + alpha B(x)
    with branches of {cfg['branch']} Dense layers ({cfg['activation']}, {cfg['order']}
    order), on {cfg['n_train']} standardized {cfg['dataset']} images, {cfg['seeds']} seeds,
    {cfg['iterations']} steps of batches of {cfg['batch']}, SGD with momentum 0.9 (learning
    rates {', '.join(f'{v:g}' for v in cfg['sgd_lr'])}) and Adam
    ({', '.join(f'{v:g}' for v in cfg['adam_lr'])}). Fixup (Zhang, Dauphin & Ma 2019),
    SkipInit (De & Smith 2020) and ReZero start every block as the identity; scaled
    residuals (1/sqrt(L) on the last branch layer) keep the stream bounded (Yang & Schoenholz
    2017); He without normalization multiplies its variance by 1 + the branch's gain at every
    block. A scheme counts as trained at a depth when, with some optimizer at its best
    learning rate, no seed diverged and the mean final training loss is under
    ln({cfg['classes']}) / 2 = {chance:.3g}.

    {' '.join(lines)} {stop}
    """
    return text


def residual_table(result):
    """The best learning rate's numbers at the deepest depth, per scheme and optimizer."""
    deepest = max(result.config["depths"])
    header, rows = result.table()
    return header, [row for row in rows if row[1] == deepest]
