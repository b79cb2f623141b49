"""The width sections' text: every number and verdict in it comes from the result."""

import pytest

from initlab.experiments.width_transfer import DriftRow, OptimumRow, TransferResult
from initlab.report.sections import SECTIONS, Settings
from initlab.report.text_width import coordcheck_text, growth, transfer_text

SECTION = {s.id: s for s in SECTIONS}


def quick_result(name):
    from initlab.experiments import registry

    section = SECTION[name]
    return registry.get(section.experiment).execute(section.config(Settings(quick=True)))


def test_coordcheck_text_quotes_the_growth_and_the_verdicts():
    result = quick_result("width-coordcheck")
    text = coordcheck_text(result)
    for p, verdict in result.verdict.items():
        assert f"{p}: {growth(result, p, 'output', 1):.3g}x" in text
        assert (verdict in text) if verdict != "stable" else ("(stable)" in text)


def test_transfer_text_says_what_moved_and_whether_within_the_noise():
    result = quick_result("width-transfer")
    text = transfer_text(result)
    for d in result.drift:
        shown = "does not move" if d.factor == 1 else f"moves by a factor {d.factor:.3g}"
        assert f"{d.param}, {d.optimizer}: from width 64 to 256 the best rate {shown}" in \
            " ".join(text.split())
    assert text.count("within the noise") == sum(d.within_noise for d in result.drift) + 0


def synthetic(losses, factor, within, thr):
    rows = [OptimumRow("sp", "adam", w, lr, lr / 2, lr * 2, loss, t)
            for w, lr, loss, t in zip((64, 256, 1024), (1e-2, 1e-2, 1e-3), losses, thr,
                                      strict=True)]
    return TransferResult(runs=[], optimum=rows, drift=[DriftRow("sp", "adam", factor, within,
                                                                 None if None in thr else
                                                                 thr[-1] / thr[0])],
                          config={"widths": [64, 256, 1024], "seeds": 3, "steps": 10,
                                  "batch": 8, "dataset": "digits", "threshold": 1.0})


@pytest.mark.parametrize("losses, expect", [
    ((0.5, 0.4, 0.3), "Wider is better: the loss at the optimum falls at every width, from "
                      "0.5 at width 64 to 0.3 at 1024."),
    ((0.5, 0.6, 0.3), "lower overall but not at every wider width"),
    ((0.5, 0.4, 0.7), "not lower"),
    ((0.5, None, 0.7), "Some width has no finite loss at its optimum."),
])
def test_wider_is_better_is_checked_from_the_optima(losses, expect):
    text = " ".join(transfer_text(synthetic(losses, 0.1, False, (1e-3, 1e-3, 1e-4))).split())
    assert expect in text
    assert "moves by a factor 0.1" in text and "outside the seeds' ranges" in text
    assert "the threshold rate moves by a factor 0.1 (0.001 to 0.0001)" in text


def test_a_threshold_off_the_grid_is_said_so():
    text = " ".join(transfer_text(synthetic((0.5, 0.4, 0.3), 1.0, True,
                                            (1e-3, None, None))).split())
    assert "the best rate does not move" in text and "within the noise" in text
    assert "the threshold rate is off the grid at one of the two widths" in text
