"""Times written without a zone (Epic and Cerner send local clock times: "2026-12-02T08:00:00"):
read in the site time zone when the policy names one, else as a range whose less safe end each
check takes; the finding says how the time was read. A UK-laboratory, an Epic and a Cerner shape."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from intake_helpers import RXNORM, SNOMED, bundle, dumps
from leptoguide.engine.derive import build_facts
from leptoguide.engine.types import FactValue
from leptoguide.errors import KnowledgeError
from leptoguide.intake import read_input
from leptoguide.knowledge.loader import KnowledgeBase
from leptoguide.policy import Policy, load_policy

LOINC = "http://loinc.org"
PATIENT = {"resourceType": "Patient", "id": "p1", "birthDate": "1958-01-09", "gender": "male"}


def platelets(when: str) -> dict[str, Any]:
    """Epic-style: a local time with no offset, value in K/uL."""
    return {
        "resourceType": "Observation",
        "id": "eObs-plt",
        "status": "final",
        "category": [{"coding": [{"code": "laboratory"}]}],
        "code": {"coding": [{"system": LOINC, "code": "777-3", "display": "Platelets"}]},
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": when,
        "valueQuantity": {"value": 180, "unit": "K/uL"},
    }


def lp_order(when: str) -> dict[str, Any]:
    """Cerner-style: the planned LP time with no offset."""
    return {
        "resourceType": "ServiceRequest",
        "id": "SR-31",
        "status": "draft",
        "intent": "order",
        "subject": {"reference": "Patient/p1"},
        "code": {"coding": [{"system": SNOMED, "code": "277762005", "display": "Lumbar puncture"}]},
        "occurrenceDateTime": when,
    }


def enoxaparin(when: str) -> dict[str, Any]:
    return {
        "resourceType": "MedicationAdministration",
        "id": "MA-enox",
        "status": "completed",
        "subject": {"reference": "Patient/p1"},
        "medicationCodeableConcept": {
            "coding": [{"system": RXNORM, "code": "67108", "display": "enoxaparin"}],
            "text": "enoxaparin 40 mg SC",
        },
        "effectiveDateTime": when,
        "dosage": {"dose": {"value": 40, "unit": "mg"}, "route": {"text": "subcutaneous"}},
    }


def site(tmp_path: Path, kb: KnowledgeBase, zone: str | None) -> Policy:
    if zone is None:
        return load_policy(kb)
    path = tmp_path / "site.yaml"
    path.write_text(f"policy:\n  id: st-example\n  time_zone: {zone}\n")
    return load_policy(kb, path)


def fact(kb: KnowledgeBase, policy: Policy, at: dt.datetime, *res: dict[str, Any]) -> Any:
    case = read_input(dumps(bundle(PATIENT, *res)), name="chart.json", kb=kb)
    return build_facts(case, kb=kb, policy=policy, at=at)


AT_LAB = dt.datetime(2026, 12, 5, 7, tzinfo=dt.UTC)  # 71 h after 08:00 UTC on 2 December


@pytest.mark.parametrize(
    ("zone", "status", "said"),
    [
        (None, "stale", "read as the earliest it can be"),  # up to 85 h old: never read as fresh
        ("Europe/London", "ok", "read as Europe/London"),  # GMT in December: 71 h
        ("Australia/Sydney", "stale", "read as Australia/Sydney"),  # UTC+11: 82 h
        ("America/Chicago", "ok", "read as America/Chicago"),  # UTC-6: 65 h
    ],
)
def test_a_lab_time_without_a_zone(
    shipped_kb: KnowledgeBase, tmp_path: Path, zone: str | None, status: str, said: str
) -> None:
    facts = fact(
        shipped_kb, site(tmp_path, shipped_kb, zone), AT_LAB, platelets("2026-12-02T08:00:00")
    )
    fv: FactValue = facts.get("platelets")
    assert fv.status == status, fv
    assert fv.note is not None and "time had no zone" in fv.note and said in fv.note, fv.note
    assert any("without a zone" in w.message for w in facts.warnings)


def test_a_lab_time_with_a_zone_is_untouched(shipped_kb: KnowledgeBase) -> None:
    fv = fact(shipped_kb, load_policy(shipped_kb), AT_LAB, platelets("2026-12-02T08:00:00Z")).get(
        "platelets"
    )
    assert fv.status == "ok" and not (fv.note and "zone" in fv.note), fv


AT_LP = dt.datetime(2026, 12, 2, 21, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("zone", "state"),
    [
        (None, "hold"),  # the LP may be as early as 08:00Z, 12 h after the dose
        ("America/New_York", "clear"),  # 22:00 EST = 03:00Z next day, 31 h after the dose
    ],
)
def test_a_planned_lp_time_without_a_zone(
    shipped_kb: KnowledgeBase, tmp_path: Path, zone: str | None, state: str
) -> None:
    facts = fact(
        shipped_kb,
        site(tmp_path, shipped_kb, zone),
        AT_LP,
        lp_order("2026-12-03T22:00:00"),
        enoxaparin("2026-12-02T20:00:00Z"),
    )
    drug = facts.get("lp-antithrombotics").value.drugs[0]
    assert drug.status == state, drug


def test_a_dose_time_without_a_zone_read_in_the_site_zone(
    shipped_kb: KnowledgeBase, tmp_path: Path
) -> None:
    """Enoxaparin 40 mg with no frequency is held as a treatment dose (24 h). Without a zone the
    dose lies 14 to 40 h before the LP (unknown); in the site zone it is 26 h (clear), and the
    finding says how the time was read."""
    at = dt.datetime(2026, 12, 3, 12, tzinfo=dt.UTC)
    args = (at, lp_order("2026-12-03T12:00:00Z"), enoxaparin("2026-12-02T10:00:00"))
    ranged = fact(shipped_kb, load_policy(shipped_kb), *args).get("lp-antithrombotics").value
    assert ranged.drugs[0].status == "unknown", ranged.drugs[0]
    assert "no time zone" in (ranged.drugs[0].note or "")
    london = site(tmp_path, shipped_kb, "Europe/London")
    drug = fact(shipped_kb, london, *args).get("lp-antithrombotics").value.drugs[0]
    assert drug.status == "clear" and drug.last_dose == "2026-12-02T10:00:00Z", drug
    assert "had no zone; read as Europe/London" in (drug.note or ""), drug.note


@pytest.mark.parametrize("bad", ["Mars/Olympus", "../etc/passwd", "12", "GMT+25"])
def test_the_site_time_zone_must_be_an_iana_name(
    shipped_kb: KnowledgeBase, tmp_path: Path, bad: str
) -> None:
    path = tmp_path / "site.yaml"
    path.write_text(f"policy:\n  id: st-example\n  time_zone: '{bad}'\n")
    with pytest.raises(KnowledgeError) as err:
        load_policy(shipped_kb, path)
    assert "policy.time_zone" in str(err.value)


def test_the_site_time_zone_is_reported_and_hashed(
    shipped_kb: KnowledgeBase, tmp_path: Path
) -> None:
    default = load_policy(shipped_kb)
    london = site(tmp_path, shipped_kb, "Europe/London")
    assert london.describe()["time_zone"] == "Europe/London"
    assert london.hash != default.hash


def test_a_dose_time_without_a_zone_that_reads_as_after_now(shipped_kb: KnowledgeBase) -> None:
    """A site ahead of UTC (Sydney, UTC+11) with no site time zone set: a dose given at 06:30
    local, written without a zone, reads as 06:30Z, after now (19:45Z the day before, 06:45 in
    Sydney). It may be a dose 15 minutes ago: held, never "last dose not recorded"."""
    at = dt.datetime(2026, 12, 3, 19, 45, tzinfo=dt.UTC)
    facts = fact(
        shipped_kb,
        load_policy(shipped_kb),
        at,
        lp_order("2026-12-03T20:00:00Z"),
        enoxaparin("2026-12-04T06:30:00"),
    )
    drug = facts.get("lp-antithrombotics").value.drugs[0]
    assert drug.status == "hold", drug
    assert drug.last_dose == "2026-12-03T19:45:00Z", drug
