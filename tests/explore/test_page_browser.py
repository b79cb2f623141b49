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


def set_value(page, selector, value):
    """Move a control (slider or select) to ``value`` as a user would: an input event."""
    page.eval_on_selector(selector, f"e => {{ e.value = {value!r}; "
                          "e.dispatchEvent(new Event('input')); }")


def canvas_pixel(page, selector, x, y):
    """The (r, g, b) of pixel (x, y) of the canvas ``selector``, in its own pixels."""
    return tuple(page.eval_on_selector(
        selector, "(c, [x, y]) => Array.from(c.getContext('2d').getImageData(x, y, 1, 1).data)"
        ".slice(0, 3)", [x, y]))


def rgb(hex_colour):
    return tuple(int(hex_colour[k:k + 2], 16) for k in (1, 3, 5))


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


def test_play_advances_the_step_and_moves_the_boundary(browser_page, small_data):
    page, errors, requests, out = browser_page
    steps = small_data["training"]["datasets"]["circles"]["steps"]
    before = page.eval_on_selector("#boundary0", "c => c.toDataURL()")
    assert page.text_content("#stepout") == "0"
    page.click("#play")
    page.wait_for_function("() => +document.getElementById('step').value >= 5", timeout=10000)
    page.click("#play")  # pause
    step = int(page.text_content("#stepout"))
    assert step >= steps[5]
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


def test_step_slider_ends_on_the_last_step(browser_page, small_data):
    page, errors, requests, out = browser_page
    training = small_data["training"]
    page.select_option("#ds", "circles")
    page.eval_on_selector("#step", "e => { e.value = e.max; e.dispatchEvent(new Event('input')); }")
    assert page.text_content("#stepout") == str(training["iterations"])
    assert f"step {training['iterations']}," in page.text_content("#btitle0")
    assert not errors, errors


def test_cost_chart_shows_the_step_0_point(browser_page, small_data):
    """At step 0 each shown init's cost is one point: it is drawn (a line of one point is
    not; the chart has as many frames as uPlot needs to hide its automatic points)."""
    page, errors, requests, out = browser_page
    inits = small_data["training"]["inits"]
    page.select_option("#ds", "circles")
    set_value(page, "#initA", str(inits.index("he")))
    set_value(page, "#initB", str(inits.index("normal(10)")))
    set_value(page, "#step", 0)
    counts = page.eval_on_selector("#costplot", """root => {
      const c = root.querySelector("canvas"), d = c.getContext("2d")
        .getImageData(0, 0, c.width, c.height).data;
      return [...root.querySelectorAll(".u-legend .u-series .u-marker")].map((m) => {
        const want = getComputedStyle(m).borderTopColor.match(/\\d+/g).map(Number);
        let n = 0;
        for (let i = 0; i < d.length; i += 4) {
          if (Math.abs(d[i] - want[0]) + Math.abs(d[i + 1] - want[1]) +
              Math.abs(d[i + 2] - want[2]) < 40) n++;
        }
        return n;
      });
    }""")
    assert len(counts) == 2 and min(counts) > 0, counts
    assert not errors, errors


def test_boundary_uses_the_reports_class_colours(browser_page, small_data):
    from initlab.explore.encode import decode
    from initlab.plots.common import CLASS_POINTS, CLASS_REGIONS

    page, errors, requests, out = browser_page
    t = small_data["training"]["datasets"]["circles"]
    inits = small_data["training"]["inits"]
    page.select_option("#ds", "circles")
    for r in (inits.index("he"), inits.index("zeros")):
        set_value(page, "#initA", str(r))
        for k in (0, len(t["steps"]) - 1):
            set_value(page, "#step", k)
            # the top-left corner (x0, y1) is the grid's last row, first column: no point there
            cls = int(decode(t["boundary"])[r, k, -1, 0])
            assert canvas_pixel(page, "#boundary0", 1, 1) == rgb(CLASS_REGIONS[cls]), (r, k)
    # the last point is drawn last, on top of all: its centre pixel has its class's colour
    (x, y), cls = t["X"][-1], t["y"][-1]
    x0, x1, y0, y1 = t["extent"]
    size = page.eval_on_selector("#boundary0", "c => [c.width, c.height]")
    px, py = int((x - x0) / (x1 - x0) * size[0]), int((y1 - y) / (y1 - y0) * size[1])
    assert canvas_pixel(page, "#boundary0", px, py) == rgb(CLASS_POINTS[cls])
    assert not errors, errors


