"""``initlab report``: the sections it runs and the sentences it writes about them, in HTML.

- :mod:`~initlab.report.sections`: which experiment each section runs, with which Config, and
  which text, tables and figures it shows;
- ``text_*``: the sentences of one family of sections, computed from the results
  (:mod:`~initlab.report.text_training`, :mod:`~initlab.report.text_activations`,
  :mod:`~initlab.report.text_depth`), with the phrasings they share in
  :mod:`~initlab.report.wording`;
- :mod:`~initlab.report.html`: one self-contained page from the sections.
"""

from initlab.report.html import Section, png_bytes, render

__all__ = ["Section", "png_bytes", "render"]
