"""The report's normalization section: its sentences are computed from the run it shows."""

import re

import pytest

import initlab.experiments.normalize as normalize
from initlab.report.sections import STEPS, Settings, normalization


@pytest.fixture
def small(monkeypatch):
    real = normalize.run_normalize

    def run(**kw):
        return real(**{**kw, "train_size": 300, "layers": [24, 24, 24], "epochs": 10,
                       "batch": 50, "lr": 0.05})

    monkeypatch.setattr(normalize, "run_normalize", run)
    monkeypatch.setattr(normalize, "SCALES", [1.0, 0.3, 0.1, 0.01, 0.001, 1e-4])


def test_section_text_follows_the_numbers(small):
    section, result = normalization(Settings(quick=True, seeds=2))
    text = " ".join(section.text.split())
    n = len(result.config["scales"])
    plain, batch = result.training_scales("none"), result.training_scales("batch")
    assert n == 2  # quick: every third scale
    assert f"Without normalization {len(plain)} of {n} scales train" in text
    assert f"with BatchNorm {len(batch)} of {n} do" in text
    assert ("This run agrees" in text) == (len(batch) > len(plain)
                                           and set(plain) <= set(batch))
    best = max(result.rows_of("batch"), key=lambda r: r.test_accuracy.mean)
    assert f"{best.test_accuracy.mean:.3f}" in text
    assert len(section.figures) == 2 and section.tables[0][1][0] == "scale"
    assert not re.search(r"\{|\}", text)  # every placeholder was filled
    assert "normalize" in [sid for sid, _, _ in STEPS]
