"""Rendering the bench's results as Markdown.

``markdown`` (number formats, tables), ``sections`` (the tables of sections 1–5),
``national`` (section 6), ``results`` (the whole RESULTS.md: header, summary, caveats) and
``files`` (writing RESULTS.md and patching the blocks between the markers of README.md
and docs/method.md). Nothing here runs anything or imports ``boundaries``.
"""
