"""Safe rendering of the Markdown subset answers and rule details use.

Everything is HTML-escaped first; only then do a few patterns become markup: citation markers
``[n]`` (links to the numbered reference, only for numbers that exist), ``- `` / ``* `` / ``1. ``
list items, ``**bold**`` and ``*emphasis*``, paragraphs and line breaks, and ``> `` lines, which
become one note box per run of lines (in notes, known source ids become links to the source page).
No other HTML can appear, because the patterns run on text that no longer contains ``<``, ``>``,
``&`` or quotes.
"""

from __future__ import annotations

import re
from collections.abc import Container, Mapping

from markupsafe import Markup, escape

_CITE = re.compile(r"\[(\d{1,3})\]")
_BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")
_EM = re.compile(r"(?<![\w*])\*(?=\S)([^*]+?)(?<=\S)\*(?![\w*])")
_BULLET = re.compile(r"^\s*[-*]\s+(.*)$")
_NUMBERED = re.compile(r"^\s*\d{1,3}[.)]\s+(.*)$")
_QUOTE = re.compile(r"^\s*>\s?(.*)$")
_ID = re.compile(r"(?<![\w/#-])([a-z0-9]+(?:-[a-z0-9]+)+)(?![\w-])")


def _inline(
    text: str,
    refs: Container[int] | None,
    prefix: str,
    sources: Mapping[str, str] | None = None,
) -> str:
    out = str(escape(text))
    if sources:

        def link(m: re.Match[str]) -> str:
            sid = m.group(1)
            if sid not in sources:
                return sid
            return f'<a href="/kb/sources/{sid}" title="{sid}">{escape(sources[sid])}</a>'

        out = _ID.sub(link, out)
    out = _BOLD.sub(r"<strong>\1</strong>", out)
    out = _EM.sub(r"<em>\1</em>", out)

    def cite(m: re.Match[str]) -> str:
        n = int(m.group(1))
        if refs is not None and n not in refs:
            return m.group(0)
        return f'<a class="cite" href="#{prefix}{n}" aria-label="reference {n}">[{n}]</a>'

    return _CITE.sub(cite, out)


def render_markdown(
    text: str | None,
    refs: Container[int] | None = None,
    prefix: str = "ref-",
    sources: Mapping[str, str] | None = None,
) -> Markup:
    """HTML for ``text``; citation markers link to ``#<prefix><n>`` when ``n`` is in ``refs``.

    ``sources`` maps source ids to short names; those ids in note lines become links.
    """
    if not text:
        return Markup("")
    html: list[str] = []
    para: list[str] = []
    items: list[str] = []
    quote: list[str] = []
    kind = ""

    def flush_quote() -> None:
        if quote:
            html.append(
                '<div class="answer-note" role="note">'
                + "".join(f"<p>{q}</p>" for q in quote)
                + "</div>"
            )
            quote.clear()

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
        quoted = _QUOTE.match(line)
        if quoted:
            flush_para()
            flush_list()
            if quoted.group(1).strip():
                quote.append(_inline(quoted.group(1).strip(), refs, prefix, sources))
            continue
        flush_quote()
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
    flush_quote()
    return Markup("".join(html))


def plain(text: str | None) -> str:
    """Text without the Markdown markers (for titles and PDF metadata)."""
    if not text:
        return ""
    return _EM.sub(r"\1", _BOLD.sub(r"\1", text))
