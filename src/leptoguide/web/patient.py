"""Patient area: plain-language pages built from statements' patient texts, with reading grade."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from leptoguide import yamlsafe
from leptoguide.knowledge.loader import KnowledgeBase
from leptoguide.knowledge.models import Statement
from leptoguide.web import fmt
from leptoguide.web.citations import statement_refs
from leptoguide.web.common import WebError, WebState, context, render

PATIENT_TOPIC = "patient-education"
STATUS_ORDER = ("approved", "verified", "in_review", "draft")
STATUS_WORDS = {
    "approved": "approved (by a doctor at this hospital)",
    "verified": "verified (checked against the sources by our content editors)",
    "in_review": "in review (being checked at this hospital)",
    "draft": "draft (written from the sources, not yet checked)",
}
"""How the page says the status of its answers (the badge marks each draft one)."""


@dataclass(frozen=True)
class PatientPage:
    """One patient page: a family's question answered from statements' patient texts."""

    id: str
    title: str
    summary: str
    statements: tuple[str, ...]
    """The short answer, in order."""
    topics: tuple[str, ...]
    urgent: str | None = None
    """A statement shown first, in a notice box: when to get help."""
    more: tuple[str, ...] = ()
    """Further statements folded under "More about this" (with those on ``topics``)."""
    figures: tuple[dict[str, str], ...] = ()
    """Diagrams drawn for the project: ``{src, alt, caption, statement}`` (``static/img/``); the
    statement, shown on the page, backs what the diagram shows and lends it its citations."""


@cache
def page_definitions() -> tuple[PatientPage, ...]:
    text = resources.files("leptoguide.web").joinpath("patient_pages.yaml").read_text("utf-8")
    return tuple(
        PatientPage(
            id=p["id"],
            title=p["title"],
            summary=p.get("summary", ""),
            statements=tuple(p.get("statements") or ()),
            topics=tuple(p.get("topics") or ()),
            urgent=p.get("urgent"),
            more=tuple(p.get("more") or ()),
            figures=tuple(
                {k: str(f[k]) for k in ("src", "alt", "caption", "statement")}
                for f in p.get("figures") or ()
            ),
        )
        for p in yamlsafe.load(text, untrusted=False)["pages"]
    )


@dataclass(frozen=True)
class PageParts:
    """A page's statements in their three places."""

    urgent: Statement | None
    main: list[Statement]
    more: list[Statement]

    def all(self) -> list[Statement]:
        return [*([self.urgent] if self.urgent else []), *self.main, *self.more]


def page_parts(page: PatientPage, kb: KnowledgeBase) -> PageParts:
    """The urgent statement, the short answer, then further statements (listed ``more`` first,
    then patient-education statements on the page topics), each statement once."""
    seen: set[str] = set()

    def take(ids: tuple[str, ...]) -> list[Statement]:
        out = []
        for sid in ids:
            st = kb.statements.get(sid)
            if st is not None and sid not in seen:
                out.append(st)
                seen.add(sid)
        return out

    urgent = take((page.urgent,)) if page.urgent else []
    main = take(page.statements)
    more = take(page.more)
    if page.topics:
        wanted = set(page.topics)
        for st in sorted(kb.statements.values(), key=lambda s: s.id):
            if st.id in seen or PATIENT_TOPIC not in st.topics:
                continue
            if wanted & set(st.topics):
                more.append(st)
                seen.add(st.id)
    return PageParts(urgent[0] if urgent else None, main, more)


def page_statements(page: PatientPage, kb: KnowledgeBase) -> list[Statement]:
    """Every statement of a page, in the order shown."""
    return page_parts(page, kb).all()


@cache
def _grade(text: str) -> float | None:
    if not text.strip():
        return None
    from leptoguide.knowledge.readability import reading_grade

    return round(reading_grade(text), 1)


def page_values(web: WebState, page: PatientPage) -> dict[str, Any]:
    statuses = web.statuses()
    parts = page_parts(page, web.kb)
    hidden = 0

    def keep(sts: list[Statement]) -> list[Statement]:
        nonlocal hidden
        out = []
        for st in sts:
            status = statuses.get(st.id, st.status)
            if status == "retired":
                continue
            if web.visible(status):
                out.append(st)
            else:
                hidden += 1
        return out

    urgent = keep([parts.urgent] if parts.urgent else [])
    main, more = keep(parts.main), keep(parts.more)
    shown = [*urgent, *main, *more]
    refs, by_statement = statement_refs(shown, web.kb, statuses, "patient")
    counts: dict[str, int] = {}
    for st in shown:
        status = statuses.get(st.id, st.status)
        counts[status] = counts.get(status, 0) + 1

    def items(sts: list[Statement]) -> list[tuple[Statement, str, list[int]]]:
        return [(st, statuses.get(st.id, st.status), by_statement[st.id]) for st in sts]

    return {
        "page": page,
        "urgent": items(urgent)[0] if urgent else None,
        "items": items(main),
        "figure_refs": {f["src"]: by_statement.get(f["statement"], []) for f in page.figures},
        "more_items": items(more),
        "refs": refs,
        "hidden": hidden,
        "status_counts": sorted(counts.items(), key=lambda kv: STATUS_ORDER.index(kv[0])),
        "status_words": STATUS_WORDS,
        "approved_all": set(counts) == {"approved"},
        "grade": _grade(" ".join(st.patient for st in shown)),
        "currency": fmt.topic_currency(
            web.kb, [*page.topics, *(t for st in shown for t in st.topics)]
        ),
    }


def router() -> APIRouter:
    r = APIRouter()

    @r.get("/patients", include_in_schema=False)
    def patients_index(request: Request) -> Response:
        return render(context(request), "patient_index.html", pages=page_definitions())

    @r.get("/patients/{page_id}", include_in_schema=False)
    def patient_page(page_id: str, request: Request) -> Response:
        ctx = context(request)
        page = next((p for p in page_definitions() if p.id == page_id), None)
        if page is None:
            raise WebError(404, "There is no patient page with this name.")
        return render(
            ctx, "patient_page.html", pages=page_definitions(), **page_values(ctx.web, page)
        )

    return r
