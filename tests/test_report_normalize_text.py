"""The report's normalization section: its sentences are computed from the run it shows."""

import dataclasses
import re

import pytest

from initlab.report.sections import SECTIONS, Settings, run_section


@pytest.fixture
def small():
    """The report's normalization section on a smaller net and two of its scales."""
    spec = next(s for s in SECTIONS if s.id == "normalize")
    return dataclasses.replace(spec, values=lambda s: {
        **spec.values(s), "train_size": 300, "layers": [24, 24, 24], "epochs": 10,
        "batch": 50, "lr": 0.05, "scales": [1.0, 0.01]})


def test_section_text_follows_the_numbers(small):
    section, result = run_section(small, Settings(quick=True, seeds=2))
    text = " ".join(section.text.split())
    n = len(result.config["scales"])
    plain, batch = result.training_scales("none"), result.training_scales("batch")
    assert n == 2
    assert f"Without normalization {len(plain)} of {n} scales train" in text
    assert f"with BatchNorm {len(batch)} of {n} do" in text
    assert ("This run agrees" in text) == (len(batch) > len(plain)
                                           and set(plain) <= set(batch))
    best = max(result.rows_of("batch"), key=lambda r: r.test_accuracy.mean)
    assert f"{best.test_accuracy.mean:.3f}" in text
    assert len(section.figures) == 2 and section.tables[0][1][0] == "scale"
    assert not re.search(r"\{|\}", text)  # every placeholder was filled
    assert len(section.figures) == 2
