"""The explorer page: the template, the vendored uPlot and the glue script, inlined into one
self-contained HTML file with the encoded data (no network request of any kind)."""

from __future__ import annotations

import json
from importlib import resources

#: The charting library inlined into the page (vendor/NOTICE.md).
CHARTING = "uPlot 1.6.32 (MIT licence, (c) 2022 Leon Sorokin, github.com/leeoniya/uPlot)"


def _asset(name: str) -> str:
    return resources.files("initlab.explore").joinpath(name).read_text(encoding="utf-8")


def render(data: dict) -> str:
    """The whole page for ``data`` (from :func:`initlab.explore.build.build_explorer`)."""
    payload = json.dumps({**data, "charting": CHARTING}, separators=(",", ":"), allow_nan=False)
    payload = payload.replace("</", "<\\/")  # no "</script>" can end the data block early
    parts = {"/*UPLOT_CSS*/": _asset("vendor/uPlot.min.css"),
             "/*UPLOT_JS*/": _asset("vendor/uPlot.iife.min.js"),
             "/*PAGE_JS*/": _asset("page.js"), "/*DATA*/": payload}
    page = _asset("page.html")
    for marker, text in parts.items():
        head, sep, tail = page.partition(marker)
        page = head + text + tail  # partition, not replace: the inlined texts are not scanned
    return page