def test_a_fixed_point_below_the_solvers_tolerance_shows_as_0(browser_page, small_data):
    """tanh without bias: c* is exactly 0; the solver returns ~1e-33 at some points, and the
    page shows every c* below :data:`C_STAR_TOLERANCE` as 0, in the table and the text."""
    from initlab.explore.encode import decode
    from initlab.explore.phase import C_STAR_TOLERANCE

    page, errors, requests, out = browser_page
    p = small_data["phase"]
    c_star = decode(p["grids"]["tanh"]["numbers"])[:, :, p["numbers_order"].index("c_star")]
    tiny = [(ib, iw) for ib in range(len(p["sb2"])) for iw in range(len(p["sw2"]))
            if 0 < abs(c_star[ib, iw]) < C_STAR_TOLERANCE]
    assert tiny  # the lattice has such a point (conftest), else this tests nothing
    page.select_option("#pact", "tanh")
    for ib, iw in tiny:
        set_value(page, "#sw", iw)
        set_value(page, "#sb", ib)
        assert page.text_content('#mf td[data-k="c_star"]') == "0"
        assert "c* = 0:" in page.text_content("#phaseverdict")
    assert not errors, errors


def expected_phase(mf) -> str:
    """What the computed numbers say: on the critical line (chi_1 = 1), chaotic (chi_1 > 1
    and c* < 1: nearby inputs decorrelate), ordered (chi_1 < 1, c* = 1), or chi_1 > 1 with
    c* = 1 (ReLU, whose length grows without bound): not chaotic."""
    if abs(mf.chi_1 - 1) < 1e-6:
        return "critical"
    if mf.c_star < 1 - 1e-9:
        return "chaotic"
    return "ordered" if mf.chi_1 < 1 else "not chaotic"


def test_phase_text_says_what_the_numbers_say(browser_page, small_data):
    from initlab.nn.activations import get_activation
    from initlab.theory import mean_field

    page, errors, requests, out = browser_page
    p = small_data["phase"]
    seen = set()
    for name in p["activations"]:
        page.select_option("#pact", name)
        for ib, sb2 in enumerate(p["sb2"]):
            for iw, sw2 in enumerate(p["sw2"]):
                set_value(page, "#sw", iw)
                set_value(page, "#sb", ib)
                mf, text = mean_field(get_activation(name), sw2, sb2), page.text_content(
                    "#phaseverdict")
                phase, where = expected_phase(mf), (name, sw2, sb2, text)
                seen.add(phase)
                alike = "c* = 1: all inputs end up alike" in text
                apart = "nearby inputs decorrelate" in text
                assert alike == (mf.c_star >= 1 - 1e-9) and apart == (not alike), where
                if phase == "chaotic":
                    assert "> 1: chaotic" in text and "not chaotic" not in text, where
                elif phase == "not chaotic":
                    assert "> 1, yet not chaotic" in text, where
                elif phase == "ordered":
                    assert "< 1: ordered" in text and "chaotic" not in text, where
                else:
                    assert "on the critical line" in text, where
                assert ("q_l grows without bound" in text) == (mf.q_star == math.inf), where
                assert ("q_l shrinks to 0" in text) == (mf.q_star == 0), where
    assert seen == {"critical", "chaotic", "ordered", "not chaotic"}, seen
    assert not errors, errors


def test_page_fits_an_800_px_window(browser_page):
    """No horizontal scroll at 800 px, whether the page opens there or the window shrinks
    to it (the charts follow the window's width)."""
    page, errors, requests, out = browser_page
    width = "document.documentElement.scrollWidth"
    page.set_viewport_size({"width": 800, "height": 800})
    page.wait_for_function(f"() => {width} <= 800", timeout=5000)
    fresh = page.context.browser.new_page(viewport={"width": 800, "height": 800})
    fresh.goto(page.url)
    fresh.wait_for_function("() => window.__explore")
    assert fresh.evaluate(width) <= 800
    fresh.screenshot(path=str(out / "page-800.png"), full_page=True)
    fresh.close()
    page.set_viewport_size({"width": 1280, "height": 800})
    page.wait_for_function(f"() => {width} <= 1280", timeout=5000)
    assert not errors, errors


def test_legends_tell_measured_from_theory(browser_page):
    """Every chart's legend names each series measured or theory; theory is dashed, measured
    solid, in the legend as in the chart."""
    page, errors, requests, out = browser_page
    set_value(page, "#initB", "0")  # a second init shown: its series is labelled too
    rows = page.eval_on_selector_all(".u-legend .u-series", """rows => rows.map((r) => [
      r.querySelector(".u-label").textContent,
      getComputedStyle(r.querySelector(".u-marker")).borderTopStyle])""")
    assert len(rows) >= 10, rows
    for label, style in rows:
        kinds = [k for k in ("(measured)", "(theory)") if k in label]
        assert len(kinds) == 1, label
        assert style == ("dashed" if kinds == ["(theory)"] else "solid"), (label, style)
    assert not errors, errors
