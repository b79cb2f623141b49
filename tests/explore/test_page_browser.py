"""The explorer in headless Chromium: no errors, no network, the numbers of run_activations."""

import math
import shutil

import pytest

from initlab.experiments.activations import run_activations
from initlab.explore import render
from initlab.explore.atinit import batch_for


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    return None


def close_to_shown(shown: str, value: float) -> bool:
    """``shown`` is ``value`` to the 4 significant digits the page displays."""
    if value == 0:
        return float(shown) == 0
    half_unit = 0.5 * 10 ** (math.floor(math.log10(abs(value))) - 3)
    return abs(float(shown) - value) <= half_unit * (1 + 1e-6)


@pytest.fixture(scope="module")
def browser_page(small_data, tmp_path_factory):
    path = _chromium()
    if path is None:
        pytest.skip("Chromium is not installed (.ci/run installs Debian's chromium package); "
                    "the browser check did not run")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    out = tmp_path_factory.mktemp("explore")
    (out / "explore.html").write_text(render(small_data), encoding="utf-8")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        errors, requests = [], []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: requests.append(r.url))
        page.goto((out / "explore.html").as_uri())
        page.wait_for_load_state("load")
        yield page, errors, requests, out
        browser.close()


def shown_column(page, cls):
    return page.eval_on_selector_all(f"#stdtable td.{cls}", "tds => tds.map(t => t.textContent)")


def test_std_slider_and_depth_show_run_activations_numbers(browser_page):
    page, errors, requests, out = browser_page
    page.select_option("#act", "tanh")
    page.select_option("#width", "32")
    for index, spec in [(0, "normal(0.01)"), (1, "normal(1)")]:
        page.eval_on_selector("#std", f"e => {{ e.value = {index}; "
                              "e.dispatchEvent(new Event('input')); }")
        for depth in (4, 2):
            page.eval_on_selector("#depth", f"e => {{ e.value = {depth}; "
                                  "e.dispatchEvent(new Event('input')); }")
            run = run_activations(spec, "tanh", depth=depth, width=32,
                                  batch=batch_for(32)).runs[0]
            stds, grads = shown_column(page, "std"), shown_column(page, "grad")
            assert len(stds) == depth
            for layer, a, g in zip(run.layers, stds, grads, strict=True):
                assert close_to_shown(a, layer.std), (spec, depth, layer.index, a, layer.std)
                assert close_to_shown(g, layer.grad_std), (spec, depth, layer.index, g)
            assert page.text_content("#verdict").startswith(run.summary())
            assert f'--init "{spec}" --depth {depth} --width 32' in page.text_content("#same")
    page.check("#init-he")
    assert "tanh / he" in page.text_content("#verdict")
    page.locator("#atinit").screenshot(path=str(out / "atinit.png"))
    assert not errors, errors
    assert all(u.startswith("file:") for u in requests), requests


def test_play_advances_the_step_and_moves_the_boundary(browser_page):
    page, errors, requests, out = browser_page
    before = page.eval_on_selector("#boundary0", "c => c.toDataURL()")
    assert page.text_content("#stepout") == "0"
    page.click("#play")
    page.wait_for_function("() => +document.getElementById('step').value >= 5", timeout=10000)
    page.click("#play")  # pause
    step = int(page.text_content("#stepout"))
    assert step >= 250
    assert page.eval_on_selector("#boundary0", "c => c.toDataURL()") != before
    assert page.is_visible("#boundary1")  # the second init, side by side
    page.select_option("#initB", "-1")
    assert not page.is_visible("#boundary1")
    page.locator("#training").screenshot(path=str(out / "training.png"))
    assert not errors, errors
    assert all(u.startswith("file:") for u in requests), requests
