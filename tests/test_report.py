"""``initlab report``: the quick report end to end, in a real browser, and with a failed section."""

import json
import shutil
import subprocess
import sys

import pytest
from threadpoolctl import threadpool_limits

from initlab.cli import main
from initlab.report import Section, render
from initlab.report.sections import SECTIONS, ReportSection, Settings


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
    assert list(results["sections"]) == [section.id for section in SECTIONS]
    assert all(s["status"] == "ok" for s in results["sections"].values())
    circles = results["sections"]["classic-circles"]["result"]
    assert [r["train_accuracy"] for r in circles["rows"]] == [0.5, 0.83, 0.9933333333333333]
    pngs = sorted(out.glob("*.png"))
    assert len(pngs) >= len(SECTIONS) and all(p.stat().st_size > 5000 for p in pngs)


def test_report_html_is_self_contained(quick_report):
    page = (quick_report[0] / "report.html").read_text()
    assert "<script" not in page and "http://" not in page and "https://" not in page
    # the interactive explorer is written beside the report and linked from its top
    assert (quick_report[0] / "explore.html").stat().st_size > 100_000
    assert page.index('href="explore.html"') < page.index("<nav>")
    assert page.count('src="data:image/png;base64,') >= len(SECTIONS)
    for section in SECTIONS:  # titles end with measured details, so check their start
        title = section.heading(Settings(quick=True))
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
    assert len(widths) >= len(SECTIONS) and all(w > 0 for w in widths), widths
    assert len(headings) == len(SECTIONS)
    titles = [section.heading(Settings(quick=True)) for section in SECTIONS]
    for title, heading in zip(titles, headings, strict=True):
        assert heading.split()[:4] == title.split()[:4]
    assert (out / "screenshot.png").stat().st_size > 10000


def _section(sid: str, title: str, text) -> ReportSection:
    """A tiny compare run as a report section, with ``text(result)`` for its text."""
    return ReportSection(id=sid, experiment="compare",
                         values=lambda s: {"n_samples": 40, "iterations": 5, "seeds": 1,
                                           "init": ["he"]},
                         title=lambda c: title, text=text, tables=lambda r: [],
                         captions=lambda r, stems: {})


def test_a_failed_section_is_marked_and_the_exit_code_says_so(tmp_path, monkeypatch, capsys):
    def broken(result):
        raise RuntimeError("the data went missing")

    monkeypatch.setattr("initlab.report.sections.SECTIONS", [
        _section("broken", "A broken section", broken),
        _section("fine", "A fine section", lambda r: "All good.")])
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
    def broken(kind, args, kwargs):
        raise RuntimeError("no room for the page")

    monkeypatch.setattr("initlab.report.sections.SECTIONS",
                        [_section("fine", "A fine section", lambda r: "All good.")])
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


def test_every_sections_configuration_reruns_to_its_numbers(quick_report, tmp_path, capsys):
    """The report's "exact configuration" of each section is the TOML of the Config that ran:
    'initlab run' on it gives the section's result again."""
    results = json.loads((quick_report[0] / "results.json").read_text())
    for sid, entry in results["sections"].items():
        assert _differences(_rerun(entry["config_toml"], tmp_path / sid, capsys),
                            _numbers(entry["result"])) == [], sid
    assert "Exact configuration" in (quick_report[0] / "report.html").read_text()


def test_a_full_sections_configuration_reruns_to_its_numbers(tmp_path, capsys):
    """One section at the full report's size: the 10-layer study at width 4096."""
    from initlab.report.sections import run_section

    deep = next(s for s in SECTIONS if s.id == "deep")
    section, result = run_section(deep, Settings(quick=False))
    assert result.config["sizes"][1] == 4096
    assert _differences(_rerun(section.config_toml, tmp_path, capsys),
                        _numbers(result.to_dict())) == []


#: what may differ between two runs of one Config: how it ran, not what it computed
HOW = {"seconds", "jobs", "processes"}


def _rerun(toml: str, folder, capsys) -> list:
    """The numbers of 'initlab run --json' on a section's configuration file, run as the
    report runs its sections: in one process (``jobs = 1``) with BLAS on one thread (splitting
    one model's replicas over processes, or a product over threads, may round float32 sums
    differently, and training amplifies that)."""
    import tomllib

    from initlab.experiments import registry

    folder.mkdir(parents=True, exist_ok=True)
    if registry.get(tomllib.loads(toml)["experiment"]).jobs:
        toml += "jobs = 1\n"
    (folder / "c.toml").write_text(toml)
    capsys.readouterr()
    with threadpool_limits(limits=1, user_api="blas"):  # as the report runs every section
        assert main(["run", str(folder / "c.toml"), "--json", "-q"]) == 0
    return _numbers(json.loads(capsys.readouterr().out))


def _numbers(value) -> list:
    """Every value of a result's JSON in order, flattened (how-it-ran keys left out)."""
    if isinstance(value, dict):
        return [x for k, v in value.items() if k not in HOW for x in _numbers(v)]
    if isinstance(value, list):
        return [x for v in value for x in _numbers(v)]
    return [value]


def _differences(a: list, b: list) -> list:
    """The places where two flattened results differ: numbers beyond 1e-6 relative, anything
    else at all (a length mismatch is one difference)."""
    if len(a) != len(b):
        return [("lengths", len(a), len(b))]
    out = []
    for k, (x, y) in enumerate(zip(a, b, strict=True)):
        numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (x, y))
        if numbers and abs(x - y) > 1e-6 * max(1.0, abs(x), abs(y)):
            out.append((k, x, y))
        elif not numbers and x != y:
            out.append((k, x, y))
    return out
