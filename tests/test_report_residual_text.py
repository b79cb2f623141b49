"""The residual section's text: every statement follows the numbers of the result."""

import copy

import pytest

from initlab.experiments.residual import run_residual
from initlab.report.text_residual import residual_table, residual_text


@pytest.fixture(scope="module")
def result():
    return run_residual(depths=[2, 12], schemes=["he", "fixup"], seeds=2, iterations=10,
                        width=16, train_size=120, probe=32, batch=32, sgd_lr=[0.01],
                        adam_lr=[0.003])


def test_the_text_says_what_trained_where(result):
    text = " ".join(residual_text(result).split())
    for scheme in ("he", "fixup"):
        ok = [d for d in (2, 12) if result.trained(scheme, d)]
        if ok == [2, 12]:
            assert f"{scheme} trained at every depth (2, 12 blocks)" in text
        elif ok == [2]:
            assert f"{scheme} trained at 2 blocks but not at 12" in text
    if not result.trained("he", 12):
        assert "Naive He stopped training at 12 blocks" in text


def test_changing_the_numbers_changes_the_text(result):
    edited = copy.deepcopy(result)
    for row in edited.best:
        if row.scheme == "he":
            row.final_loss_mean, row.diverged = 0.01, 0
    text = " ".join(residual_text(edited).split())
    assert "Naive He trained at every depth of this grid" in text
    for row in edited.best:
        if row.scheme == "he":
            row.final_loss_mean, row.diverged = None, 2
    text = " ".join(residual_text(edited).split())
    assert "he trained at no depth (2, 12 blocks)" in text


def test_the_table_is_the_deepest_depth(result):
    header, rows = residual_table(result)
    assert header[1] == "depth" and rows and all(r[1] == 12 for r in rows)
