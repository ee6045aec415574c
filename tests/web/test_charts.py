"""Pictures: drawn from the assessment's own data, each with a text alternative that says the same."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

from leptoguide.assessment import Assessment, Finding
from leptoguide.engine import assess
from leptoguide.intake import read_path
from leptoguide.knowledge.loader import get_knowledge
from leptoguide.policy import load_policy
from leptoguide.web import charts

ROOT = Path(__file__).resolve().parents[2]
AT = dt.datetime(2026, 11, 20, 18, tzinfo=dt.UTC)


def _assess(tmp_path: Path, doc: Mapping[str, object]) -> Assessment:
    kb = get_knowledge()
    path = tmp_path / "case.yaml"
    path.write_text(yaml.safe_dump(doc))
    return assess(read_path(path), kb=kb, policy=load_policy(kb, None), at=AT)


LP_CASE = {
    "date": "2026-11-20T11:00:00-06:00",
    "patient": {"age_years": 60, "sex": "F", "weight_kg": 70},
    "labs": [{"test": "platelets", "value": 45000, "unit": "/uL"}],
    "medications": [
        {
            "drug": "enoxaparin",
            "dose": 40,
            "unit": "mg",
            "frequency": "QD",
            "last_dose": "2026-11-20T02:00:00-06:00",
        }
    ],
    "orders": [{"type": "lumbar-puncture"}],
}


def test_lp_timeline_shows_the_hold_and_says_it_in_words(tmp_path: Path) -> None:
    data = _assess(tmp_path, LP_CASE)
    chart = charts.lp_timeline(get_knowledge(), data, ZoneInfo("America/Chicago"))
    assert chart is not None
    assert chart.svg.lstrip().startswith("<?xml") and "<svg" in chart.svg
    assert (
        "enoxaparin 40 mg: last dose 20 Nov 02:00, hold 12 h until 20 Nov 14:00"
        in chart.description
    )
    assert "earliest LP after the holds 20 Nov 14:00" in chart.description
    assert "Platelet count 45 measured 20 Nov 11:00 (1 h before the LP time)" in chart.description
    assert chart.alt and len(chart.alt) <= 240
    assert "time (America/Chicago)" in chart.svg  # the axis is in the user's zone
    again = charts.lp_timeline(get_knowledge(), data, ZoneInfo("America/Chicago"))
    assert again is not None and again.svg == chart.svg  # deterministic (and cached)


def test_number_line_places_the_patient_against_every_source(tmp_path: Path) -> None:
    data = _assess(tmp_path, LP_CASE)
    low = next(f for f in data.findings if f.rule == "lp-platelets-low")
    lines = charts.finding_number_lines(get_knowledge(), low)
    assert len(lines) == 1
    text = lines[0].description
    threshold = low.thresholds[0]
    assert f"site policy {threshold.value}" in text and "patient 45" in text
    for alt in threshold.alternatives:
        assert f"{alt.value} (" in text
    assert re.search(r">patient 45<", lines[0].svg)  # the label is text in the SVG


def test_no_timeline_without_an_lp_question(tmp_path: Path) -> None:
    data = _assess(tmp_path, {"date": "2026-11-20", "cancer": {"primary": "melanoma"}})
    assert charts.lp_timeline(get_knowledge(), data, None) is None


def test_intrathecal_calendar_lists_every_dose(tmp_path: Path) -> None:
    doc = yaml.safe_load((ROOT / "examples/cases/it-methotrexate-blocked-flow.yaml").read_text())
    doc["findings"]["flow_study"] = "normal"
    data = _assess(tmp_path, doc)
    schedules = data.schedules
    assert schedules
    chart = charts.schedule_calendar(schedules[0])
    assert chart is not None
    events = schedules[0].events
    assert f"{len(events)} doses" in chart.description
    first = dt.date.fromisoformat(events[0].date)
    assert f"{first.day} {first:%b}" in chart.description


def _assess_at(path: Path, at: dt.datetime, policy: Path | None = None) -> Assessment:
    kb = get_knowledge()
    return assess(read_path(path), kb=kb, policy=load_policy(kb, policy), at=at)


def _csf_finding(data: Assessment) -> Finding:
    return next(f for f in data.findings if f.rule == "csf-profile-differential")


TB = ROOT / "examples/fhir/tb-meningitis-csf.json"
TB_AT = dt.datetime(2026, 11, 18, 12, tzinfo=dt.UTC)


def test_csf_picture_draws_the_values_against_each_pattern() -> None:
    finding = _csf_finding(_assess_at(TB, TB_AT))
    chart = charts.csf_patterns(get_knowledge(), finding, load_policy(get_knowledge(), None))
    assert chart is not None and "<svg" in chart.svg
    text = chart.description
    # every measured value, where it falls, and the ranges the scoring uses, in words
    assert "180 /µL: within the range of bacterial (ranges: bacterial at least 100 /µL" in text
    assert "viral above 5 and below 100 /µL" in text
    assert "85%: within the range of tuberculous (TB), fungal, viral, LM (neoplastic)" in text
    assert "0.27: within the range of bacterial, tuberculous (TB) (counts double), fungal" in text
    assert (
        "2.5 g/L: within the range of bacterial, tuberculous (TB), fungal, LM (neoplastic)" in text
    )
    assert text.endswith("Closest pattern: tuberculous (TB).")
    assert chart.alt.startswith("CSF values against the typical patterns, closest tuberculous")
    assert len(chart.alt) <= 240
    for label in ("bacterial", "viral", "tuberculous (TB)", "fungal", "LM (neoplastic)"):
        assert f">{label}<" in chart.svg  # pattern names are text in the SVG
    assert ">patient 180<" in chart.svg.replace(" patient", "patient")


def test_csf_picture_follows_the_site_policy(tmp_path: Path) -> None:
    """The ranges are the policy values the scoring reads, not numbers of the picture."""
    pol = tmp_path / "policy.yaml"
    pol.write_text("policy: {id: site-x, values: {csf-wbc-bacterial-min: 200}}\n")
    finding = _csf_finding(_assess_at(TB, TB_AT, pol))
    chart = charts.csf_patterns(get_knowledge(), finding, load_policy(get_knowledge(), None))
    assert chart is not None
    assert "180 /µL: within the range of tuberculous (TB), fungal, viral, LM (neoplastic)" in (
        chart.description
    )
    assert "bacterial at least 200 /µL" in chart.description


def test_no_csf_picture_without_csf_values(tmp_path: Path) -> None:
    data = _assess(tmp_path, LP_CASE)
    findings = data.findings
    assert findings
    assert all(
        charts.csf_patterns(get_knowledge(), f, load_policy(get_knowledge(), None)) is None
        for f in findings
    )


TREND_CASE = {
    "date": "2026-11-20T06:10:00Z",
    "patient": {"age_years": 60, "sex": "F", "weight_kg": 70},
    "labs": [
        {"test": "platelets", "value": 120, "unit": "10*9/L", "time": "2026-11-14T07:00:00Z"},
        {"test": "platelets", "value": 85000, "unit": "/uL", "time": "2026-11-16T07:00:00Z"},
        {"test": "platelets", "value": 62, "unit": "10*9/L", "time": "2026-11-18T07:00:00Z"},
        {"test": "platelets", "value": 42, "unit": "10*9/L", "time": "2026-11-20T05:00:00Z"},
        {"test": "platelets", "value": 30, "unit": "10*9/L", "time": "2026-11-21T05:00:00Z"},
        {"test": "INR", "value": 1.3, "time": "2026-11-19T07:00:00Z"},
    ],
    "orders": [{"type": "lumbar-puncture", "time": "2026-11-20T14:00:00Z"}],
}


def test_lab_trend_has_the_site_line_and_the_stale_window(tmp_path: Path) -> None:
    data = _assess(tmp_path, TREND_CASE)
    series = data.series
    # INR has one value: no trend; a value after the assessment time is not used
    assert [s.fact for s in series] == ["platelets"]
    platelets = series[0]
    assert [p.value for p in platelets.points] == [120, 85, 62, 42]  # units converted
    assert platelets.max_age_hours == 72
    assert platelets.limits[0].threshold.id == "lp-platelet-min"
    assert platelets.limits[0].rules == ["lp-platelets-low"]
    chart = charts.lab_trend(get_knowledge(), platelets, data.evaluated_at, None)
    assert chart is not None
    text = chart.description
    assert "120 on 14 Nov 07:00 (stale), 85 on 16 Nov 07:00 (stale), 62 on 18 Nov 07:00" in text
    assert "42 on 20 Nov 05:00" in text and "42 on 20 Nov 05:00 (stale)" not in text
    assert "site policy: Minimum platelet count for an elective LP 50" in text
    assert "fires below it" in text
    assert "values older than 72 h (before 17 Nov 18:00) are stale" in text
    assert chart.alt.startswith("Trend of Platelet count") and "site policy 50" in chart.alt
    assert ">site policy 50<" in chart.svg.replace(" site policy", "site policy")


def test_repeated_csf_values_are_trended_without_a_lab_window(tmp_path: Path) -> None:
    """A second CSF sample (an Epic-shaped Observation with a LOINC code) makes a CSF protein
    trend, in g/L, with no stale window (CSF values are observations, not labs that expire)."""
    import copy
    import json

    bundle = json.loads(TB.read_text())
    first = next(e for e in bundle["entry"] if e["resource"].get("id") == "o-csfprot")
    later = copy.deepcopy(first)
    later["fullUrl"] = "urn:uuid:0b7e5a52-3c1e-4a43-9a57-6c1d1f6a0a01"
    later["resource"]["id"] = "o-csfprot-2"
    later["resource"]["effectiveDateTime"] = "2026-11-04T10:00:00+02:00"
    later["resource"]["valueQuantity"]["value"] = 90
    bundle["entry"].append(later)
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle))
    data = _assess_at(path, TB_AT)
    protein = next(s for s in data.series if s.fact == "csf-protein")
    assert [p.value for p in protein.points] == [0.9, 2.5]  # mg/dL read as g/L
    assert protein.max_age_hours is None
    chart = charts.lab_trend(get_knowledge(), protein, data.evaluated_at, None)
    assert chart is not None
    assert "0.9 on 4 Nov 08:00, 2.5 on 18 Nov 09:00" in chart.description
    assert "stale" not in chart.description
