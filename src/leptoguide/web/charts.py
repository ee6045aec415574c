"""Pictures for the web pages: server-rendered SVG with matplotlib, each with a text alternative.

matplotlib is imported on first use (about a second), never at start-up, and only its SVG backend
is used: no JavaScript, no CDN. The SVG is embedded as a ``data:`` image (the pages' CSP allows
``img-src data:``), with the short text alternative in ``alt`` and the full description in the
figure caption. Output is deterministic (fixed hash salt, no date) and cached by content, so a page
shown twice draws nothing twice. The data always comes from the assessment or the knowledge base:
this module draws, it never decides.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import io
import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from leptoguide.assessment import (
    AntithromboticTiming,
    Assessment,
    DrugTiming,
    Finding,
    FindingInput,
    Schedule,
    Series,
)
from leptoguide.knowledge.loader import KnowledgeBase
from leptoguide.policy import Policy
from leptoguide.web import fmt
from leptoguide.web.citations import short_source

CRIT = "#9b1c1c"
WARN = "#7a4a00"
OK = "#1d6b35"
INK = "#1a1a1a"
MUTED = "#4a4a4a"
BRAND = "#0b4f6c"
_CACHE: OrderedDict[str, str] = OrderedDict()
_CACHE_SIZE = 256
_LOCK = threading.Lock()


@dataclass(frozen=True)
class Chart:
    """An SVG picture with its short text alternative and a longer description."""

    id: str
    title: str
    svg: str
    alt: str
    description: str

    @property
    def src(self) -> str:
        return "data:image/svg+xml;base64," + base64.b64encode(self.svg.encode()).decode()


def _figure(width: float, height: float) -> Any:
    import matplotlib

    matplotlib.use("svg", force=False)
    from matplotlib.figure import Figure

    params: Any = {
        "svg.fonttype": "none",  # text stays text: smaller, and searchable
        "svg.hashsalt": "leptoguide",
        "font.family": "DejaVu Sans",
        "font.size": 10,
        "axes.edgecolor": MUTED,
        "axes.labelcolor": INK,
        "xtick.color": INK,
        "ytick.color": INK,
    }
    with matplotlib.rc_context(params):
        fig = Figure(figsize=(width, height), dpi=100)
    return fig, params


def _render(key: dict[str, Any], draw: Callable[[], Any]) -> str:
    digest = hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()
    with _LOCK:
        hit = _CACHE.get(digest)
        if hit is not None:
            _CACHE.move_to_end(digest)
            return hit
    import matplotlib

    fig, params = draw()
    buf = io.StringIO()
    with matplotlib.rc_context(params):
        fig.savefig(buf, format="svg", metadata={"Date": None}, bbox_inches="tight")
    svg = buf.getvalue()
    with _LOCK:
        _CACHE[digest] = svg
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return svg


def _time(raw: str | None) -> dt.datetime | None:
    if raw is None:
        return None
    try:
        value = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _clock(value: dt.datetime, zone: dt.tzinfo | None) -> str:
    local = value.astimezone(zone or dt.UTC)
    return f"{local.day} {local:%b} {local:%H:%M}"


# --- LP timeline -------------------------------------------------------------------------------


def lp_timeline(kb: KnowledgeBase, data: Assessment, zone: dt.tzinfo | None) -> Chart | None:
    """Labs with their age, antithrombotic doses with their hold windows, the LP time and the
    earliest safe time, on one time axis. None when the assessment has nothing timed about an LP."""
    drugs: list[DrugTiming] = []
    labs: dict[str, tuple[FindingInput, float]] = {}
    for f in data.findings:
        for item in f.inputs:
            value = item.value
            if isinstance(value, AntithromboticTiming):
                for d in value.drugs:
                    if d.drug not in {x.drug for x in drugs}:
                        drugs.append(d)
            elif (
                item.time
                and isinstance(value, int | float)
                and not isinstance(value, bool)
                and item.fact in _LP_LABS
            ):
                labs.setdefault(item.fact, (item, value))
    if "lp-planned" not in data.input.planned and not drugs:
        return None
    now = _time(data.evaluated_at)
    lp_time = next((_time(d.lp_time) for d in drugs if d.lp_time), None) or now
    if lp_time is None or not (drugs or labs):
        return None
    rows: list[tuple[str, dt.datetime, dt.datetime | None, str]] = []  # label, start, end, colour
    earliest: dt.datetime | None = None
    sentences: list[str] = []
    for d in drugs:
        last = _time(d.last_dose)
        until = _time(d.earliest_lp)
        dose = f" {fmt.number(d.dose)} {fmt.unit(d.dose_unit)}" if d.dose else ""
        name = f"{d.drug}{dose}"
        if last is None:
            sentences.append(f"{name}: time of the last dose not recorded")
            continue
        held = d.status == "hold"
        rows.append((name, last, until, CRIT if held else OK))
        text = f"{name}: last dose {_clock(last, zone)}"
        if until is not None:
            text += f", hold {fmt.number(d.hold_hours or 0)} h until {_clock(until, zone)}"
            if held and (earliest is None or until > earliest):
                earliest = until
        sentences.append(text + (" (still within the hold)" if held else " (hold over)"))
    for fact, (item, lab_value) in labs.items():
        taken = _time(item.time)
        if taken is None:
            continue
        hours = (lp_time - taken).total_seconds() / 3600
        label = f"{fmt.label(kb, fact)} {fmt.number(lab_value)}"
        rows.append((label, taken, None, BRAND))
        sentences.append(
            f"{label} measured {_clock(taken, zone)} ({fmt.number(round(hours))} h before the LP time)"
        )
    if not rows:
        return None
    sentences.append(f"LP time {_clock(lp_time, zone)}")
    if earliest is not None:
        sentences.append(f"earliest LP after the holds {_clock(earliest, zone)}")
    zone_name = str(zone) if zone else "UTC"

    def draw() -> Any:
        import matplotlib.dates as mdates

        fig, params = _figure(7.2, 0.9 + 0.45 * len(rows))
        ax = fig.subplots()
        times = [t for _, s, e, _ in rows for t in (s, e) if t is not None] + [lp_time]
        if earliest:
            times.append(earliest)
        lo, hi = min(times), max(times)
        pad = max((hi - lo) * 0.08, dt.timedelta(hours=1))
        for i, (_label, start, end, colour) in enumerate(rows):
            y = len(rows) - 1 - i
            if end is not None:
                ax.barh(y, end - start, left=start, height=0.5, color=colour, alpha=0.25)
                ax.plot([start], [y], marker="v", color=colour, markersize=9)
                ax.text(end, y, " hold ends", va="center", fontsize=8, color=colour)
            else:
                ax.plot([start], [y], marker="o", color=colour, markersize=8)
        ax.axvline(lp_time, color=INK, linewidth=2)
        ax.text(lp_time, len(rows) - 0.45, " LP time", fontsize=9, color=INK, va="bottom")
        if earliest is not None:
            ax.axvline(earliest, color=CRIT, linewidth=2, linestyle="--")
            ax.text(earliest, -0.75, " earliest LP", fontsize=9, color=CRIT, va="bottom")
        ax.set_yticks(range(len(rows)), [r[0] for r in reversed(rows)])
        ax.set_ylim(-0.8, len(rows) - 0.2)
        ax.set_xlim(lo - pad, hi + pad * 2)
        tz = zone or dt.UTC
        ax.xaxis.set_major_locator(mdates.AutoDateLocator(tz=tz, minticks=3, maxticks=7))  # type: ignore[no-untyped-call]
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%d %b\n%H:%M", tz=tz))  # type: ignore[no-untyped-call]
        ax.set_xlabel(f"time ({zone_name})")
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        return fig, params

    key = {"chart": "lp-timeline", "rows": rows, "lp": lp_time, "e": earliest, "z": zone_name}
    svg = _render(key, draw)
    alt = "LP timeline: " + "; ".join(sentences[:3]) + ("…" if len(sentences) > 3 else "")
    return Chart("lp-timeline", "LP timeline", svg, alt[:240], "; ".join(sentences) + ".")


_LP_LABS = ("platelets", "inr")


# --- number line -------------------------------------------------------------------------------


def _who(kb: KnowledgeBase, statement_id: str | None) -> str:
    st = kb.statements.get(statement_id or "")
    if st is None:
        return statement_id or "source"
    first = st.sources[0].source if st.sources else ""
    return short_source(kb.sources.get(first), first) if first else st.title


def number_line(
    kb: KnowledgeBase,
    label: str,
    unit: str | None,
    site: tuple[float, str | None] | None,
    others: list[tuple[float, str | None, str | None]],
    patient: float | None = None,
) -> Chart:
    """A value on a number line against each source's threshold and the site policy.

    ``site``: (value, statement id); ``others``: (value, statement id, note) from other sources.
    """
    shown_unit = fmt.unit(unit)
    marks: list[tuple[float, str, str]] = []  # value, label, colour
    if site is not None:
        marks.append((site[0], f"site policy {fmt.number(site[0])} ({_who(kb, site[1])})", BRAND))
    for value, sid, _ in others:
        marks.append((value, f"{fmt.number(value)} ({_who(kb, sid)})", MUTED))
    parts = []
    if patient is not None:
        parts.append(f"patient {fmt.number(patient)} {shown_unit}".strip())
    if site is not None:
        parts.append(f"site policy {fmt.number(site[0])} from {_who(kb, site[1])}")
    if others:
        parts.append(
            "other sources: "
            + ", ".join(f"{fmt.number(v)} ({_who(kb, s)})" for v, s, _ in sorted(others))
        )
    description = (
        f"{label} ({shown_unit}): " + "; ".join(parts)
        if shown_unit
        else f"{label}: " + "; ".join(parts)
    )

    def draw() -> Any:
        fig, params = _figure(7.2, 1.2 + 0.22 * len(marks))
        ax = fig.subplots()
        values = [m[0] for m in marks] + ([patient] if patient is not None else [])
        lo, hi = min(values), max(values)
        span = (hi - lo) or max(abs(hi), 1.0)
        ax.set_xlim(lo - span * 0.15, hi + span * 0.25)
        ax.axhline(0, color=MUTED, linewidth=1)
        for i, (value, text, colour) in enumerate(sorted(marks, key=lambda m: m[0])):
            level = 0.35 + 0.28 * i
            ax.plot([value, value], [0, level], color=colour, linewidth=2 if colour == BRAND else 1)
            ax.text(value, level, " " + text, fontsize=8.5, color=colour, va="center")
        if patient is not None:
            ax.plot([patient], [0], marker="D", color=CRIT, markersize=11)
            ax.text(
                patient,
                -0.32,
                f"patient {fmt.number(patient)}",
                color=CRIT,
                ha="center",
                va="top",
                fontsize=9.5,
                fontweight="bold",
            )
        ax.set_ylim(-0.7, 0.55 + 0.28 * len(marks))
        ax.set_yticks([])
        ax.set_xlabel(f"{label} ({shown_unit})" if shown_unit else label)
        for side in ("top", "right", "left"):
            ax.spines[side].set_visible(False)
        return fig, params

    key = {"chart": "number-line", "l": label, "u": unit, "m": marks, "p": patient}
    svg = _render(key, draw)
    return Chart(
        "number-line-" + label.lower().replace(" ", "-"),
        label,
        svg,
        description[:240],
        description + ".",
    )


def _number(value: object) -> float | None:
    """A patient or policy value that can go on a number line (a yes/no cannot)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def finding_number_lines(kb: KnowledgeBase, finding: Finding) -> list[Chart]:
    """One number line per threshold of a finding that has a comparable patient value."""
    out = []
    values: dict[str, tuple[FindingInput, float]] = {}
    for i in finding.inputs:
        number = _number(i.value)
        if number is not None:
            values[i.fact] = (i, number)
    for t in finding.thresholds:
        site = float(t.value) if isinstance(t.value, int | float) else None
        if site is None:
            continue
        hit = next(
            (v for v in values.values() if (v[0].unit or None) == (t.unit or None)),
            None,
        )
        if hit is None:
            continue
        item, patient = hit
        others = [
            (float(a.value), a.statement, a.note)
            for a in t.alternatives
            if isinstance(a.value, int | float)
        ]
        out.append(
            number_line(
                kb,
                fmt.label(kb, item.fact),
                t.unit,
                (site, t.statement),
                others,
                patient,
            )
        )
    return out


