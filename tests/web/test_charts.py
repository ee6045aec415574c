"""Pictures: drawn from the assessment's own data, each with a text alternative that says the same."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

from leptoguide.engine import assess
from leptoguide.intake import read_path
from leptoguide.knowledge.loader import get_knowledge
from leptoguide.policy import load_policy
from leptoguide.web import charts

ROOT = Path(__file__).resolve().parents[2]
AT = dt.datetime(2026, 11, 20, 18, tzinfo=dt.UTC)


def _assess(tmp_path: Path, doc: Mapping[str, object]) -> dict[str, object]:
    kb = get_knowledge()
    path = tmp_path / "case.yaml"
    path.write_text(yaml.safe_dump(doc))
    return assess(read_path(path), kb=kb, policy=load_policy(kb, None), at=AT).model_dump()


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
    findings = data["findings"]
    assert isinstance(findings, list)
    low = next(f for f in findings if f["rule"] == "lp-platelets-low")
    lines = charts.finding_number_lines(get_knowledge(), low)
    assert len(lines) == 1
    text = lines[0].description
    threshold = low["thresholds"][0]
    assert f"site policy {threshold['value']}" in text and "patient 45" in text
    for alt in threshold["alternatives"]:
        assert f"{alt['value']} (" in text
    assert re.search(r">patient 45<", lines[0].svg)  # the label is text in the SVG


def test_no_timeline_without_an_lp_question(tmp_path: Path) -> None:
    data = _assess(tmp_path, {"date": "2026-11-20", "cancer": {"primary": "melanoma"}})
    assert charts.lp_timeline(get_knowledge(), data, None) is None


def test_intrathecal_calendar_lists_every_dose(tmp_path: Path) -> None:
    doc = yaml.safe_load((ROOT / "examples/cases/it-methotrexate-blocked-flow.yaml").read_text())
    doc["findings"]["flow_study"] = "normal"
    data = _assess(tmp_path, doc)
    schedules = data["schedules"]
    assert isinstance(schedules, list) and schedules
    chart = charts.schedule_calendar(schedules[0])
    assert chart is not None
    events = schedules[0]["events"]
    assert f"{len(events)} doses" in chart.description
    first = dt.date.fromisoformat(events[0]["date"])
    assert f"{first.day} {first:%b}" in chart.description
