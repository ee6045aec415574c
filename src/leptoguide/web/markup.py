"""Safe rendering of the Markdown subset answers and rule details use.

Everything is HTML-escaped first; only then do a few patterns become markup: citation markers
``[n]`` (links to the numbered reference, only for numbers that exist), ``- `` / ``* `` / ``1. ``
list items, ``**bold**`` and ``*emphasis*``, paragraphs and line breaks. No other HTML can appear,
because the patterns run on text that no longer contains ``<``, ``>``, ``&`` or quotes.
"""

from __future__ import annotations

import re
from collections.abc import Container

from markupsafe import Markup, escape

_CITE = re.compile(r"\[(\d{1,3})\]")
_BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")
_EM = re.compile(r"(?<![\w*])\*(?=\S)([^*]+?)(?<=\S)\*(?![\w*])")
_BULLET = re.compile(r"^\s*[-*]\s+(.*)$")
_NUMBERED = re.compile(r"^\s*\d{1,3}[.)]\s+(.*)$")


def _inline(text: str, refs: Container[int] | None, prefix: str) -> str:
    out = str(escape(text))
    out = _BOLD.sub(r"<strong>\1</strong>", out)
    out = _EM.sub(r"<em>\1</em>", out)

    def cite(m: re.Match[str]) -> str:
        n = int(m.group(1))
        if refs is not None and n not in refs:
            return m.group(0)
        return f'<a class="cite" href="#{prefix}{n}" aria-label="reference {n}">[{n}]</a>'

    return _CITE.sub(cite, out)


def render_markdown(
    text: str | None, refs: Container[int] | None = None, prefix: str = "ref-"
) -> Markup:
    """HTML for ``text``; citation markers link to ``#<prefix><n>`` when ``n`` is in ``refs``."""
    if not text:
        return Markup("")
    html: list[str] = []
    para: list[str] = []
    items: list[str] = []
    kind = ""

    def flush_para() -> None:
        if para:
            html.append("<p>" + "<br>".join(para) + "</p>")
            para.clear()

    def flush_list() -> None:
        nonlocal kind
        if items:
            html.append(f"<{kind}>" + "".join(f"<li>{i}</li>" for i in items) + f"</{kind}>")
            items.clear()
        kind = ""

    for line in text.replace("\r\n", "\n").split("\n"):
        bullet = _BULLET.match(line)
        numbered = None if bullet else _NUMBERED.match(line)
        if bullet or numbered:
            flush_para()
            want = "ul" if bullet else "ol"
            if kind and kind != want:
                flush_list()
            kind = want
            m = bullet or numbered
            assert m is not None
            items.append(_inline(m.group(1), refs, prefix))
        elif not line.strip():
            flush_para()
            flush_list()
        else:
            flush_list()
            para.append(_inline(line.strip(), refs, prefix))
    flush_para()
    flush_list()
    return Markup("".join(html))


def plain(text: str | None) -> str:
    """Text without the Markdown markers (for titles and PDF metadata)."""
    if not text:
        return ""
    return _EM.sub(r"\1", _BOLD.sub(r"\1", text))
