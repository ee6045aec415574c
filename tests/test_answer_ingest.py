"""Ingestion of .txt/.md/.html/.pdf into passages with provenance, and passages in answers."""

from __future__ import annotations

from pathlib import Path

import pytest

from leptoguide.answer import QA, Options
from leptoguide.answer.index import PassageStore
from leptoguide.answer.ingest import ingest, read_document
from leptoguide.errors import InputError
from leptoguide.knowledge.loader import KnowledgeBase

FIXTURE = Path(__file__).parent / "fixtures" / "qa_kb"

MD = """# Local LM protocol

## Ommaya care

Flush the Ommaya reservoir only with preservative-free saline. The reservoir dome is checked
for leaks at every visit by the oncology nurse.

## Follow-up

Neuraxis MRI is repeated every 8 weeks while on intrathecal treatment.
"""

HTML = """<html><head><title>Ward guide</title><style>p{color:red}</style></head>
<body><nav><p>Home | Contact</p></nav>
<h1>Ward guide</h1><h2>Spinal tap aftercare</h2>
<p>After a lumbar puncture the patient lies flat for one hour on our ward.</p>
<ul><li><p>Report any headache that worsens when sitting up.</p></li></ul>
<footer><p>Copyright hospital</p></footer></body></html>"""


@pytest.fixture(autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEPTOGUIDE_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("LEPTOGUIDE_LLM_URL", raising=False)


def test_markdown_sections_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "protocol.md"
    path.write_text(MD)
    doc, passages = read_document(path)
    assert doc.title == "Local LM protocol" and doc.kind == "markdown"
    assert [p.section for p in passages] == ["Ommaya care", "Follow-up"]
    assert "preservative-free saline" in passages[0].text


def test_html_drops_navigation_and_keeps_headings(tmp_path: Path) -> None:
    path = tmp_path / "ward.html"
    path.write_text(HTML)
    doc, passages = read_document(path)
    text = " ".join(p.text for p in passages)
    assert doc.title == "Ward guide"
    assert "lies flat for one hour" in text and "worsens when sitting up" in text
    assert "Home | Contact" not in text and "Copyright" not in text and "color" not in text
    assert passages[0].section == "Spinal tap aftercare"
    assert text.count("worsens when sitting up") == 1  # <li><p> not duplicated


def test_pdf_pages_are_recorded(tmp_path: Path) -> None:
    weasyprint = pytest.importorskip("weasyprint")
    path = tmp_path / "guide.pdf"
    html = (
        "<h1>Guide</h1><p>Page one talks about cytology sampling volumes.</p>"
        "<p style='page-break-before: always'>Page two covers ventricular shunts and valves.</p>"
    )
    weasyprint.HTML(string=html).write_pdf(str(path))
    doc, passages = read_document(path)
    assert doc.kind == "pdf"
    pages = {p.page for p in passages if "shunts" in p.text}
    assert pages == {2}
    assert all("\r" not in p.text for p in passages)


def test_unsupported_and_missing_files_are_input_errors(tmp_path: Path) -> None:
    bad = tmp_path / "x.docx"
    bad.write_text("x")
    with pytest.raises(InputError, match="unsupported file type"):
        read_document(bad)
    with pytest.raises(InputError, match="no such file"):
        read_document(tmp_path / "missing.txt")
    empty = tmp_path / "empty.txt"
    empty.write_text("  \n\n ")
    with pytest.raises(InputError, match="no text"):
        read_document(empty)


def test_store_add_list_replace_remove(tmp_path: Path) -> None:
    path = tmp_path / "protocol.md"
    path.write_text(MD)
    store = PassageStore(tmp_path / "docs.sqlite")
    (doc,) = ingest([path], store)
    (again,) = ingest([path], store)  # same content: replaced, not duplicated
    assert [d.id for d in store.documents()] == [doc.id] == [again.id]
    assert store.search('"saline"', 5)
    assert store.remove(doc.id) and not store.remove(doc.id)
    assert store.documents() == [] and store.search('"saline"', 5) == []


def test_passages_are_cited_after_statements_and_labelled(
    qa_kb: KnowledgeBase, tmp_path: Path
) -> None:
    path = tmp_path / "protocol.md"
    path.write_text(MD)
    store = PassageStore(tmp_path / "docs.sqlite")
    ingest([path], store)
    qa = QA(qa_kb, Options(dense=False, use_llm=False, persist=False), store=store)
    ans = qa.ask("How is the Ommaya reservoir flushed?")
    assert not ans.abstained
    passage_cites = [c for c in ans.citations if c.passage]
    assert passage_cites, ans.answer
    cite = passage_cites[0]
    assert cite.status == "not reviewed" and cite.statement is None
    assert "protocol.md" in cite.locator and "Ommaya care" in cite.locator
    assert cite.to_dict()["passage"].startswith("doc-")
    # an approved statement that answers ranks first; the passage comes after, labelled
    if ans.statements:
        first_statement = ans.answer.index(f"[{ans.citations[0].n}]")
        assert ans.citations[0].statement is not None
        assert first_statement < ans.answer.index(f"[{cite.n}]")
    assert "not reviewed" in ans.answer


def test_passage_only_question_still_needs_scope(qa_kb: KnowledgeBase, tmp_path: Path) -> None:
    path = tmp_path / "bread.txt"
    path.write_text("Knead the sourdough bread for ten minutes and bake it at a high heat.")
    store = PassageStore(tmp_path / "docs.sqlite")
    ingest([path], store)
    qa = QA(qa_kb, Options(dense=False, use_llm=False, persist=False), store=store)
    assert qa.ask("How long do I knead sourdough bread?").abstained