# --- intrathecal schedule as a calendar --------------------------------------------------------


def schedule_calendar(schedule: Schedule) -> Chart | None:
    """The dated doses of a schedule as month calendars (weeks in rows, Monday first)."""
    events: list[tuple[dt.date, str, int]] = []
    for e in schedule.events:
        try:
            events.append((dt.date.fromisoformat(e.date), e.phase, e.dose))
        except ValueError:
            continue
    if not events:
        return None
    events.sort()
    months = sorted({(d.year, d.month) for d, _, _ in events})
    phases = sorted({p for _, p, _ in events})
    palette = [BRAND, WARN, OK, CRIT, MUTED]
    colour = {p: palette[i % len(palette)] for i, p in enumerate(phases)}
    by_day = {d: (p, n) for d, p, n in events}
    title = schedule.title or "Schedule"
    by_phase: dict[str, list[dt.date]] = {}
    for d, p, _ in events:
        by_phase.setdefault(p, []).append(d)
    description = (
        f"{title}: {len(events)} doses from {events[0][0]:%d %b %Y} to {events[-1][0]:%d %b %Y}. "
        + "; ".join(
            f"{p}: " + ", ".join(f"{d.day} {d:%b}" for d in ds) for p, ds in by_phase.items()
        )
    )

    def draw() -> Any:
        import calendar

        cols = min(len(months), 3)
        rows = (len(months) + cols - 1) // cols
        fig, params = _figure(2.6 * cols, 2.4 * rows + 0.4)
        axes = fig.subplots(rows, cols, squeeze=False)
        for idx, (year, month) in enumerate(months):
            ax = axes[idx // cols][idx % cols]
            weeks = calendar.Calendar(firstweekday=0).monthdatescalendar(year, month)
            for w, week in enumerate(weeks):
                for k, day in enumerate(week):
                    if day.month != month:
                        continue
                    hit = by_day.get(day)
                    y = len(weeks) - 1 - w
                    face = colour[hit[0]] if hit else "#ffffff"
                    ax.add_patch(_rect(k, y, face))
                    ax.text(
                        k + 0.5,
                        y + 0.5,
                        str(day.day),
                        ha="center",
                        va="center",
                        fontsize=7.5,
                        color="#ffffff" if hit else INK,
                        fontweight="bold" if hit else "normal",
                    )
            for k, name in enumerate("MTWTFSS"):
                ax.text(k + 0.5, len(weeks) + 0.3, name, ha="center", fontsize=7, color=MUTED)
            ax.set_xlim(0, 7)
            ax.set_ylim(0, len(weeks) + 0.8)
            ax.set_title(f"{calendar.month_name[month]} {year}", fontsize=9)
            ax.axis("off")
        for idx in range(len(months), rows * cols):
            axes[idx // cols][idx % cols].axis("off")
        handles = [_rect(0, 0, colour[p]) for p in phases]
        fig.legend(
            handles, phases, loc="lower center", ncol=max(1, len(phases)), fontsize=8, frameon=False
        )
        return fig, params

    key = {"chart": "calendar", "t": title, "e": events}
    svg = _render(key, draw)
    return Chart(
        "calendar-" + (schedule.regimen or "schedule"),
        title,
        svg,
        description[:240],
        description,
    )


def _rect(x: float, y: float, face: str) -> Any:
    from matplotlib.patches import Rectangle

    return Rectangle((x + 0.05, y + 0.05), 0.9, 0.9, facecolor=face, edgecolor="#c9d0d6")


# --- CSF values against the typical patterns -------------------------------------------------


PATTERN_LABELS = {
    "bacterial": "bacterial",
    "viral": "viral",
    "tuberculous": "tuberculous (TB)",
    "fungal": "fungal",
    "neoplastic": "LM (neoplastic)",
}
"""How the pictures name the engine's patterns (presentation only)."""


def _pattern_label(outcome: str | None) -> str:
    return PATTERN_LABELS.get(outcome or "", outcome or "")


def _policy_as_used(policy: Policy, finding: Finding) -> Policy:
    """``policy`` with the values the finding was computed with (a stored assessment may have
    run under other site values than the server has now)."""
    values = dict(policy.values)
    for t in finding.thresholds:
        if t.id in values and t.value is not None:
            values[t.id] = dataclasses.replace(values[t.id], value=t.value)
    return dataclasses.replace(policy, values=values)


def _span(band: Any, unit: str) -> str:
    low, high = band.low, band.high
    u = f" {unit}" if unit and unit != "%" else unit
    if low is None and high is None:
        return "any value"
    if low is None:
        return f"{'at most' if band.high_inclusive else 'below'} {fmt.number(high)}{u}"
    if high is None:
        return f"{'at least' if band.low_inclusive else 'above'} {fmt.number(low)}{u}"
    above = "at least" if band.low_inclusive else "above"
    below = "at most" if band.high_inclusive else "below"
    return f"{above} {fmt.number(low)} and {below} {fmt.number(high)}{u}"


def csf_patterns(kb: KnowledgeBase, finding: Finding, policy: Policy) -> Chart | None:
    """The patient's CSF values against the ranges in which the CSF pattern scoring table gives
    each pattern (bacterial, viral, TB, fungal, LM) points.

    The ranges are :func:`leptoguide.engine.bands.bands` of the knowledge base's ``csf-pattern``
    table (the table the engine scores with) under ``policy`` with the values the finding used,
    given the patient's other values. None unless the finding shows a CSF pattern and a value.
    """
    from leptoguide.engine import csf
    from leptoguide.engine.bands import bands as table_bands

    table = kb.scores.get(csf.TABLE)
    if table is None:
        return None
    pattern = None
    values: dict[str, tuple[float, str | None]] = {}
    for item in finding.inputs:
        value, fact = item.value, item.fact
        if fact == "csf-pattern" and item.status == "ok":
            pattern = str(value)
        number = _number(value)
        if item.status == "ok" and number is not None:
            values[fact] = (number, item.unit)
    if pattern is None:
        return None
    used = _policy_as_used(policy, finding)
    context = {k: v for k, (v, _) in values.items()}
    bands = table_bands(table, used, context)
    measured = {b.measure for b in bands}
    measures = [
        m
        for m in dict.fromkeys(b.measure for b in table_bands(table, used))
        if m in values and m in measured
    ]
    if not measures:
        return None
    order = list(table.outcomes)
    units = {m: (values[m][1] or (kb.facts[m].unit if m in kb.facts else None)) for m in measures}
    names = {m: fmt.label(kb, m) for m in measures}
    sentences: list[str] = []
    for m in measures:
        value, _ = values[m]
        unit = fmt.unit(units[m])
        hits = [b for b in bands if b.measure == m and b.contains(value)]
        where = ", ".join(
            _pattern_label(b.outcome) + (" (counts double)" if b.points > 1 else "") for b in hits
        )
        ranges = "; ".join(
            f"{_pattern_label(b.outcome)} {_span(b, unit)}" for b in bands if b.measure == m
        )
        shown = f"{fmt.number(value)}{'' if unit == '%' else ' '}{unit}".strip()
        sentences.append(
            f"{names[m]} {shown}: within the range of {where or 'no pattern'} (ranges: {ranges})"
        )
    lead = "CSF values against the typical patterns (a pattern match, not a diagnosis)"
    best = f"Closest pattern: {_pattern_label(pattern)}." if pattern else ""
    description = (
        f"{lead}. "
        + ". ".join(sentences)
        + ". Darker bars count double. A positive cytology, Gram stain or culture outweighs"
        " these ranges." + (f" {best}" if best else "")
    )
    alt = (
        "CSF values against the typical patterns"
        + (f", closest {_pattern_label(pattern)}" if pattern else "")
        + ": "
        + "; ".join(
            (
                f"{names[m]} {fmt.number(values[m][0])}"
                + ("" if fmt.unit(units[m]) == "%" else " ")
                + fmt.unit(units[m])
            ).strip()
            for m in measures
        )
    )

    def draw() -> Any:
        from matplotlib.ticker import FuncFormatter

        fig, params_ = _figure(6.0, 0.5 + 1.75 * len(measures))
        axes = fig.subplots(len(measures), 1, squeeze=False)
        for row, m in enumerate(measures):
            ax = axes[row][0]
            value, _ = values[m]
            mbands = [b for b in bands if b.measure == m]
            finite = [x for b in mbands for x in (b.low, b.high) if x is not None] + [value]
            log = m == "csf-wbc-corrected"
            if m in ("csf-neutrophils-pct", "csf-lymphocytes-pct"):
                lo, hi = 0.0, 100.0
            elif log:
                lo, hi = 1.0, max(finite) * 10
            else:
                lo, hi = 0.0, max(finite) * 1.6
            for i, p in enumerate(order):
                y = len(order) - 1 - i
                mine = [b for b in mbands if b.outcome == p]
                if not mine:
                    ax.text(
                        lo if not log else lo * 1.1,
                        y,
                        " not used",
                        va="center",
                        fontsize=7.5,
                        color=MUTED,
                    )
                for b in mine:
                    start = b.low if b.low is not None else lo
                    end = b.high if b.high is not None else hi
                    ax.barh(
                        y,
                        end - start,
                        left=start,
                        height=0.55,
                        color=BRAND,
                        alpha=0.55 if b.points > 1 else 0.28,
                    )
            ax.axvline(value, color=CRIT, linewidth=2)
            ax.text(
                value,
                len(order) - 0.35,
                f" patient {fmt.number(value)}",
                color=CRIT,
                fontsize=8.5,
                fontweight="bold",
                va="bottom",
            )
            if log:
                ax.set_xscale("log")
                ax.minorticks_off()  # the log axis would draw dozens of unlabelled ticks
                ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: fmt.number(round(v, 6))))
            ax.set_xlim(lo, hi)
            ax.set_ylim(-0.6, len(order) + 0.2)
            ax.set_yticks(range(len(order)), [_pattern_label(p) for p in reversed(order)])
            unit = fmt.unit(units[m])
            ax.set_xlabel(
                f"{names[m]} ({unit})" if unit and unit not in names[m] else names[m], fontsize=9
            )
            ax.tick_params(labelsize=8)
            for side in ("top", "right"):
                ax.spines[side].set_visible(False)
        fig.subplots_adjust(hspace=0.9)
        return fig, params_

    key = {"chart": "csf", "b": [repr(b) for b in bands], "v": values, "o": order}
    svg = _render(key, draw)
    return Chart(
        "csf-patterns", "CSF values against the typical patterns", svg, alt[:240], description
    )


