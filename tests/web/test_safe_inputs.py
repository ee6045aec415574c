"""Safe inputs on the assessment form and the bottom line first on the result (in-process).

Each test is a failure seen in use: times typed in the ward's local time, platelets typed per µL,
a 1,000 kg weight, a missing dose frequency, a form that forgot everything after one error, and a
dose calendar offered under a critical "do not give" alert.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from zoneinfo import ZoneInfo

from starlette.datastructures import FormData

from leptoguide.knowledge.loader import get_knowledge
from leptoguide.web.caseform import read_case_form
from web_helpers import Site

ROOT = Path(__file__).resolve().parents[2]
CHICAGO = ZoneInfo("America/Chicago")


def _read(**fields: str) -> tuple[dict[str, object], dict[str, str]]:
    result = read_case_form(FormData(list(fields.items())), get_knowledge())
    return result.casefile, {k: v.message for k, v in result.errors.items()}


def test_local_times_are_stored_with_their_offset() -> None:
    doc, errors = _read(
        tz="America/Chicago",
        lab_time="2026-11-20T08:00",
        platelets="120",
        csf_time="2026-07-01T08:00",
        **{"anticoagulants.0.drug": "enoxaparin", "anticoagulants.0.last": "2026-11-20T02:00"},
    )
    assert not errors
    assert doc["labs"] == [  # type: ignore[comparison-overlap]
        {"test": "platelets", "value": 120.0, "unit": "10*9/L", "time": "2026-11-20T08:00:00-06:00"}
    ]
    assert doc["csf"] == {"time": "2026-07-01T08:00:00-05:00"}  # daylight saving time in July
    meds = doc["medications"]
    assert isinstance(meds, list) and meds[0]["last_dose"] == "2026-11-20T02:00:00-06:00"


def test_an_unknown_time_zone_is_refused_beside_its_field() -> None:
    _, errors = _read(tz="Mars/Olympus_Mons", lab_time="2026-11-20T08:00")
    assert "not a time zone" in errors["tz"]


def test_platelets_per_microlitre_are_converted_and_the_unit_slip_is_refused() -> None:
    doc, errors = _read(platelets="45000", **{"platelets.unit": "/uL"})
    assert not errors
    assert doc["labs"] == [{"test": "platelets", "value": 45000.0, "unit": "/uL"}]  # type: ignore[comparison-overlap]
    _, errors = _read(platelets="45000")  # the default unit is x10^9/L
    assert "45000 ×10⁹/L is not possible" in errors["platelets"]
    assert "as 45000 /µL it would be 45 ×10⁹/L" in errors["platelets"]
    _, errors = _read(platelets="45,000")
    assert "ambiguous" in errors["platelets"]


def test_impossible_weight_is_refused_and_unusual_values_need_confirming() -> None:
    _, errors = _read(weight="1000")
    assert "Body weight 1000 kg is not possible" in errors["weight"]
    assert "lb" not in errors["weight"]  # 1000 lb is not a usual weight either: no hint
    doc, errors = _read(weight="154", **{"weight.unit": "[lb_av]"})
    assert not errors and doc["patient"] == {"weight_kg": 69.853}
    doc, errors = _read(inr="12")
    assert "unusual" in errors["inr"] and "labs" not in doc
    doc, errors = _read(inr="12", **{"inr.confirm": "1"})
    assert not errors and doc["labs"] == [{"test": "inr", "value": 12.0}]  # type: ignore[comparison-overlap]


def test_glucose_in_mmol_per_litre_keeps_its_unit() -> None:
    doc, errors = _read(csf_glucose="2,5", **{"csf_glucose.unit": "mmol/L"})
    assert not errors and doc["csf"] == {"glucose": {"value": 2.5, "unit": "mmol/L"}}
    _, errors = _read(csf_glucose="2000", **{"csf_glucose.unit": "mmol/L"})
    assert "not possible" in errors["csf_glucose"]


def test_dose_frequency_and_route_reach_the_case_file() -> None:
    doc, errors = _read(
        **{
            "anticoagulants.0.drug": "enoxaparin",
            "anticoagulants.0.dose": "40",
            "anticoagulants.0.frequency": "QD",
            "anticoagulants.0.route": "subcutaneous",
            "anticoagulants.1.drug": "apixaban",
            "anticoagulants.1.dose": "5",
            "anticoagulants.1.frequency": "BID",
            "anticoagulants.1.route": "oral",
            "anticoagulants.1.last": "2026-11-20T08:00",
        }
    )
    assert not errors
    assert doc["medications"] == [  # type: ignore[comparison-overlap]
        {
            "drug": "enoxaparin",
            "dose": 40.0,
            "unit": "mg",
            "frequency": "QD",
            "route": "subcutaneous",
        },
        {
            "drug": "apixaban",
            "dose": 5.0,
            "unit": "mg",
            "frequency": "BID",
            "route": "oral",
            "last_dose": "2026-11-20T08:00:00+00:00",
        },
    ]


def _field_value(html: str, name: str) -> str | None:
    m = re.search(rf'name="{re.escape(name)}" value="([^"]*)"', html)
    return m.group(1) if m else None


def test_the_form_keeps_every_value_and_marks_the_field(site: Site, users: dict[str, str]) -> None:
    site.login("clinician1", users["clinician"])
    site.get("/assess")
    resp = site.post(
        "/assess/form",
        {
            "tz": "America/Chicago",
            "weight": "1000",
            "platelets": "42",
            "inr": "1.1",
            "primary": "breast-cancer",
            "symptoms.headache": "1",
            "anticoagulants.0.drug": "enoxaparin",
            "anticoagulants.0.dose": "40",
            "anticoagulants.0.frequency": "QD",
            "anticoagulants.0.last": "2026-11-20T02:00",
            "orders.lumbar-puncture": "1",
        },
    )
    assert resp.status_code == 422
    html = resp.text
    assert _field_value(html, "weight") == "1000" and _field_value(html, "platelets") == "42"
    assert _field_value(html, "tz") == "America/Chicago"
    assert _field_value(html, "anticoagulants.0.last") == "2026-11-20T02:00"
    assert '<option value="breast-cancer" selected>' in html
    assert '<option value="QD" selected>' in html
    assert 'name="symptoms.headache" value="1" checked' in html
    assert 'name="orders.lumbar-puncture" value="1" checked' in html
    # the error sits beside the weight field and is tied to it for screen readers
    assert (
        'id="f-weight" name="weight" value="1000" inputmode="decimal" autocomplete="off" aria-invalid="true" aria-describedby="f-weight-err"'
        in html
    )
    assert 'id="f-weight-err"' in html and "is not possible" in html


def test_the_form_is_prefilled_from_the_query_string(site: Site, users: dict[str, str]) -> None:
    site.login("clinician1", users["clinician"])
    html = site.get(
        "/assess?platelets=35&platelets.unit=10*9/L&orders.lumbar-puncture=1&x=<b>"
    ).text
    assert _field_value(html, "platelets") == "35"
    assert 'name="orders.lumbar-puncture" value="1" checked' in html
    assert "<b>" not in html


def _result(site: Site, fields: dict[str, str]) -> str:
    resp = site.post("/assess/form", fields)
    assert resp.status_code == 303, resp.text[:2000]
    page: str = site.get(resp.headers["location"]).text
    return page


def test_bottom_line_in_local_time(site: Site, users: dict[str, str]) -> None:
    """'LP: not now' with the platelet limit and the hold window, before anything else."""
    site.login("clinician1", users["clinician"])
    site.get("/assess")
    now = dt.datetime.now(CHICAGO).replace(second=0, microsecond=0)
    last = now - dt.timedelta(hours=10)
    html = _result(
        site,
        {
            "tz": "America/Chicago",
            "platelets": "45000",
            "platelets.unit": "/uL",
            "lab_time": (now - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
            "anticoagulants.0.drug": "enoxaparin",
            "anticoagulants.0.dose": "40",
            "anticoagulants.0.frequency": "QD",
            "anticoagulants.0.last": last.strftime("%Y-%m-%dT%H:%M"),
            "orders.lumbar-puncture": "1",
        },
    )
    line = re.search(r'<li class="verdict-line verdict-stop">(.*?)</li>', html, re.S)
    assert line, html[:3000]
    text = re.sub(r"<[^>]+>", "", line.group(1))
    assert text.startswith("LP: not now")
    assert "Platelets 45 x10^9/L, below the LP threshold of 50" in text
    until = (last + dt.timedelta(hours=12)).astimezone(CHICAGO)
    assert "enoxaparin 40 mg given 10 h before the LP time, hold until" in text
    assert f"{until:%H:%M} {until.tzname()}" in text
    # the bottom line comes before the alerts and the classification
    assert (
        html.index("verdict-heading") < html.index("alerts-heading") < html.index("summary-heading")
    )


def test_no_calendar_under_a_blocking_alert(site: Site, users: dict[str, str]) -> None:
    site.login("clinician1", users["clinician"])
    site.get("/assess")
    case = (ROOT / "examples" / "cases" / "it-methotrexate-blocked-flow.yaml").read_bytes()
    resp = site.post("/assess/upload", files={"bundle": ("case.yaml", case, "application/yaml")})
    assert resp.status_code == 303, resp.text[:2000]
    url = resp.headers["location"]
    html = site.get(url).text
    assert "Intrathecal chemotherapy: do not give now" in html
    assert "schedule.ics" not in html and "No dose calendar while a critical finding" in html
    assert "<caption>Planned doses" not in html
    ics = site.get(url.split("?")[0] + "/schedule.ics")
    assert ics.status_code in (404, 409)  # no schedule at all, or one withheld
