"""``initlab report``: the quick report end to end, in a real browser, and with a failed section."""

import json
import shutil
import subprocess
import sys

import pytest

from initlab.cli import main
from initlab.report import Section, render
from initlab.report.sections import STEPS


@pytest.fixture(scope="module")
def quick_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    proc = subprocess.run([sys.executable, "-m", "initlab.cli", "report", "--quick", "--out",
                           str(out)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out, proc


def test_quick_report_writes_every_section(quick_report):
    out, proc = quick_report
    assert "all ok" in proc.stdout and "Traceback" not in proc.stderr
    results = json.loads((out / "results.json").read_text())
    assert list(results["sections"]) == [sid for sid, _, _ in STEPS]
    assert all(s["status"] == "ok" for s in results["sections"].values())
    circles = results["sections"]["classic-circles"]["result"]
    assert [r["train_accuracy"] for r in circles["rows"]] == [0.5, 0.83, 0.9933333333333333]
    pngs = sorted(out.glob("*.png"))
    assert len(pngs) >= len(STEPS) and all(p.stat().st_size > 5000 for p in pngs)


def test_report_html_is_self_contained(quick_report):
    page = (quick_report[0] / "report.html").read_text()
    assert "<script" not in page and "http://" not in page and "https://" not in page
    # the interactive explorer is written beside the report and linked from its top
    assert (quick_report[0] / "explore.html").stat().st_size > 100_000
    assert page.index('href="explore.html"') < page.index("<nav>")
    assert page.count('src="data:image/png;base64,') >= len(STEPS)
    for _, title, _ in STEPS:  # titles end with measured details, so check their start
        assert f"<h2>{' '.join(title.split()[:4])}" in page
    assert "initlab 0" in page or "initlab " in page  # the version line


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    return None


def test_report_in_headless_chromium(quick_report):
    out = quick_report[0]
    browser_path = _chromium()
    if browser_path is None:
        pytest.skip("Chromium is not installed (.ci/run installs Debian's chromium package); "
                    "the browser check did not run")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    errors = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=browser_path,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"])
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto((out / "report.html").as_uri())
        page.wait_for_load_state("load")
        widths = page.eval_on_selector_all("img", "imgs => imgs.map(i => i.naturalWidth)")
        headings = page.eval_on_selector_all("h2", "hs => hs.map(h => h.textContent)")
        page.screenshot(path=str(out / "screenshot.png"), full_page=False)
        browser.close()
    assert not errors, errors
    assert len(widths) >= len(STEPS) and all(w > 0 for w in widths), widths
    assert len(headings) == len(STEPS)
    for (_, title, _), heading in zip(STEPS, headings, strict=True):
        assert heading.split()[:4] == title.split()[:4]
    assert (out / "screenshot.png").stat().st_size > 10000


def test_a_failed_section_is_marked_and_the_exit_code_says_so(tmp_path, monkeypatch, capsys):
    def broken(settings):
        raise RuntimeError("the data went missing")

    def fine(settings):
        from initlab.experiments.compare import Stat

        return Section(id="fine", title="A fine section", text="All good."), Stat(1.0, 0.0, None)

    monkeypatch.setattr("initlab.report.sections.STEPS", [("broken", "A broken section", broken),
                                                ("fine", "A fine section", fine)])
    assert main(["report", "--out", str(tmp_path), "--jobs", "1", "-q", "--no-explore"]) == 1
    assert "1 section(s) failed: A broken section" in capsys.readouterr().out
    page = (tmp_path / "report.html").read_text()
    assert "This section failed" in page and "the data went missing" in page
    assert "A fine section" in page
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["sections"]["broken"]["status"] == "failed"
    assert "RuntimeError" in results["sections"]["broken"]["traceback"]
    assert results["sections"]["fine"]["status"] == "ok"


def test_a_failed_explorer_is_reported_and_the_sections_still_come_out(tmp_path, monkeypatch,
                                                                        capsys):
    def fine(settings):
        from initlab.experiments.compare import Stat

        return Section(id="fine", title="A fine section", text="All good."), Stat(1.0, 0.0, None)

    def broken(kind, args, kwargs):
        raise RuntimeError("no room for the page")

    monkeypatch.setattr("initlab.report.sections.STEPS", [("fine", "A fine section", fine)])
    monkeypatch.setattr("initlab.explore.build.run_task", broken)
    assert main(["report", "--out", str(tmp_path), "--jobs", "1", "-q"]) == 1
    captured = capsys.readouterr()
    assert "the explorer failed: RuntimeError: no room for the page" in captured.err
    assert "1 section(s) failed: the interactive explorer" in captured.out
    page = (tmp_path / "report.html").read_text()
    assert "A fine section" in page and 'href="explore.html"' not in page


def test_render_escapes_text():
    page = render([Section(id="x", title="<b>", text="a < b")], title="t", intro="i",
                  version="0", settings={})
    assert "&lt;b&gt;" in page and "a &lt; b" in page


def test_unwritable_output_folder(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(["report", "--out", str(blocker / "sub"), "-q"]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err


def test_report_help_lists_examples(capsys):
    assert main(["report", "--help"]) == 0
    assert "initlab report --quick" in capsys.readouterr().out


def test_exact_configuration_is_runnable_toml_of_what_ran(quick_report):
    """Each section's configuration is the TOML 'initlab run' takes, with the values it ran."""
    import tomllib

    from initlab.cli import command_parser
    from initlab.cli.config import COMMAND_KEY, to_argv

    results = json.loads((quick_report[0] / "results.json").read_text())
    for sid, entry in results["sections"].items():
        doc = tomllib.loads(entry["config_toml"])
        command = doc.pop(COMMAND_KEY)
        parser = command_parser(command)
        parser.parse_args(to_argv(doc, parser, sid))  # parses: no unknown key, no bad value
        ran = entry["result"].get("config") or {}
        for key in ("seeds", "iterations", "epochs", "width", "batch"):
            if key in doc and key in ran:
                assert doc[key] == ran[key], (sid, key)
        if "sizes" in ran and "width" in doc:
            assert ran["sizes"][1] == doc["width"], sid
    assert "Exact configuration" in (quick_report[0] / "report.html").read_text()