# --- lab trends ---------------------------------------------------------------------------------

_OPS = {"lt": "below", "le": "at or below", "gt": "above", "ge": "at or above"}


def lab_trend(
    kb: KnowledgeBase, series: Series, at: str | None, zone: dt.tzinfo | None
) -> Chart | None:
    """A measurement over time with the site-policy lines rules compare it with and, for labs,
    the window in which a value counts as fresh (older values are drawn hollow: stale)."""
    points = [(_time(p.time), p.value) for p in series.points]
    pts = [(t, float(v)) for t, v in points if t is not None]
    if len(pts) < 2:
        return None
    fact = series.fact
    name = fmt.label(kb, fact)
    unit = fmt.unit(series.unit)
    now = _time(at) or pts[-1][0]
    max_age = series.max_age_hours
    fresh_from = now - dt.timedelta(hours=max_age) if max_age else None
    lines: list[tuple[float, str, str]] = []  # value, label, sentence
    for lim in series.limits:
        t = lim.threshold
        if not isinstance(t.value, int | float):
            continue
        pid = t.id
        param = kb.parameters.get(pid)
        title = param.title if param is not None else pid
        names = [fmt.label(kb, r) for r in lim.rules]
        rules = ", ".join(f"“{n}”" for n in names)
        which = "the rule" if len(names) == 1 else "the rules"
        op = _OPS.get(lim.op, lim.op)
        v = float(t.value)
        lines.append(
            (
                v,
                f"site policy {fmt.number(v)}",
                f"site policy: {title} {fmt.number(v)} ({which} {rules} {'fires' if len(names) == 1 else 'fire'} {op} it)",
            )
        )
    u = f" {unit}" if unit else ""

    def stale(t: dt.datetime) -> bool:
        return fresh_from is not None and t < fresh_from

    readings = ", ".join(
        f"{fmt.number(v)} on {_clock(t, zone)}" + (" (stale)" if stale(t) else "") for t, v in pts
    )
    shown, total = series.shown, series.total
    more = f" (the latest {shown} of {total} values)" if shown and total and total > shown else ""
    parts = [f"{name}{f' ({unit})' if unit else ''}{more}: {readings}"]
    parts += [s for _, _, s in lines]
    if fresh_from is not None:
        parts.append(
            f"values older than {fmt.number(max_age or 0)} h (before {_clock(fresh_from, zone)}) "
            "are stale and never read as safe"
        )
    description = "; ".join(parts) + "."
    latest_t, latest_v = pts[-1]
    alt = f"Trend of {name}: {fmt.number(pts[0][1])}{u} to {fmt.number(latest_v)}{u} (latest {_clock(latest_t, zone)})"
    if lines:
        alt += "; " + "; ".join(label for _, label, _ in lines)
    zone_name = str(zone) if zone else "UTC"

    def draw() -> Any:
        import matplotlib.dates as mdates

        fig, params = _figure(6.0, 2.4)
        ax = fig.subplots()
        times = [t for t, _ in pts] + [now]
        lo_t, hi_t = min(times), max(times)
        pad = max((hi_t - lo_t) * 0.06, dt.timedelta(hours=2))
        if fresh_from is not None:
            ax.axvspan(max(fresh_from, lo_t - pad), now, color=OK, alpha=0.08, linewidth=0)
            ax.text(
                now,
                1.0,
                f"fresh ({fmt.number(max_age or 0)} h) ",
                ha="right",
                va="top",
                fontsize=7.5,
                color=OK,
                transform=ax.get_xaxis_transform(),
            )
        ax.plot([t for t, _ in pts], [v for _, v in pts], color=BRAND, linewidth=1.5)
        for t, v in pts:
            old = stale(t)
            ax.plot(
                [t],
                [v],
                marker="o",
                markersize=6,
                color=BRAND,
                markerfacecolor="#ffffff" if old else BRAND,
            )
        ax.annotate(
            f"{fmt.number(latest_v)}",
            (latest_t, latest_v),
            textcoords="offset points",
            xytext=(4, 6),
            fontsize=8.5,
            color=INK,
            fontweight="bold",
        )
        for v, label, _ in lines:
            ax.axhline(v, color=CRIT, linestyle="--", linewidth=1.2)
            ax.text(lo_t - pad, v, f" {label}", color=CRIT, fontsize=8, va="bottom")
        ax.axvline(now, color=INK, linewidth=1)
        values = [v for _, v in pts] + [v for v, _, _ in lines]
        span = (max(values) - min(values)) or max(abs(max(values)), 1.0)
        ax.set_ylim(min(0.0, min(values) - span * 0.1), max(values) + span * 0.2)
        ax.set_xlim(lo_t - pad, hi_t + pad)
        tz = zone or dt.UTC
        ax.xaxis.set_major_locator(mdates.AutoDateLocator(tz=tz, minticks=3, maxticks=6))  # type: ignore[no-untyped-call]
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%d %b\n%H:%M", tz=tz))  # type: ignore[no-untyped-call]
        ax.set_ylabel(f"{name} ({unit})" if unit else name, fontsize=8.5)
        ax.set_xlabel(f"time ({zone_name})", fontsize=8.5)
        ax.tick_params(labelsize=8)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        return fig, params

    key = {
        "chart": "trend",
        "f": fact,
        "p": pts,
        "l": lines,
        "n": now,
        "a": max_age,
        "z": zone_name,
    }
    svg = _render(key, draw)
    return Chart("trend-" + fact, f"{name} over time", svg, alt[:240], description)
