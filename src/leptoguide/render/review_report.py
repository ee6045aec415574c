"""The sign-off packet: every statement of a topic with its sources, locators, status and users.

A hospital's clinical reviewers print it (HTML or PDF), check each statement against the cited
passages, and sign it off in the deployment's review workflow. Deterministic for a knowledge version
and a date.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from jinja2 import Environment, select_autoescape

from leptoguide.knowledge.loader import KnowledgeBase
from leptoguide.knowledge.models import Rule, Statement
from leptoguide.knowledge.status import status_label


@dataclass
class TopicPacket:
    topic: str
    statements: list[Statement] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


def topics_of(kb: KnowledgeBase) -> list[str]:
    """Every topic id that is the first (main) topic of at least one statement, sorted."""
    return sorted({st.topics[0] for st in kb.statements.values()})


def packets(kb: KnowledgeBase, topics: list[str] | None = None) -> list[TopicPacket]:
    """Statements grouped by their main (first) topic; ``topics`` limits which topics."""
    out: dict[str, TopicPacket] = {}
    for st in sorted(kb.statements.values(), key=lambda s: s.id):
        main = st.topics[0]
        if topics and main not in topics:
            continue
        packet = out.setdefault(main, TopicPacket(main))
        packet.statements.append(st)
        packet.counts[st.status] = packet.counts.get(st.status, 0) + 1
    return [out[t] for t in sorted(out)]


def users_of(kb: KnowledgeBase, statement_id: str) -> list[tuple[str, Rule | None, str]]:
    """Rules (with severity), regimens and policy values that rest on a statement."""
    found: list[tuple[str, Rule | None, str]] = []
    for rule in sorted(kb.rules.values(), key=lambda r: r.id):
        if statement_id in rule.cites:
            found.append(("rule", rule, f"{rule.title} ({rule.severity} {rule.kind})"))
    for reg in sorted(kb.regimens.values(), key=lambda r: r.id):
        band_ids = {s for band in reg.bands for s in band.statements}
        if statement_id in reg.statements or statement_id in band_ids:
            found.append(("regimen", None, reg.title))
    for param in sorted(kb.parameters.values(), key=lambda p: p.id):
        if param.statement == statement_id:
            found.append(("policy value", None, param.title))
    return found


_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Knowledge sign-off packet - LeptoGuide {{ kb.version }}</title>
<style>
body { font: 10.5pt/1.4 "DejaVu Sans", Arial, sans-serif; margin: 1.5cm; color: #111; }
h1 { font-size: 16pt; } h2 { font-size: 13pt; border-bottom: 1px solid #444; margin-top: 1.4em; }
h3 { font-size: 11pt; margin: 1em 0 .2em; }
.meta, .note { color: #444; font-size: 9pt; }
.st { page-break-inside: avoid; border-top: 1px solid #ccc; padding-top: .4em; }
.status { font-weight: bold; } .draft { color: #8a4b00; } .verified { color: #0b4f8a; }
.claim { background: #f3f3f3; padding: .2em .4em; }
table.sign { width: 100%; border-collapse: collapse; margin-top: .3em; }
table.sign td { border: 1px solid #888; height: 1.6em; padding: .2em; font-size: 9pt; }
@page { size: A4; margin: 1.5cm; @bottom-right { content: counter(page) " / " counter(pages); } }
section.topic { page-break-before: always; } section.topic:first-of-type { page-break-before: auto; }
</style></head><body>
<h1>Knowledge sign-off packet</h1>
<p class="meta">LeptoGuide knowledge {{ kb.version }} · prepared {{ today }} · {{ total }} statement{{ 's' if total != 1 }} in {{ packets|length }} topic{{ 's' if packets|length != 1 }}</p>
<p>For each statement: read the cited passage (source and locator), compare it with the statement, and record
the decision in this hospital's review workflow (<em>Review</em> page of the LeptoGuide web application), which
records your name, clinical role and the date. Status meanings: <strong>draft</strong> - written, not yet checked
against its source; <strong>verified</strong> - a content editor checked it against the passage named; only this
hospital's review workflow makes a statement <strong>approved</strong>.</p>
{% for p in packets %}
<section class="topic">
<h2>Topic: {{ p.topic|replace('-', ' ') }}</h2>
{% set cur = kb.topics.get(p.topic) %}<p class="meta">{% if cur %}Literature reviewed through {{ cur.literature_reviewed_through }} · last updated {{ cur.last_updated }}{% else %}Currency not recorded for this topic{% endif %}</p>
<p class="meta">{{ p.statements|length }} statement{{ 's' if p.statements|length != 1 }}:{% for s, n in p.counts|dictsort %} {{ n }} {{ s }}{{ ',' if not loop.last }}{% endfor %}</p>
{% for st in p.statements %}
<div class="st" id="{{ st.id }}">
<h3>{{ st.title }}</h3>
<p class="meta">id {{ st.id }} · version {{ st.version }} · topics {{ st.topics|join(', ') }}</p>
<p class="status {{ st.status }}">Status: {{ label(st.status) }}</p>
{% if st.kind == 'claim-check' %}<p class="claim">Claim check: about a claim made by {{ kb.sources[st.about_claim].title }}; shown only when a question is about that claim.</p>{% endif %}
<p><strong>Clinician wording:</strong> {{ st.clinician }}</p>
<p><strong>Patient wording:</strong> {{ st.patient }}</p>
<p><strong>Sources and locators:</strong></p><ol>
{% for c in st.sources %}{% set src = kb.sources.get(c.source) %}<li>{{ src.title if src else c.source }}{% if src and src.year %} ({{ src.year }}){% endif %}{% if src and (src.doi or src.pmid or src.url) %} <span class="meta">{% if src.doi %}doi {{ src.doi }}{% elif src.pmid %}PMID {{ src.pmid }}{% else %}{{ src.url }}{% endif %}</span>{% endif %} - <em>{{ c.locator }}</em>{% if src %} <span class="meta">[{{ src.access|replace('-', ' ') }}{% for f in flags(c.source) %}; {{ f }}{% endfor %}]</span>{% endif %}</li>
{% endfor %}</ol>
{% if st.verification %}<p class="note">Verified by {{ st.verification.by }} on {{ st.verification.date }}; passage read: {% for c in st.verification.checked %}{{ c.source }} ({{ c.locator }}){{ '; ' if not loop.last }}{% endfor %}.{% if st.verification.note %} {{ st.verification.note }}{% endif %}</p>{% endif %}
{% if st.conflicts_with %}<p class="note">Sources disagree: see {{ st.conflicts_with|join(', ') }}.</p>{% endif %}
{% set used = users(st.id) %}<p><strong>Used by:</strong> {% if used %}{% for kind, _, title in used %}{{ kind }} "{{ title }}"{{ '; ' if not loop.last }}{% endfor %}{% else %}no rule, regimen or policy value (shown in answers and pages only){% endif %}</p>
<table class="sign"><tr><td>Decision (approve / return)</td><td>Reviewer name and clinical role</td><td>Date</td></tr><tr><td></td><td></td><td></td></tr></table>
</div>
{% endfor %}
</section>
{% endfor %}
</body></html>
"""


def render_review_report(
    kb: KnowledgeBase, topics: list[str] | None = None, today: dt.date | None = None
) -> str:
    """The packet as one HTML document (print-ready; WeasyPrint turns it into a PDF)."""
    today = today or dt.date.today()
    env = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
    chosen = packets(kb, topics)
    return env.from_string(_TEMPLATE).render(
        kb=kb,
        packets=chosen,
        total=sum(len(p.statements) for p in chosen),
        today=today.isoformat(),
        label=status_label,
        users=lambda sid: users_of(kb, sid),
        flags=lambda sid: kb.source_flags(sid, today),
    )


def review_report_pdf(html: str) -> bytes:
    from weasyprint import HTML

    pdf: bytes = HTML(string=html).write_pdf()
    return pdf
