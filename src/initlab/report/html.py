"""Results -> one self-contained HTML report (figures embedded, no scripts, no network).

A report is a list of :class:`Section` objects, each with a plain-language explanation, figures,
tables and the exact configuration it ran with. A section whose experiment failed is kept,
marked failed, with the error shown.
"""

from __future__ import annotations

import base64
import html
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

from initlab.plots.common import png_bytes  # noqa: F401  (the page embeds PNG; public here)
from initlab.results import format_cell

STYLE = """
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: #222;
       max-width: 1100px; margin: 2em auto; padding: 0 1.2em; }
h1 { font-size: 1.9em; margin-bottom: 0.1em; }
h2 { margin-top: 2.2em; border-bottom: 2px solid #ddd; }
h3 { margin-top: 1.5em; } .meta { color: #666; } .lesson { background: #f3f7fb;
border-left: 4px solid #4c72b0; padding: 0.6em 1em; }
figure { margin: 1.2em 0; } figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { color: #555; font-size: 0.92em; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.92em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th { background: #f2f2f2; } td:first-child, th:first-child { text-align: left; }
.failed { background: #fdecea; border-left: 4px solid #c0392b; padding: 0.6em 1em; }
pre { background: #f7f7f7; padding: 0.6em; overflow-x: auto; font-size: 0.85em; }
nav ol { columns: 2; } details { margin: 0.6em 0; }
"""


@dataclass
class Section:
    """One experiment in the report.

    ``text``: paragraphs of explanation (plain text; blank lines separate paragraphs);
    ``figures``: (caption, Figure or PNG bytes) pairs; ``tables``: (caption, header, rows) triples;
    ``config``: what it ran with; ``config_toml``: the same as a file for ``initlab run``
    (shown instead of ``config`` when given); ``error``: the failure message when it failed.
    """

    id: str
    title: str
    text: str = ""
    figures: list = field(default_factory=list)
    tables: list = field(default_factory=list)
    config: dict = field(default_factory=dict)
    error: str | None = None
    seconds: float | None = None
    config_toml: str | None = None


def _paragraphs(text: str) -> str:
    parts = [p.strip() for p in text.strip().split("\n\n") if p.strip()]
    return "".join(f"<p>{html.escape(' '.join(p.split()))}</p>" for p in parts)


def _table(caption: str, header, rows) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(format_cell(c))}</td>" for c in row)
                   + "</tr>" for row in rows)
    return (f"<table><caption>{html.escape(caption)}</caption><thead><tr>{head}</tr></thead>"
            f"<tbody>{body}</tbody></table>")


def _section(s: Section) -> str:
    out = [f'<section id="{html.escape(s.id)}"><h2>{html.escape(s.title)}</h2>']
    if s.error is not None:
        out.append(f'<div class="failed"><strong>This section failed.</strong> '
                   f"<pre>{html.escape(s.error)}</pre></div>")
    if s.text:
        out.append(_paragraphs(s.text))
    for caption, header, rows in s.tables:
        out.append(_table(caption, header, rows))
    for caption, fig in s.figures:
        data = fig if isinstance(fig, bytes) else png_bytes(fig)
        b64 = base64.b64encode(data).decode("ascii")
        out.append(f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,{b64}">'
                   f"<figcaption>{html.escape(caption)}</figcaption></figure>")
    took = f" (ran in {s.seconds:.1f} s)" if s.seconds is not None else ""
    if s.config_toml:
        out.append(f"<details><summary>Exact configuration{took}: a file for 'initlab run'"
                   f"</summary><pre>{html.escape(s.config_toml)}</pre></details>")
    elif s.config:
        cfg = html.escape(json.dumps(s.config, indent=2, default=str))
        out.append(f"<details><summary>Exact configuration{took}</summary><pre>{cfg}</pre>"
                   "</details>")
    out.append("</section>")
    return "\n".join(out)


def render(sections: list[Section], *, title: str, intro: str, version: str,
           settings: dict, links=(), note: str | None = None) -> str:
    """The whole report as one HTML string; ``links``: (href, text) pairs shown at the top;
    ``note`` (e.g. that it is incomplete) stands out at the top."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    failed = [s.title for s in sections if s.error is not None]
    status = (f'<p class="failed">{len(failed)} section(s) failed: '
              f"{html.escape(', '.join(failed))}.</p>" if failed else "")
    if note:
        status = f'<p class="failed">{html.escape(note)}</p>' + status
    toc = "".join(f'<li><a href="#{html.escape(s.id)}">{html.escape(s.title)}</a>'
                  f"{' (failed)' if s.error else ''}</li>" for s in sections)
    body = "\n".join(_section(s) for s in sections)
    run = html.escape(json.dumps(settings, default=str))
    top = "".join(f'<p class="lesson"><a href="{html.escape(href)}">{html.escape(text)}</a></p>'
                  for href, text in links)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title><style>{STYLE}</style></head>
<body><header><h1>{html.escape(title)}</h1>
<p class="meta">initlab {html.escape(version)} &middot; generated {stamp} &middot;
settings {run}</p>{status}{top}{_paragraphs(intro)}</header>
<nav><h3>Contents</h3><ol>{toc}</ol></nav>
{body}
</body></html>
"""
