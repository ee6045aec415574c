"""Compose a cited answer from retrieved statements. No sentence here is invented.

The answer is made of statement texts exactly as the knowledge base words them (clinician or patient
wording), one bullet per statement, each followed by numbered citations [n] to the statement's
sources. Statements that disagree (``conflicts_with``) are shown together under a "sources disagree"
heading. Draft statements are marked. Sources that are superseded or overdue for review are flagged.
Ingested passages come last, labelled "not reviewed".
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from leptoguide.answer.index import Document, Passage
from leptoguide.answer.result import Audience, Citation
from leptoguide.answer.retrieve import Hit
from leptoguide.answer.text import content_tokens

if TYPE_CHECKING:
    from leptoguide.knowledge.loader import KnowledgeBase
    from leptoguide.knowledge.models import Statement

STATUS_NOTE = {
    "draft": "draft: not yet checked against its source",
    "in_review": "in review: not yet approved",
}
PASSAGE_STATUS = "not reviewed"
_ACRONYMS = {"lp": "LP", "csf": "CSF", "mri": "MRI", "it": "IT", "tb": "TB"}


@dataclass
class Composition:
    markdown: str
    citations: list[Citation]
    statements: list[str]
    passages: list[str]
    support: dict[int, str] = field(default_factory=dict)
    plain: str = ""
    warnings: list[str] = field(default_factory=list)


PATIENT_TOPIC = "patient-education"


def select_statements(
    hits: Sequence[Hit],
    kb: KnowledgeBase,
    top_k: int,
    audience: Audience = "clinician",
    min_relative: float = 0.6,
) -> list[str]:
    """The best-supported statements: the top hit plus those covering nearly as much of the question.

    Patient-education statements are written for patients: a patient answer puts a well-supported
    one first, a clinician answer leaves them out unless nothing else qualifies.
    """
    usable = [h for h in hits if h.key in kb.statements]
    if not usable:
        return []
    best = max(h.coverage for h in usable[:3])
    qualified = [usable[0]] + [
        h for h in usable[1:] if h.coverage > 0 and h.coverage >= min_relative * best
    ]

    def for_patients(hit: Hit) -> bool:
        return PATIENT_TOPIC in kb.statements[hit.key].topics

    if audience != "patient":
        clinical = [h for h in qualified if not for_patients(h)]
        return [h.key for h in (clinical or qualified)[:top_k]]
    pool = [h for h in qualified[:5] if for_patients(h)]
    head = sorted(pool, key=lambda h: -h.coverage)[:1]
    qualified = head + [h for h in qualified if h not in head]
    # patient wordings of neighbouring statements often say the same thing: show it once
    kept: list[Hit] = []
    for hit in qualified:
        words = set(content_tokens(kb.statements[hit.key].patient))
        if all(
            _jaccard(words, set(content_tokens(kb.statements[k.key].patient))) < 0.5 for k in kept
        ):
            kept.append(hit)
    return [h.key for h in kept[:top_k]]


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a | b else 1.0


def _topic_label(topic: str) -> str:
    words = [_ACRONYMS.get(w, w) for w in topic.split("-")]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def _excerpt(text: str, limit: int = 360) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    if len(text) <= limit:
        return text
    cut = text[:limit]
    stop = max(cut.rfind(". "), cut.rfind("; "))
    return (cut[: stop + 1] if stop > limit // 2 else cut.rsplit(" ", 1)[0]) + " …"


class _Citer:
    def __init__(self, kb: KnowledgeBase, today: dt.date | None) -> None:
        self.kb = kb
        self.today = today
        self.citations: list[Citation] = []
        self.support: dict[int, str] = {}

    def statement(self, st: Statement, text: str) -> str:
        marks = []
        for cit in st.sources:
            src = self.kb.sources.get(cit.source)
            n = len(self.citations) + 1
            self.citations.append(
                Citation(
                    n=n,
                    source=cit.source,
                    statement=st.id,
                    title=src.title if src else cit.source,
                    locator=cit.locator,
                    status=st.status,
                    flags=tuple(self.kb.source_flags(cit.source, self.today)),
                )
            )
            self.support[n] = f"{st.title}. {st.clinician} {st.patient}"
            marks.append(f"[{n}]")
        return "".join(marks)

    def passage(self, passage: Passage, doc: Document) -> str:
        n = len(self.citations) + 1
        parts = [doc.path.rsplit("/", 1)[-1]]
        if passage.page is not None:
            parts.append(f"page {passage.page}")
        if passage.section:
            parts.append(f"section '{passage.section}'")
        self.citations.append(
            Citation(
                n=n,
                source=doc.id,
                passage=f"{doc.id}#{passage.seq + 1}",
                title=doc.title,
                locator=", ".join(parts),
                status=PASSAGE_STATUS,
            )
        )
        self.support[n] = passage.text
        return f"[{n}]"


def compose(
    kb: KnowledgeBase,
    statement_ids: Sequence[str],
    audience: Audience,
    passages: Sequence[tuple[Passage, Document]] = (),
    today: dt.date | None = None,
) -> Composition:
    """Markdown answer with [n] citations from the given statements (best first) and passages."""
    citer = _Citer(kb, today)
    chosen = [kb.statements[s] for s in statement_ids if s in kb.statements]
    placed: set[str] = set()
    # Blocks: a single statement, or a statement with the statements that disagree with it.
    blocks: list[list[Statement]] = []
    for st in chosen:
        if st.id in placed:
            continue
        block = [st]
        placed.add(st.id)
        for other_id in st.conflicts_with:
            other = kb.statements.get(other_id)
            if other is not None and other.status != "retired" and other.id not in placed:
                block.append(other)
                placed.add(other.id)
        blocks.append(block)

    def text_of(st: Statement) -> str:
        return st.patient if audience == "patient" else st.clinician

    def bullet(st: Statement) -> str:
        marks = citer.statement(st, text_of(st))
        lead = "" if audience == "patient" else f"**{st.title}.** "
        note = STATUS_NOTE.get(st.status)
        suffix = f" *({note})*" if note else ""
        return f"- {lead}{text_of(st)} {marks}{suffix}"

    topics = [b[0].topics[0] for b in blocks]
    use_headings = audience == "clinician" and len(blocks) >= 3 and len(set(topics)) >= 2
    lines: list[str] = []
    order: list[str] = list(dict.fromkeys(topics)) if use_headings else [""]
    for topic in order:
        group = [b for b in blocks if not use_headings or b[0].topics[0] == topic]
        if use_headings:
            lines.append(f"**{_topic_label(topic)}**")
            lines.append("")
        for block in group:
            if len(block) == 1:
                lines.append(bullet(block[0]))
            else:
                lines.append("")
                lines.append(
                    "**Sources disagree here; each position is shown with its own citation:**"
                    if audience == "clinician"
                    else "**Experts do not all agree on this point:**"
                )
                lines.extend(bullet(st) for st in block)
                lines.append("")
        if use_headings:
            lines.append("")

    shown_statements = [st for block in blocks for st in block]
    passage_ids: list[str] = []
    if passages:
        lines.append("")
        lines.append(
            "**From your documents (not reviewed; approved statements above take precedence):**"
        )
        for passage, doc in passages:
            mark = citer.passage(passage, doc)
            passage_ids.append(f"{doc.id}#{passage.seq + 1}")
            lines.append(f"- “{_excerpt(passage.text)}” {mark} *({PASSAGE_STATUS})*")

    notes: list[str] = []
    if any(st.status == "draft" for st in shown_statements):
        notes.append("Statements marked draft have not yet been checked against their sources.")
    flagged: dict[str, tuple[str, ...]] = {}
    for cit in citer.citations:
        if cit.flags:
            flagged.setdefault(cit.source, cit.flags)
    for source_id, flags in flagged.items():
        nums = ", ".join(f"[{c.n}]" for c in citer.citations if c.source == source_id)
        notes.append(f"Source {source_id} {nums}: {'; '.join(flags)}.")
    if notes:
        lines.append("")
        lines.extend(f"> {note}" for note in notes)
    if audience == "patient" and shown_statements:
        lines.append("")
        lines.append(
            "*This is general information. Your care team can tell you how it applies to you.*"
        )

    markdown = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() + "\n"
    plain = " ".join(text_of(st) for st in shown_statements)
    return Composition(
        markdown=markdown,
        citations=citer.citations,
        statements=[st.id for st in shown_statements],
        passages=passage_ids,
        support=citer.support,
        plain=plain,
        warnings=[f"source {s}: {'; '.join(f)}" for s, f in flagged.items()],
    )
