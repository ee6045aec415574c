"""``report.html``: counts, rates over time and per unit as inline SVG bar charts (no script, no
network), and the flagged events with links to the patient's chart for a single-chart assessment."""

from __future__ import annotations

import json
from collections import Counter
from importlib import resources
from pathlib import Path
from typing import Any

from jinja2 import Environment, select_autoescape

from leptoguide.batch.run import Result

BAR_W, GAP, HEIGHT = 28, 6, 140
MAX_EVENTS = 2000


def bars(series: list[tuple[str, float]], *, percent: bool = False) -> dict[str, Any]:
    """Geometry of a vertical bar chart: one bar per (label, value)."""
    top = max((v for _, v in series), default=0.0) or 1.0
    items = []
    for i, (label, value) in enumerate(series):
        h = round(HEIGHT * value / top, 1)
        items.append(
            {
                "x": 40 + i * (BAR_W + GAP),
                "y": 10 + HEIGHT - h,
                "h": h,
                "label": label,
                "text": f"{value:.1f}%" if percent else f"{value:g}",
            }
        )
    return {
        "items": items,
        "width": 60 + len(series) * (BAR_W + GAP),
        "height": HEIGHT + 70,
        "bar": BAR_W,
        "base": 10 + HEIGHT,
    }


def _rate(n: int, d: int) -> float:
    return 100.0 * n / d if d else 0.0


def write_report(result: Result, out_dir: Path) -> None:
    s = result.summary
    lp_info = (s.get("audits") or {}).get("lp-safety", {}).get("lp_events") or {}
    months: dict[str, int] = lp_info.get("events_by_month", {})
    places: dict[str, int] = lp_info.get("events_by_location", {})
    lp_rules = (s.get("audits") or {}).get("lp-safety", {}).get("rules", [])
    flagged_month: Counter[str] = Counter()
    flagged_place: Counter[str] = Counter()
    seen: set[str] = set()
    for f in result.findings:
        if f["rule"] in lp_rules and f["event_reference"] not in seen:
            seen.add(f["event_reference"])
            flagged_month[(f["event_time"] or "")[:7]] += 1
            flagged_place[f.get("location") or "not recorded"] += 1
    charts = {
        "per_rule": bars([(k, float(v)) for k, v in s["findings_per_rule"].items()]),
        "by_month": bars(
            [(m, _rate(flagged_month[m], n)) for m, n in months.items()], percent=True
        ),
        "by_place": bars(
            [(p, _rate(flagged_place[p], n)) for p, n in places.items()], percent=True
        ),
    }
    links = s.get("charts", {})
    events = [
        {**f, "values_obj": json.loads(f["values"]), "chart": links.get(f["patient"])}
        for f in result.findings[:MAX_EVENTS]
    ]
    env = Environment(autoescape=select_autoescape(default=True))
    text = resources.files("leptoguide.batch").joinpath("templates/report.html").read_text("utf-8")
    html = env.from_string(text).render(
        s=s,
        charts=charts,
        events=events,
        more=max(0, len(result.findings) - MAX_EVENTS),
        lp_events=lp_info.get("events", 0),
        cohorts=result.cohorts[:MAX_EVENTS],
    )
    (out_dir / "report.html").write_text(html, "utf-8")
