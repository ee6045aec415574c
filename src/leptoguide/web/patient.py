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
from leptoguide.web.citations import statement_refs
from leptoguide.web.common import WebError, WebState, context, render

PATIENT_TOPIC = "patient-education"


@dataclass(frozen=True)
class PatientPage:
    id: str
    title: str
    summary: str
    statements: tuple[str, ...]
    topics: tuple[str, ...]
    questions: tuple[str, ...]
    urgent: bool
    figures: tuple[dict[str, str], ...] = ()
    """Diagrams drawn for the project: ``{src, alt, caption}`` (``static/img/``)."""


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
            questions=tuple(p.get("questions") or ()),
            urgent=bool(p.get("urgent", False)),
            figures=tuple(
                {k: str(f[k]) for k in ("src", "alt", "caption")} for f in p.get("figures") or ()
            ),
        )
        for p in yamlsafe.load(text, untrusted=False)["pages"]
    )


def page_statements(page: PatientPage, kb: KnowledgeBase) -> list[Statement]:
    """Listed statements first (in order), then patient-education statements on the page topics."""
    out: list[Statement] = []
    seen: set[str] = set()
    for sid in page.statements:
        st = kb.statements.get(sid)
        if st is not None and sid not in seen:
            out.append(st)
            seen.add(sid)
    if page.topics:
        wanted = set(page.topics)
        for st in sorted(kb.statements.values(), key=lambda s: s.id):
            if st.id in seen or PATIENT_TOPIC not in st.topics:
                continue
            if wanted & set(st.topics):
                out.append(st)
                seen.add(st.id)
    return out


@cache
def _grade(text: str) -> float | None:
    if not text.strip():
        return None
    from leptoguide.knowledge.readability import reading_grade

    return round(reading_grade(text), 1)


def page_values(web: WebState, page: PatientPage) -> dict[str, Any]:
    statuses = web.statuses()
    shown: list[Statement] = []
    hidden = 0
    for st in page_statements(page, web.kb):
        status = statuses.get(st.id, st.status)
        if status == "retired":
            continue
        if web.visible(status):
            shown.append(st)
        else:
            hidden += 1
    refs, by_statement = statement_refs(shown, web.kb, statuses, "patient")
    return {
        "page": page,
        "items": [(st, statuses.get(st.id, st.status), by_statement[st.id]) for st in shown],
        "refs": refs,
        "hidden": hidden,
        "grade": _grade(" ".join(st.patient for st in shown)),
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
