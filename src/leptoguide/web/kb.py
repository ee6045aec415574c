"""Knowledge browser: statements (search, filters), sources with currency, conflicts, rules."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from leptoguide.knowledge.models import Rule, Statement
from leptoguide.store import feedback_web, reviews
from leptoguide.web import charts, fmt
from leptoguide.web.citations import source_line, statement_refs
from leptoguide.web.common import Ctx, WebError, WebState, context, render

PAGE_SIZE = 50
STATUSES = ("draft", "verified", "in_review", "approved", "retired")


def _matches(st: Statement, words: list[str]) -> bool:
    hay = " ".join((st.id, st.title, st.clinician, st.patient, " ".join(st.topics))).lower()
    return all(w in hay for w in words)


def rules_citing(ctx: Ctx, statement_id: str) -> list[Rule]:
    return [r for r in ctx.web.kb.rules.values() if statement_id in r.cites]


def conflict_groups(web: WebState, pairs: list[list[Any]]) -> dict[str, Any]:
    """Disagreements grouped by topic, each topic with the number lines of its site-policy values
    (the site's value against every source's), so the platelet cut-offs sit under "lp safety"."""
    kb = web.kb
    policy = web.service.policy
    groups: dict[str, dict[str, list[Any]]] = {}

    def group(topic: str) -> dict[str, list[Any]]:
        return groups.setdefault(topic, {"pairs": [], "lines": []})

    for pair in pairs:
        a, b = pair[0][0], pair[1][0]
        common = [t for t in a.topics if t in b.topics]
        group((common or a.topics)[0])["pairs"].append(pair)
    for param in sorted(kb.parameters.values(), key=lambda p: p.id):
        numeric = [a for a in param.alternatives if isinstance(a.value, int | float)]
        if not numeric or not isinstance(param.default, int | float):
            continue
        st = kb.statements.get(param.statement or "")
        topic = st.topics[0] if st is not None else "site-policy"
        in_force = policy.values.get(param.id)
        value = in_force.value if in_force is not None else param.default
        if not isinstance(value, int | float) or isinstance(value, bool):
            continue
        others = [(float(a.value), a.statement, a.note) for a in numeric]
        line = charts.number_line(
            kb, param.title, param.unit, (float(value), param.statement), others
        )
        group(topic)["lines"].append((param, line))
    ordered = sorted(groups.items(), key=lambda kv: (-len(kv[1]["lines"]), kv[0]))
    currency = {topic: fmt.topic_currency(kb, [topic]) for topic in groups}
    return {"groups": ordered, "pairs": pairs, "currency": currency}


def statement_values(ctx: Ctx, st: Statement) -> dict[str, Any]:
    web = ctx.web
    statuses = web.statuses()
    status = statuses.get(st.id, st.status)
    refs, _ = statement_refs([st], web.kb, statuses, "clinician")
    conflicts = [web.kb.statements[c] for c in st.conflicts_with if c in web.kb.statements]
    return {
        "st": st,
        "status": status,
        "refs": refs,
        "conflicts": [(c, statuses.get(c.id, c.status)) for c in conflicts],
        "history": reviews.history(web.db, st.id),
        "feedback": feedback_web.feedback_for_statement(web.db, st.id)
        if ctx.has("reviewer")
        else [],
        "transitions": [
            t
            for t in reviews.TRANSITIONS.get(status, ())
            if not (web.two_person and status == "draft" and t == "approved")
        ],
        "version": reviews.current_version(web.db, st.id),
        "two_person": web.two_person,
        "rules": rules_citing(ctx, st.id),
        "regimens": [g for g in web.kb.regimens.values() if st.id in g.statements],
        "parameters": [p for p in web.kb.parameters.values() if p.statement == st.id],
        "hidden": not web.visible(status),
        "currency": fmt.topic_currency(web.kb, st.topics),
    }


def router() -> APIRouter:
    r = APIRouter()

    @r.get("/kb", include_in_schema=False)
    def kb_index(request: Request) -> Response:
        ctx = context(request)
        web = ctx.web
        qp = request.query_params
        q = (qp.get("q") or "")[:200]
        topic = qp.get("topic") or ""
        status = qp.get("status") or ""
        source = qp.get("source") or ""
        try:
            page = max(1, int(qp.get("page") or 1))
        except ValueError:
            page = 1
        statuses = web.statuses()
        words = q.lower().split()
        hits = []
        for st in sorted(web.kb.statements.values(), key=lambda s: s.id):
            eff = statuses.get(st.id, st.status)
            if not web.visible(eff):
                continue
            if topic and topic not in st.topics:
                continue
            if status and eff != status:
                continue
            if source and not any(c.source == source for c in st.sources):
                continue
            if words and not _matches(st, words):
                continue
            hits.append((st, eff))
        topics = sorted({t for s in web.kb.statements.values() for t in s.topics})
        total = len(hits)
        start = (page - 1) * PAGE_SIZE
        return render(
            ctx,
            "kb_index.html",
            q=q,
            topic=topic,
            currency=fmt.topic_currency(web.kb, [topic]) if topic else [],
            status=status,
            source=source,
            topics=topics,
            statuses=STATUSES,
            sources=sorted(web.kb.sources.values(), key=lambda s: s.id),
            hits=hits[start : start + PAGE_SIZE],
            total=total,
            page=page,
            pages=max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE),
        )

    @r.get("/kb/statements/{statement_id}", include_in_schema=False)
    def kb_statement(statement_id: str, request: Request) -> Response:
        ctx = context(request)
        st = ctx.web.kb.statements.get(statement_id)
        if st is None:
            raise WebError(404, "No statement has this id.")
        values = statement_values(ctx, st)
        if values["hidden"] and not ctx.has("reviewer"):
            raise WebError(404, "This statement is not approved yet (approved-only mode).")
        return render(ctx, "kb_statement.html", message=None, error=None, **values)

    @r.get("/kb/sources", include_in_schema=False)
    def kb_sources(request: Request) -> Response:
        ctx = context(request)
        kb = ctx.web.kb
        rows = [
            (s, kb.source_flags(s.id), len(kb.statements_citing(s.id)))
            for s in sorted(kb.sources.values(), key=lambda s: s.id)
        ]
        only_flagged = request.query_params.get("currency") == "flagged"
        if only_flagged:
            rows = [row for row in rows if row[1]]
        return render(
            ctx, "kb_sources.html", rows=rows, only_flagged=only_flagged, line=source_line
        )

    @r.get("/kb/sources/{source_id}", include_in_schema=False)
    def kb_source(source_id: str, request: Request) -> Response:
        ctx = context(request)
        web = ctx.web
        src = web.kb.sources.get(source_id)
        if src is None:
            raise WebError(404, "No source has this id.")
        statuses = web.statuses()
        citing = []
        for sid in web.kb.statements_citing(source_id):
            st = web.kb.statements[sid]
            eff = statuses.get(sid, st.status)
            if web.visible(eff):
                locs = [c.locator for c in st.sources if c.source == source_id]
                citing.append((st, eff, locs))
        superseding = [s for s in web.kb.sources.values() if s.superseded_by == source_id]
        return render(
            ctx,
            "kb_source.html",
            src=src,
            flags=web.kb.source_flags(source_id),
            citing=citing,
            superseding=superseding,
            line=source_line(src),
        )

    @r.get("/kb/conflicts", include_in_schema=False)
    def kb_conflicts(request: Request) -> Response:
        ctx = context(request)
        web = ctx.web
        statuses = web.statuses()
        pairs = []
        seen: set[tuple[str, str]] = set()
        for st in sorted(web.kb.statements.values(), key=lambda s: s.id):
            for other_id in st.conflicts_with:
                other = web.kb.statements.get(other_id)
                key = (min(st.id, other_id), max(st.id, other_id))
                if other is None or key in seen:
                    continue
                seen.add(key)
                pair = []
                for s in (st, other):
                    refs, _ = statement_refs([s], web.kb, statuses, "clinician")
                    pair.append((s, statuses.get(s.id, s.status), refs))
                pairs.append(pair)
        return render(ctx, "kb_conflicts.html", **conflict_groups(web, pairs))

    @r.get("/kb/rules", include_in_schema=False)
    def kb_rules(request: Request) -> Response:
        ctx = context(request)
        rules = sorted(ctx.web.kb.rules.values(), key=lambda r: (r.kind, r.id))
        return render(ctx, "kb_rules.html", rules=rules)

    @r.get("/kb/rules/{rule_id}", include_in_schema=False)
    def kb_rule(rule_id: str, request: Request) -> Response:
        ctx = context(request)
        web = ctx.web
        rule = web.kb.rules.get(rule_id)
        if rule is None:
            raise WebError(404, "No rule has this id.")
        statuses = web.statuses()
        cited = [web.kb.statements[s] for s in rule.cites if s in web.kb.statements]
        refs, _ = statement_refs(cited, web.kb, statuses, "clinician")
        policy = web.service.policy
        values = []
        for pid in rule.policy:
            pv = policy.values.get(pid)
            param = web.kb.parameters.get(pid)
            values.append((pid, pv, param))
        import json

        return render(
            ctx,
            "kb_rule.html",
            rule=rule,
            cited=[(s, statuses.get(s.id, s.status)) for s in cited],
            refs=refs,
            values=values,
            when=json.dumps(rule.when, indent=2, ensure_ascii=False),
        )

    return r
