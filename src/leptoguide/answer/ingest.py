"""Ingest local documents (.txt, .md, .html, .pdf) into passages with provenance.

Each document is split into passages of about 150 words that never cross a page or a section, so a
citation can say "guideline.pdf, page 4, section 'Treatment'". Passages are user content: they are
cited as passages, labelled "not reviewed", and never replace approved statements.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from leptoguide.answer.embed import Embedder
from leptoguide.answer.index import Document, NewPassage, PassageStore
from leptoguide.answer.text import split_sentences
from leptoguide.errors import InputError

SUFFIXES = {
    ".txt": "text",
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
    ".pdf": "pdf",
}
TARGET_WORDS = 150
MAX_WORDS = 220
_HTML_BLOCKS = (
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "p",
    "li",
    "pre",
    "blockquote",
    "td",
    "th",
    "dt",
    "dd",
    "figcaption",
    "caption",
)
_HTML_DROP = [
    "script",
    "style",
    "nav",
    "header",
    "footer",
    "aside",
    "noscript",
    "form",
    "svg",
    "iframe",
    "button",
]


@dataclass(frozen=True)
class Block:
    """A paragraph of extracted text with where it came from."""

    text: str
    page: int | None = None
    section: str | None = None
    heading: bool = False


def _clean(text: str) -> str:
    return re.sub(r"[ \t\u00a0]+", " ", text.replace("\r\n", "\n").replace("\r", "\n")).strip()


def _paragraphs(text: str) -> list[str]:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    paras = [re.sub(r"\s*\n\s*", " ", p) for p in re.split(r"\n\s*\n", text)]
    return [_clean(p) for p in paras if _clean(p)]


def read_text(path: Path) -> tuple[str | None, list[Block]]:
    raw = path.read_text(encoding="utf-8", errors="replace")
    return None, [Block(p) for p in _paragraphs(raw)]


def read_markdown(path: Path) -> tuple[str | None, list[Block]]:
    raw = path.read_text(encoding="utf-8", errors="replace").replace("\r\n", "\n")
    title: str | None = None
    section: str | None = None
    blocks: list[Block] = []
    buf: list[str] = []

    def flush() -> None:
        if buf:
            for para in _paragraphs("\n".join(buf)):
                text = re.sub(r"[*_`]+", "", re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", para))
                text = re.sub(r"^\s*([-+*]|\d+\.)\s+", "", text)
                if text:
                    blocks.append(Block(text, section=section))
            buf.clear()

    for line in raw.split("\n"):
        heading = re.match(r"^(#{1,6})\s+(.*?)\s*#*\s*$", line)
        if heading:
            flush()
            section = heading.group(2).strip() or section
            if title is None and len(heading.group(1)) == 1:
                title = section
            continue
        if re.match(r"^\s*([-+*]|\d+\.)\s+", line):
            flush()
        buf.append(line)
        if not line.strip():
            flush()
    flush()
    return title, blocks


def read_html(path: Path) -> tuple[str | None, list[Block]]:
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(path.read_bytes())
    title_node = tree.css_first("title")
    title = _clean(title_node.text()) if title_node else None
    tree.strip_tags(_HTML_DROP)
    root = tree.body or tree.root
    if root is None:
        return title, []
    blocks: list[Block] = []
    section: str | None = None
    selector = ",".join(_HTML_BLOCKS)
    for node in root.css(selector):
        parent = node.parent
        nested = False
        while parent is not None:
            if parent.tag in _HTML_BLOCKS:
                nested = True
                break
            parent = parent.parent
        if nested:
            continue
        text = _clean(node.text(separator=" "))
        if not text:
            continue
        if node.tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            section = text
            if title is None and node.tag == "h1":
                title = text
            continue
        blocks.append(Block(text, section=section))
    if not blocks:
        blocks = [Block(p) for p in _paragraphs(root.text(separator="\n"))]
    return title, blocks


def read_pdf(path: Path) -> tuple[str | None, list[Block]]:
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(str(path))
    except Exception as exc:  # pdfium raises its own error types
        raise InputError(str(path), f"cannot read PDF: {exc}") from exc
    blocks: list[Block] = []
    title: str | None = None
    try:
        meta = pdf.get_metadata_dict()
        title = _clean(str(meta.get("Title") or "")) or None
        for number in range(len(pdf)):
            page = pdf[number]
            textpage = page.get_textpage()
            text = textpage.get_text_range().replace("\r\n", "\n").replace("\r", "\n")
            textpage.close()
            page.close()
            for para in _paragraphs(text):
                blocks.append(Block(para, page=number + 1))
    finally:
        pdf.close()
    return title, blocks


READERS: dict[str, Callable[[Path], tuple[str | None, list[Block]]]] = {
    "text": read_text,
    "markdown": read_markdown,
    "html": read_html,
    "pdf": read_pdf,
}


def chunk(blocks: Sequence[Block]) -> list[NewPassage]:
    """Group paragraphs into passages of about TARGET_WORDS words within one page and section."""
    out: list[NewPassage] = []
    buf: list[str] = []
    words = 0
    key: tuple[int | None, str | None] | None = None

    def flush() -> None:
        nonlocal words
        if buf and key is not None:
            out.append(NewPassage(page=key[0], section=key[1], text=" ".join(buf)))
        buf.clear()
        words = 0

    for block in blocks:
        pieces = [block.text]
        if len(block.text.split()) > MAX_WORDS:
            pieces = split_sentences(block.text) or [block.text]
        for piece in pieces:
            this = (block.page, block.section)
            n = len(piece.split())
            if key != this or (words and words + n > MAX_WORDS):
                flush()
                key = this
            buf.append(piece)
            words += n
            if words >= TARGET_WORDS:
                flush()
    flush()
    return out


def read_document(path: Path) -> tuple[Document, list[NewPassage]]:
    """Extract a file into a Document record and its passages."""
    if not path.is_file():
        raise InputError(str(path), "no such file")
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise InputError(
            str(path), f"unsupported file type '{path.suffix}' (use {', '.join(sorted(SUFFIXES))})"
        )
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    title, blocks = READERS[kind](path)
    passages = chunk(blocks)
    if not passages:
        raise InputError(str(path), "no text found (a scanned PDF needs OCR first)")
    doc = Document(
        id=f"doc-{digest[:10]}",
        path=str(path.resolve()),
        title=title or path.stem,
        kind=kind,
        sha256=digest,
        added=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        passages=len(passages),
    )
    return doc, passages


def ingest(
    paths: Iterable[Path],
    store: PassageStore,
    embedder: Embedder | None = None,
    progress: Callable[[Path], None] | None = None,
) -> list[Document]:
    """Read, split, embed (if a model is exported) and store each file. All files are checked first."""
    docs = [read_document(p) for p in paths]
    stored: list[Document] = []
    for doc, passages in docs:
        vectors = embedder.encode([p.text for p in passages]) if embedder is not None else None
        store.add(doc, passages, vectors, embedder.id if embedder is not None else None)
        stored.append(doc)
        if progress:
            progress(Path(doc.path))
    return stored
