"""A standalone HTML page (Jinja2, autoescape on): no scripts, no external assets."""

from __future__ import annotations

from functools import cache
from itertools import groupby
from typing import TYPE_CHECKING

from jinja2 import Environment, Template
from markupsafe import Markup

from leptoguide.assessment import Assessment, Finding
from leptoguide.render.common import (
    PATIENT_LABEL,
    SEVERITY_LABEL,
    detail_lines,
    finding_refs,
    input_text,
    missing_items,
    number_citations,
    summary_text,
    threshold_text,
)

if TYPE_CHECKING:
    from leptoguide.knowledge.loader import KnowledgeBase

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>LeptoGuide assessment</title>
<style>
body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.45}
.critical{border-left:6px solid #b00020}.warning{border-left:6px solid #c77700}.info{border-left:6px solid #2b6cb0}
.finding{padding:.5rem 1rem;margin:1rem 0;background:#f7f7f7}.meta{color:#555;font-size:.9rem}
.draft{background:#fff3cd;padding:0 .3rem}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2rem .5rem}
</style></head><body>
<h1>{{ 'LeptoGuide: information for you' if patient else 'LeptoGuide assessment' }}</h1>
<p class="meta">Evaluated at {{ d.evaluated_at }} &middot; knowledge {{ d.knowledge_version }} &middot;
policy {{ d.policy.id }} ({{ d.policy.hash }}) &middot; audience {{ d.audience }}</p>
<p>{% if d.findings %}{{ d.findings | length }} findings: {% for s, n in counts %}{{ n }} {{ s }}{% if not loop.last %}, {% endif %}{% endfor %}{% else %}No findings.{% endif %}</p>
{% if not patient %}<h2>Classification</h2>
<p>EANO-ESMO: <strong>{{ d.classification.certainty | replace('_', ' ') }}{% if d.classification.type %}, type {{ d.classification.type }}{% endif %}</strong></p>
<ul>{% for r in d.classification.reasons %}<li>{{ r }}</li>{% endfor %}</ul>
<p>NCCN risk group: <strong>{{ d.risk.group }}</strong></p>
<ul>{% for r in d.risk.reasons %}<li>{{ r }}</li>{% endfor %}</ul>{% endif %}
{% for severity, items in groups %}
<h2>{{ labels[severity] }} ({{ items | length }})</h2>
{% for f in items %}
<section class="finding {{ f.severity }}" id="{{ f.rule }}">
{% if patient %}<p><strong>{{ summary(f) }}</strong> {{ cite(f) }}</p>
{% else %}<p><strong>{{ f.title }}</strong> <span class="meta">{{ f.rule }}; {{ f.kind }}</span>{% if f.evidence_status not in ('verified', 'approved') %} <span class="draft">draft evidence</span>{% endif %}</p>
<p>{{ summary(f) }} {{ cite(f) }}</p>{% endif %}
{% set lines = detail(f) %}{% if lines %}<ul>{% for line in lines %}<li>{{ line.lstrip('- ') }}</li>{% endfor %}</ul>{% endif %}
{% if not patient %}
{% if f.thresholds %}<p class="meta">Thresholds: {% for t in f.thresholds %}{{ threshold(t) }}{% if not loop.last %}; {% endif %}{% endfor %}</p>{% endif %}
{% set used = inputs(f) %}{% if used %}<p class="meta">Inputs: {{ used | join('; ') }}</p>{% endif %}
{% if f.suggestion %}<p>Suggested action: {{ f.suggestion }}</p>{% endif %}
{% endif %}
</section>
{% endfor %}{% endfor %}
{% if missing %}{% if patient %}<h2>Information your care team may still need</h2><ul>{% for m in missing %}<li>{{ m.label }}</li>{% endfor %}</ul>
{% else %}<h2>What is missing</h2><ul>{% for m in missing %}<li><strong>{{ m.label }}</strong> ({{ m.item }}): {{ m.action }}; needed for {{ m.needed_for | join('; ') }}</li>{% endfor %}</ul>{% endif %}{% endif %}
{% if d.warnings and not patient %}<h2>Data warnings</h2><ul>{% for w in d.warnings %}<li>{{ w.where }}{% if w.field %} ({{ w.field }}){% endif %}: {{ w.message }}</li>{% endfor %}</ul>{% endif %}
{% for s in d.schedules %}<h2>Schedule: {{ s.title }} ({{ s.status }})</h2>
<table><tr><th>dose</th><th>date</th><th>phase</th></tr>{% for e in s.events %}<tr><td>{{ e.dose }}</td><td>{{ e.date }}</td><td>{{ e.phase }}</td></tr>{% endfor %}</table>{% endfor %}
{% if refs %}<h2>References</h2><ol>{% for r in refs %}<li id="ref-{{ r.n }}" value="{{ r.n }}">{{ r.statement_title }}{% if r.status and r.status not in ('verified', 'approved') %} [{{ r.status }}]{% endif %}<ul class="meta">{% for src in r.sources %}<li>{{ src.source_title }}{% if src.year %} ({{ src.year }}){% endif %}; {{ src.locator }}</li>{% endfor %}</ul></li>{% endfor %}</ol>{% endif %}
<p class="meta">{{ d.disclaimer }}</p>
</body></html>
"""


@cache
def _template() -> Template:
    return Environment(autoescape=True).from_string(PAGE)


def render_html(data: Assessment, kb: KnowledgeBase | None = None) -> str:
    numbers, refs = number_citations(data, kb)
    patient = data.audience == "patient"
    groups = [(s, list(g)) for s, g in groupby(data.findings, key=lambda f: f.severity)]
    counts = [(s, len(items)) for s, items in groups]

    def cite(f: Finding) -> Markup:
        nums = finding_refs(f, numbers)
        links = ", ".join(f'<a href="#ref-{n}">{n}</a>' for n in nums)
        return Markup(f"[{links}]") if nums else Markup("")

    return _template().render(
        d=data,
        refs=refs,
        patient=patient,
        groups=groups,
        counts=counts,
        labels=PATIENT_LABEL if patient else SEVERITY_LABEL,
        cite=cite,
        detail=detail_lines,
        summary=summary_text,
        threshold=threshold_text,
        inputs=lambda f: [t for t in (input_text(i) for i in f.inputs) if t],
        missing=missing_items(data, kb),
    )
