"""A standalone HTML page (Jinja2, autoescape on): no scripts, no external assets."""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import Environment, Template

from leptoguide.knowledge.loader import KnowledgeBase
from leptoguide.render.common import finding_refs, number_citations

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
<h1>LeptoGuide assessment</h1>
<p class="meta">Evaluated at {{ d.evaluated_at }} &middot; knowledge {{ d.knowledge_version }} &middot;
policy {{ d.policy.id }} ({{ d.policy.hash }}) &middot; audience {{ d.audience }}</p>
<h2>Classification</h2>
<p>EANO-ESMO: <strong>{{ d.classification.certainty | replace('_', ' ') }}{% if d.classification.type %}, type {{ d.classification.type }}{% endif %}</strong></p>
<ul>{% for r in d.classification.reasons %}<li>{{ r }}</li>{% endfor %}</ul>
<p>NCCN risk group: <strong>{{ d.risk.group }}</strong></p>
<ul>{% for r in d.risk.reasons %}<li>{{ r }}</li>{% endfor %}</ul>
<h2>Findings ({{ d.findings | length }})</h2>
{% for f in d.findings %}
<section class="finding {{ f.severity }}" id="{{ f.rule }}">
<p><strong>{{ f.severity | upper }}</strong> {{ f.kind }}{% if f.evidence_status != 'approved' %} <span class="draft">draft</span>{% endif %}
<span class="meta">{{ f.rule }}</span></p>
<p>{{ f.summary }} {% for n in refs_of(f) %}<a href="#ref-{{ n }}">[{{ n }}]</a>{% endfor %}</p>
<pre style="white-space:pre-wrap">{{ f.detail }}</pre>
{% if f.thresholds %}<ul class="meta">{% for t in f.thresholds %}<li>threshold {{ t.id }} = {{ t.value }} {{ t.unit or '' }} ({{ 'site override' if t.overridden else 'default' }}; {{ t.statement or t.source }}{% if t.alternatives %}; alternatives {% for a in t.alternatives %}{{ a.value }}{% if not loop.last %}, {% endif %}{% endfor %}{% endif %})</li>{% endfor %}</ul>{% endif %}
{% if f.inputs %}<p class="meta">Inputs: {% for i in f.inputs %}{{ i.fact }}={{ i.value if i.value is not none else i.status }}{% if i.time %} ({{ i.time }}){% endif %}{% if i.reference %} [{{ i.reference }}]{% endif %}{% if not loop.last %}; {% endif %}{% endfor %}</p>{% endif %}
</section>
{% endfor %}
{% if d.missing %}<h2>Missing or unusable data</h2><ul>{% for m in d.missing %}<li>{{ m.item }} ({{ m.status }}): needed for {{ m.needed_for | join(', ') }}; {{ m.suggestion }}</li>{% endfor %}</ul>{% endif %}
{% if d.warnings %}<h2>Data warnings</h2><ul>{% for w in d.warnings %}<li>{{ w.where }}{% if w.field %} field {{ w.field }}{% endif %}: {{ w.message }}</li>{% endfor %}</ul>{% endif %}
{% for s in d.schedules %}<h2>Schedule: {{ s.title }} ({{ s.status }})</h2>
<table><tr><th>dose</th><th>date</th><th>phase</th></tr>{% for e in s.events %}<tr><td>{{ e.dose }}</td><td>{{ e.date }}</td><td>{{ e.phase }}</td></tr>{% endfor %}</table>{% endfor %}
{% if refs %}<h2>References</h2><ol>{% for r in refs %}<li id="ref-{{ r.n }}">{{ r.statement_title }}{% if r.status and r.status != 'approved' %} [{{ r.status }}]{% endif %} &mdash; {{ r.source_title }}{% if r.year %} ({{ r.year }}){% endif %}, {{ r.locator }}</li>{% endfor %}</ol>{% endif %}
<p class="meta">{{ d.disclaimer }}</p>
</body></html>
"""


@cache
def _template() -> Template:
    return Environment(autoescape=True).from_string(PAGE)


def render_html(data: dict[str, Any], kb: KnowledgeBase | None = None) -> str:
    numbers, refs = number_citations(data, kb)
    return _template().render(d=data, refs=refs, refs_of=lambda f: finding_refs(f, numbers))
