"""The explorer in headless Chromium: no errors, no network, the numbers of run_activations."""

import math
import re
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
        page.wait_for_function("() => window.__explore")  # deflated data inflated, drawn
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
            verdict = page.text_content("#verdict")
            assert verdict.startswith(run.summary() + ".")
            # the sentence after the verdict: the end-to-end factor only (the verdict has the
            # fitted per-layer one), computed from the shown run
            rest, whole = verdict[len(run.summary()) + 1:], run.layers[-1].std / run.layers[0].std
            assert "per layer" not in rest
            shown = re.fullmatch(rf" From layer 1 to layer {depth} the activation std "
                                 r"(grows|shrinks) (\S+)x\.", rest)
            assert shown and shown[1] == ("grows" if whole > 1 else "shrinks"), rest
            assert close_to_shown(shown[2], max(whole, 1 / whole)), (rest, whole)
            assert f'--init "{spec}" --depth {depth} --width 32' in page.text_content("#same")
    # batch normalization: the same setting with --norm batch
    page.select_option("#axis-norm", "batch")
    run = run_activations("normal(1)", "tanh", depth=2, width=32, batch=batch_for(32),
                          norm="batch").runs[0]
    for layer, a in zip(run.layers, shown_column(page, "std"), strict=True):
        assert close_to_shown(a, layer.std), (layer.index, a, layer.std)
    assert page.text_content("#verdict").startswith(run.summary())
    assert "--norm batch --json" in page.text_content("#same")
    page.eval_on_selector("#depth", "e => { e.value = 4; e.dispatchEvent(new Event('input')); }")
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


def test_phase_panel_shows_the_theory_api_numbers(browser_page, small_data):
    from initlab.nn.activations import get_activation
    from initlab.theory import iterate, mean_field

    page, errors, requests, out = browser_page
    p = small_data["phase"]
    for name, iw, ib in [("tanh", 1, 1), ("relu", 4, 2), ("tanh", 3, 0)]:
        page.select_option("#pact", name)
        for sel, value in (("#sw", iw), ("#sb", ib)):
            page.eval_on_selector(sel, f"e => {{ e.value = {value}; "
                                  "e.dispatchEvent(new Event('input')); }")
        sw2, sb2 = p["sw2"][iw], p["sb2"][ib]
        mf = mean_field(get_activation(name), sw2, sb2)
        for key in ("q_star", "c_star", "chi_1", "xi_q", "xi_c"):
            shown, want = page.text_content(f'#mf td[data-k="{key}"]'), getattr(mf, key)
            if math.isinf(want):
                assert shown == "inf", (name, key, shown)
            else:
                assert close_to_shown(shown, want), (name, sw2, sb2, key, shown, want)
        q, c = iterate(get_activation(name), sw2, sb2, q0=p["q0"], c0=p["c0"], depth=p["depth"])
        for row in page.query_selector_all("#qctable tr[data-layer]"):
            layer = int(row.get_attribute("data-layer"))
            assert close_to_shown(row.query_selector("td.q").text_content(), q[layer - 1])
            assert close_to_shown(row.query_selector("td.c").text_content(), c[layer - 1])
        word = "ordered" if mf.chi_1 < 1 else "chaotic"
        assert word in page.text_content("#phaseverdict") or "critical" in page.text_content(
            "#phaseverdict")
    # dragging the point on the diagram moves it to the nearest lattice point
    page.select_option("#pact", "tanh")
    page.locator("#phaseplot .u-over").scroll_into_view_if_needed()
    box = page.locator("#phaseplot .u-over").bounding_box()
    page.mouse.move(box["x"] + 2, box["y"] + box["height"] - 2)  # lowest sigma_w^2 and sigma_b^2
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] - 2, box["y"] + 2, steps=4)  # the highest
    page.mouse.up()
    assert page.input_value("#sw") == str(len(p["sw2"]) - 1)
    assert page.input_value("#sb") == str(len(p["sb2"]) - 1)
    mf = mean_field(get_activation("tanh"), p["sw2"][-1], p["sb2"][-1])
    assert close_to_shown(page.text_content('#mf td[data-k="chi_1"]'), mf.chi_1)
    page.locator("#phase").screenshot(path=str(out / "phase.png"))
    assert not errors, errors
    assert all(u.startswith("file:") for u in requests), requests
