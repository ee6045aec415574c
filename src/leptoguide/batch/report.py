"""``report.html``: counts, rates over time and per unit as inline SVG bar charts drawn with
matplotlib (no script, no network), and the flagged events with links to the patient's chart for a single-chart assessment."""

from __future__ import annotations

import json
from collections import Counter
from importlib import resources
from pathlib import Path
from typing import Any

from jinja2 import Environment, select_autoescape

from leptoguide.batch.run import Result

MAX_EVENTS = 2000
BRAND = "#0b4f6c"


def bar_chart(title: str, series: list[tuple[str, float]], *, percent: bool = False) -> str:
    """An inline SVG bar chart drawn with matplotlib's SVG backend (the library the web pages
    use; text stays text, output is deterministic)."""
    import io

    import matplotlib

    matplotlib.use("svg", force=False)
    from matplotlib.figure import Figure

    params: Any = {
        "svg.fonttype": "none",
        "svg.hashsalt": "leptoguide",
        "font.family": "DejaVu Sans",
        "font.size": 9,
    }
    with matplotlib.rc_context(params):
        fig = Figure(figsize=(max(4.0, 0.55 * len(series) + 1.5), 2.8), dpi=100)
        ax = fig.add_subplot()
        labels = [label for label, _ in series]
        values = [v for _, v in series]
        bars = ax.bar(range(len(values)), values, color=BRAND)
        ax.bar_label(
            bars, labels=[f"{v:.1f}%" if percent else f"{v:g}" for v in values], fontsize=8
        )
        ax.set_xticks(range(len(labels)), labels, rotation=35, ha="right")
        ax.set_ylabel("% of LPs" if percent else "findings")
        ax.set_title(title, fontsize=10)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        fig.tight_layout()
        out = io.StringIO()
        fig.savefig(out, format="svg", metadata={"Date": None})
    text = out.getvalue()
    return text[text.index("<svg") :]


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
    month_rates = [(m, _rate(flagged_month[m], n)) for m, n in months.items()]
    place_rates = [(p, _rate(flagged_place[p], n)) for p, n in places.items()]
    charts = {
        "per_rule": bar_chart(
            "Findings per rule", [(k, float(v)) for k, v in s["findings_per_rule"].items()]
        ),
        "by_month": bar_chart(
            "Flagged lumbar punctures per month (% of LPs that month)", month_rates, percent=True
        )
        if month_rates
        else "",
        "by_place": bar_chart(
            "Flagged lumbar punctures per unit (% of LPs in that unit)", place_rates, percent=True
        )
        if place_rates
        else "",
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
