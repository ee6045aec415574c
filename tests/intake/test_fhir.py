"""FHIR reader: matching, values, warnings, medications, orders, devices, inference, errors."""

from __future__ import annotations

from typing import Any

import pytest

from intake_helpers import ICD10CM, LM, LOINC, RXNORM, SNOMED, bundle, dumps, obs, qty
from leptoguide.case import Case
from leptoguide.errors import InputError
from leptoguide.intake import read_document, read_input
from leptoguide.knowledge.loader import KnowledgeBase


def read(intake_kb: KnowledgeBase, *resources: dict[str, Any], btype: str = "collection") -> Case:
    return read_input(dumps(bundle(*resources, btype=btype)), name="t.json", kb=intake_kb)


def cond(code: dict[str, Any], rid: str = "c1", **extra: Any) -> dict[str, Any]:
    return {"resourceType": "Condition", "id": rid, "code": code, **extra}


def messages(case: Case) -> str:
    return "\n".join(f"{w.where} {w.field} {w.message}" for w in case.warnings)


# ------------------------------------------------------------------ bundle shapes


@pytest.mark.parametrize("btype", ["collection", "searchset", "transaction", "document", "batch"])
def test_bundle_types(intake_kb: KnowledgeBase, btype: str) -> None:
    case = read(intake_kb, obs("777-3", valueQuantity=qty(100, "10*9/L")), btype=btype)
    assert case.latest("platelets") is not None


def test_bundle_type_history_rejected(intake_kb: KnowledgeBase) -> None:
    with pytest.raises(InputError) as info:
        read(intake_kb, btype="history")
    assert info.value.problem.field == "type"


def test_single_resource_and_entries_without_fullurl(intake_kb: KnowledgeBase) -> None:
    single = obs("777-3", valueQuantity=qty(100, "10*9/L"))
    assert read_input(dumps(single), name="o.json", kb=intake_kb).latest("platelets") is not None
    b = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": {**single, "id": None}}],
    }
    del b["entry"][0]["resource"]["id"]  # type: ignore[index]
    case = read_input(dumps(b), name="b.json", kb=intake_kb)
    plt = case.latest("platelets")
    assert plt is not None and plt.reference == "entry[0]"


def test_list_of_bundles_for_cds_prefetch(intake_kb: KnowledgeBase) -> None:
    prefetch = [
        bundle(obs("777-3", valueQuantity=qty(40, "10*9/L"))),
        {"resourceType": "Patient", "id": "p", "birthDate": "1970-01-01", "gender": "male"},
    ]
    case = read_document(prefetch, name="hook", kb=intake_kb)
    assert case.patient_reference == "Patient/p" and case.latest("platelets") is not None


def test_non_bundle_resource_type_rejected(intake_kb: KnowledgeBase) -> None:
    with pytest.raises(InputError, match="resourceType 'OperationOutcome' is not a Bundle"):
        read_input(b'{"resourceType": "OperationOutcome"}', name="x.json", kb=intake_kb)


def test_entry_missing_resource_type(intake_kb: KnowledgeBase) -> None:
    b = {"resourceType": "Bundle", "type": "collection", "entry": [{}, {"resource": {"id": "x"}}]}
    case = read_input(dumps(b), name="b.json", kb=intake_kb)
    assert [(d.reference, d.field) for d in case.dropped] == [("entry[1]", "resource.resourceType")]
    assert "entry without a resource" in messages(case)


def test_entry_list_wrong_type(intake_kb: KnowledgeBase) -> None:
    with pytest.raises(InputError) as info:
        read_input(
            b'{"resourceType": "Bundle", "type": "collection", "entry": {}}',
            name="b.json",
            kb=intake_kb,
        )
    assert info.value.problem.field == "entry"


def test_malformed_json_names_line_and_column(intake_kb: KnowledgeBase) -> None:
    with pytest.raises(InputError) as info:
        read_input(
            '{\n  "resourceType": "Bundle",\n  "entry": [,]\n}', name="bad.json", kb=intake_kb
        )
    msg = str(info.value)
    assert msg.startswith("bad.json: malformed JSON at line 3, column")


def test_empty_input(intake_kb: KnowledgeBase) -> None:
    with pytest.raises(InputError, match="empty"):
        read_input(b"  \n", name="e.json", kb=intake_kb)


# ------------------------------------------------------------------ matching


def test_code_match_beats_text(intake_kb: KnowledgeBase) -> None:
    code = {"coding": [{"system": LOINC, "code": "777-3", "display": "Body weight"}]}
    case = read(intake_kb, obs("x", code=code, valueQuantity=qty(50, "10*9/L")))
    assert case.latest("platelets") is not None and case.latest("body-weight") is None


def test_display_only_and_text_only_codings(intake_kb: KnowledgeBase) -> None:
    by_display = obs(
        "x",
        LOINC,
        "a",
        "2026-11-20",
        code={"coding": [{"display": "Platelet count"}]},
        valueQuantity=qty(50, "10*9/L"),
    )
    by_text = obs(
        "x", LOINC, "b", "2026-11-20", code={"text": "  CSF   WBC "}, valueQuantity=qty(5, "/uL")
    )
    case = read(intake_kb, by_display, by_text)
    assert case.latest("platelets") is not None and case.latest("csf-wbc") is not None


def test_snomed_semantic_tag_and_case_ignored(intake_kb: KnowledgeBase) -> None:
    case = read(intake_kb, cond({"coding": [{"display": "HEADACHE (finding)"}]}))
    assert [c.concept for c in case.conditions] == ["headache"]


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("C50.911", "breast-cancer"),
        ("C50911", "breast-cancer"),
        ("C50", "breast-cancer"),
        ("C79.32", "leptomeningeal-metastasis"),
        ("c79.49", "leptomeningeal-metastasis"),
        ("C34.12", "lung-cancer"),
    ],
)
def test_icd10_prefixes(intake_kb: KnowledgeBase, code: str, expected: str) -> None:
    case = read(intake_kb, cond({"coding": [{"system": ICD10CM, "code": code}]}))
    assert [c.concept for c in case.conditions] == [expected]


def test_icd10_prefix_does_not_overmatch(intake_kb: KnowledgeBase) -> None:
    case = read(intake_kb, cond({"coding": [{"system": ICD10CM, "code": "C79.31"}]}))
    assert case.conditions == []
    assert "icd-10: 1 not recognised" in messages(case)
    assert "Condition code x1): C79.31 x1" in messages(case)


def test_who_icd10_and_oid_systems(intake_kb: KnowledgeBase) -> None:
    who = cond({"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "C50.9"}]}, "a")
    oid = obs(
        "777-3", "urn:oid:2.16.840.1.113883.6.1", "b", "2026-11-20", valueQuantity=qty(90, "10*9/L")
    )
    case = read(intake_kb, who, oid)
    assert case.conditions[0].concept == "breast-cancer" and case.latest("platelets") is not None


def test_unknown_code_is_a_warning_not_silence(intake_kb: KnowledgeBase) -> None:
    case = read(intake_kb, obs("8867-4", LOINC, "hr", "2026-11-20", valueQuantity=qty(80, "/min")))
    assert case.observations == []
    assert case.warnings[0].where == "t.json"
    assert "http://loinc.org: 1 not recognised" in case.warnings[0].message
    assert "8867-4 x1" in case.warnings[0].message


def test_resource_types_not_read_are_reported(intake_kb: KnowledgeBase) -> None:
    case = read(
        intake_kb, {"resourceType": "Encounter", "id": "e"}, {"resourceType": "Practitioner"}
    )
    assert "Encounter x1, Practitioner x1" in messages(case)


# ------------------------------------------------------------------ values


def test_platelet_unit_variants(intake_kb: KnowledgeBase) -> None:
    case = read(
        intake_kb,
        obs("777-3", LOINC, "a", "2026-11-01", valueQuantity=qty(30000, "/uL")),
        obs("777-3", LOINC, "b", "2026-11-02", valueQuantity={"value": 30, "unit": "K/uL"}),
        obs("777-3", LOINC, "c", "2026-11-03", valueQuantity=qty(30, "10*3/uL")),
        obs("777-3", LOINC, "d", "2026-11-04", valueQuantity={"value": 30, "unit": "x10^9/L"}),
    )
    assert [o.value for o in case.observations] == [30.0] * 4
    assert {o.unit for o in case.observations} == {"10*9/L"}


def test_ucum_code_preferred_over_display_unit(intake_kb: KnowledgeBase) -> None:
    q = {
        "value": 45,
        "unit": "milligram per decilitre",
        "system": "http://unitsofmeasure.org",
        "code": "mg/dL",
    }
    case = read(intake_kb, obs("2880-3", valueQuantity=q))
    prot = case.latest("csf-protein")
    assert prot is not None and prot.value == 45.0 and prot.status == "ok"


def test_unconvertible_unit_kept_unparseable_with_warning(intake_kb: KnowledgeBase) -> None:
    case = read(intake_kb, obs("2880-3", LOINC, "p", "2026-11-20", valueQuantity=qty(3, "mmol/L")))
    prot = case.latest("csf-protein")
    assert (
        prot is not None
        and prot.status == "unparseable"
        and prot.value == 3
        and prot.unit == "mmol/L"
    )
    assert (
        case.warnings[0].field == "valueQuantity"
        and "cannot be converted" in case.warnings[0].message
    )


def test_missing_unit_on_count_is_unparseable(intake_kb: KnowledgeBase) -> None:
    case = read(intake_kb, obs("777-3", valueQuantity={"value": 30}))
    plt = case.latest("platelets")
    assert plt is not None and plt.status == "unparseable"
    assert "no unit" in messages(case)


def test_dimensionless_without_unit_is_fine(intake_kb: KnowledgeBase) -> None:
    case = read(
        intake_kb,
        obs("6301-6", LOINC, "a", "2026-11-20", valueQuantity={"value": 1.3}),
        obs("89243-0", LOINC, "b", "2026-11-20", valueInteger=70),
    )
    inr, kps = case.latest("inr"), case.latest("karnofsky")
    assert inr is not None and inr.status == "ok" and inr.unit == "{INR}"
    assert kps is not None and kps.value == 70
    assert case.warnings == []


def test_value_without_date_warns_and_keeps(intake_kb: KnowledgeBase) -> None:
    case = read(intake_kb, obs("777-3", LOINC, "o1", None, valueQuantity=qty(100, "10*9/L")))
    plt = case.latest("platelets")
    assert plt is not None and plt.time is None and plt.status == "ok"
    assert "no date" in messages(case)


def test_effective_period_and_instant(intake_kb: KnowledgeBase) -> None:
    o = obs(
        "777-3",
        LOINC,
        "o1",
        None,
        valueQuantity=qty(100, "10*9/L"),
        effectivePeriod={"start": "2026-11-01T08:00:00Z"},
    )
    case = read(intake_kb, o)
    plt = case.latest("platelets")
    assert plt is not None and plt.time is not None and plt.time.day == 1


def test_unparseable_date_makes_that_fact_unreadable(intake_kb: KnowledgeBase) -> None:
    good = obs("777-3", LOINC, "ok", "2026-11-20", valueQuantity=qty(100, "10*9/L"))
    bad = obs("6301-6", LOINC, "z", "yesterday", valueQuantity=qty(1.0, "{INR}"))
    case = read(intake_kb, good, bad)
    assert case.latest("platelets") is not None
    inr = case.latest("inr")
    assert inr is not None and inr.status == "unparseable" and inr.reference == "Observation/z"
    (drop,) = case.dropped
    assert (drop.reference, drop.field) == ("Observation/z", "effectiveDateTime")
    assert "yesterday" in drop.reason
    assert "inr: unreadable" in messages(case)


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ({"valueQuantity": "12"}, "valueQuantity"),
        ({"valueQuantity": {"value": True, "unit": "10*9/L"}}, "valueQuantity.value"),
        ({"valueBoolean": "yes"}, "valueBoolean"),
        ({"valueInteger": "7"}, "valueInteger"),
        ({"code": {"coding": {"code": "777-3"}}}, "code.coding"),
        ({"code": {"coding": [{"code": 777}]}}, "code.coding[0].code"),
    ],
)
def test_wrong_types(intake_kb: KnowledgeBase, value: dict[str, Any], field: str) -> None:
    other = obs("6301-6", LOINC, "i", "2026-11-20", valueQuantity=qty(1.1, "{INR}"))
    case = read(intake_kb, obs("777-3", LOINC, "w", "2026-11-20T08:00:00Z", **value), other)
    (drop,) = case.dropped
    assert (drop.reference, drop.field) == ("Observation/w", field)
    assert case.latest("inr") is not None  # the rest of the chart is read
    warning = next(w for w in case.warnings if w.where == "Observation/w")
    assert warning.field == field and "unreadable" in warning.message


def test_missing_observation_code_is_an_error(intake_kb: KnowledgeBase) -> None:
    res = obs("777-3", LOINC, "m", "2026-11-20T08:00:00Z", valueQuantity=qty(1, "10*9/L"))
    del res["code"]
    case = read(intake_kb, res)
    assert case.observations == [] and case.dropped[0].field == "code"


def test_coded_values_by_code_display_text_and_string(intake_kb: KnowledgeBase) -> None:
    case = read(
        intake_kb,
        obs(
            "csf-cytology",
            LM,
            "a",
            valueCodeableConcept={
                "coding": [
                    {"system": SNOMED, "code": "10828004", "display": "Positive (qualifier value)"}
                ]
            },
        ),
        obs("csf-flow-study", LM, "b", valueString="Blocked"),
        obs("her2-status", LM, "c", valueBoolean=True),
        obs("systemic-disease", LM, "d", valueCodeableConcept={"text": "Extensive"}),
    )
    assert case.latest("csf-cytology").value == "positive"  # type: ignore[union-attr]
    assert case.latest("csf-flow-study").value == "blocked"  # type: ignore[union-attr]
    assert case.latest("her2-status").value == "positive"  # type: ignore[union-attr]
    assert case.latest("systemic-disease").value == "extensive"  # type: ignore[union-attr]


def test_value_outside_value_set_kept_unparseable(intake_kb: KnowledgeBase) -> None:
    case = read(intake_kb, obs("mri-lm-pattern", LM, valueCodeableConcept={"text": "suspicious"}))
    mri = case.latest("mri-lm-pattern")
    assert mri is not None and mri.status == "unparseable" and mri.value == "suspicious"
    assert "not understood" in messages(case)


def test_data_absent_reason(intake_kb: KnowledgeBase) -> None:
    absent = {"coding": [{"code": "not-performed", "display": "Not Performed"}]}
    case = read(intake_kb, obs("777-3", dataAbsentReason=absent))
    plt = case.latest("platelets")
    assert plt is not None and plt.value is None and plt.status == "unparseable"
    assert "Not Performed" in messages(case)


def test_entered_in_error_ignored_with_warning(intake_kb: KnowledgeBase) -> None:
    case = read(intake_kb, obs("777-3", status="entered-in-error", valueQuantity=qty(5, "10*9/L")))
    assert case.observations == [] and "entered-in-error" in messages(case)


def test_components_are_read(intake_kb: KnowledgeBase) -> None:
    panel = obs(
        "x-panel",
        code={"text": "CSF panel"},
        component=[
            {
                "code": {"coding": [{"system": LOINC, "code": "26465-5"}]},
                "valueQuantity": qty(40, "/uL"),
            },
            {
                "code": {"coding": [{"system": LOINC, "code": "2342-4"}]},
                "valueQuantity": qty(2.0, "mmol/L"),
            },
        ],
    )
    case = read(intake_kb, panel)
    assert case.latest("csf-wbc").value == 40  # type: ignore[union-attr]
    assert case.latest("csf-glucose").value == pytest.approx(36.032)  # type: ignore[union-attr]


def test_comparator_is_a_bound_not_a_value(intake_kb: KnowledgeBase) -> None:
    """'<150' must not read as 150 (it could pass a platelet threshold): kept, not used."""
    q = {**qty(150, "10*9/L"), "comparator": "<"}
    case = read(intake_kb, obs("777-3", valueQuantity=q))
    plt = case.latest("platelets")
    assert plt is not None and plt.status == "unparseable" and plt.value == "<150 10*9/L"
    assert any("is a bound" in w.message for w in case.warnings)
    plain = read(intake_kb, obs("777-3", valueQuantity=qty(150, "10*9/L"))).latest("platelets")
    assert plain is not None and plain.status == "ok"


# ------------------------------------------------------------------ patient, conditions, devices


def test_patient_and_partial_birth_date(intake_kb: KnowledgeBase) -> None:
    case = read(
        intake_kb,
        {"resourceType": "Patient", "id": "p", "birthDate": "1970-05", "gender": "female"},
    )
    assert case.birth_date is not None and case.birth_date.isoformat() == "1970-05-01"
    assert (
        case.birth_date_estimated and case.sex == "female" and case.patient_reference == "Patient/p"
    )


def test_condition_status_and_verification(intake_kb: KnowledgeBase) -> None:
    clinical = {"coding": [{"code": "resolved"}]}
    refuted = {"coding": [{"code": "refuted"}]}
    code = {"coding": [{"system": SNOMED, "code": "25064002"}]}
    case = read(
        intake_kb,
        cond(code, "a", clinicalStatus=clinical),
        cond(code, "b", verificationStatus=refuted),
    )
    assert [(c.reference, c.active) for c in case.conditions] == [("Condition/a", False)]
    assert "refuted" in messages(case)


def test_condition_for_a_flag_finding(intake_kb: KnowledgeBase) -> None:
    case = read(intake_kb, cond({"text": "Encephalopathy"}, onsetDateTime="2026-11-01"))
    enc = case.latest("encephalopathy")
    assert enc is not None and enc.value is True


def test_devices(intake_kb: KnowledgeBase) -> None:
    case = read(
        intake_kb,
        {
            "resourceType": "Device",
            "id": "a",
            "type": {"coding": [{"system": LM, "code": "vp-shunt-on-off-valve"}]},
        },
        {
            "resourceType": "Device",
            "id": "b",
            "deviceName": [{"name": "Ommaya reservoir", "type": "user-friendly-name"}],
        },
        {
            "resourceType": "Device",
            "id": "c",
            "status": "entered-in-error",
            "type": {"text": "VP shunt"},
        },
    )
    assert [d.concept for d in case.devices] == ["vp-shunt-on-off-valve", "ommaya-reservoir"]


# ------------------------------------------------------------------ typical signs


def test_typical_signs_inferred_from_symptoms(intake_kb: KnowledgeBase) -> None:
    case = read(
        intake_kb,
        cond({"text": "Headache"}, "h", onsetDateTime="2026-11-01"),
        cond({"text": "Double vision"}, "d", onsetDateTime="2026-11-05"),
    )
    signs = case.latest("typical-lm-signs")
    assert signs is not None and signs.value is True and signs.inferred
    assert signs.note == "inferred from headache (Condition/h), diplopia (Condition/d)"
    assert signs.reference == "Condition/h" and signs.time is not None and signs.time.day == 5


def test_symptom_as_observation_counts(intake_kb: KnowledgeBase) -> None:
    case = read(intake_kb, obs("25064002", SNOMED, "s", valueBoolean=True))
    assert case.latest("typical-lm-signs") is not None
    absent = read(intake_kb, obs("25064002", SNOMED, "s", valueCodeableConcept={"text": "Absent"}))
    assert absent.latest("typical-lm-signs") is None and absent.conditions[0].active is False


def test_no_inference_without_symptoms(intake_kb: KnowledgeBase) -> None:
    case = read(
        intake_kb,
        cond({"text": "Seizure"}),
        cond({"text": "Headache"}, "h", clinicalStatus={"coding": [{"code": "resolved"}]}),
    )
    assert case.latest("typical-lm-signs") is None


def test_explicit_typical_signs_wins(intake_kb: KnowledgeBase) -> None:
    case = read(
        intake_kb, obs("typical-lm-signs", LM, valueBoolean=False), cond({"text": "Headache"}, "h")
    )
    signs = case.latest("typical-lm-signs")
    assert signs is not None and signs.value is False and not signs.inferred


# ------------------------------------------------------------------ medications and orders


def med_request(**extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "id": "mr",
        "status": "active",
        "intent": "order",
        "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": "6851"}]},
        **extra,
    }


@pytest.mark.parametrize(
    ("route", "expected"),
    [
        ({"coding": [{"system": SNOMED, "code": "72607000"}]}, "intrathecal"),
        ({"text": "IT"}, "intrathecal"),
        ({"text": "intrathecal"}, "intrathecal"),
        ({"text": "via Ommaya"}, "intraventricular"),
        ({"coding": [{"display": "Intravenous"}]}, "intravenous"),
    ],
)
def test_medication_routes(intake_kb: KnowledgeBase, route: dict[str, Any], expected: str) -> None:
    case = read(intake_kb, med_request(dosageInstruction=[{"route": route}]))
    assert case.medications[0].route == expected


def test_route_from_dosage_text_needs_capitals_for_abbreviations(intake_kb: KnowledgeBase) -> None:
    it = read(intake_kb, med_request(dosageInstruction=[{"text": "12 mg IT twice weekly"}]))
    assert it.medications[0].route == "intrathecal"
    english = read(intake_kb, med_request(dosageInstruction=[{"text": "give it slowly"}]))
    assert english.medications[0].route is None
    ommaya = read(intake_kb, med_request(dosageInstruction=[{"text": "12 mg via Ommaya"}]))
    assert ommaya.medications[0].route == "intraventricular"


def test_unknown_route_warns(intake_kb: KnowledgeBase) -> None:
    case = read(intake_kb, med_request(dosageInstruction=[{"route": {"text": "intranasal"}}]))
    assert case.medications[0].route is None and "route x1): 'intranasal' x1" in messages(case)


@pytest.mark.parametrize(
    ("timing", "per_day"),
    [
        ({"repeat": {"frequency": 1, "period": 12, "periodUnit": "h"}}, 2.0),
        ({"repeat": {"frequency": 2, "period": 1, "periodUnit": "wk"}}, 0.285714),
        ({"repeat": {"frequency": 3, "period": 1, "periodUnit": "d"}}, 3.0),
        ({"code": {"coding": [{"code": "BID"}]}}, 2.0),
        ({"code": {"text": "Q8H"}}, 3.0),
    ],
)
def test_timing(intake_kb: KnowledgeBase, timing: dict[str, Any], per_day: float) -> None:
    case = read(intake_kb, med_request(dosageInstruction=[{"timing": timing}]))
    assert case.medications[0].frequency_per_day == pytest.approx(per_day)


def test_dose_and_draft_order(intake_kb: KnowledgeBase) -> None:
    dosage = {
        "doseAndRate": [{"doseQuantity": qty(12, "mg")}],
        "timing": {"event": ["2026-11-21T09:00:00Z"]},
    }
    case = read(
        intake_kb,
        med_request(
            status="draft", intent="proposal", authoredOn="2026-11-20", dosageInstruction=[dosage]
        ),
    )
    m = case.medications[0]
    assert (m.concept, m.kind, m.draft, m.dose, m.dose_unit) == (
        "methotrexate",
        "request",
        True,
        12.0,
        "mg",
    )
    assert m.start is not None and m.start.day == 21 and m.authored is not None


def test_wrong_dose_type(intake_kb: KnowledgeBase) -> None:
    dosage = {"doseAndRate": [{"doseQuantity": {"value": "12", "unit": "mg"}}]}
    case = read(intake_kb, med_request(dosageInstruction=[dosage]))
    assert case.dropped[0].field == "dosageInstruction[0].doseAndRate[0].doseQuantity.value"
    assert "unreadable drug: check before the LP" in messages(case)


def test_medication_reference_contained_and_bundled(intake_kb: KnowledgeBase) -> None:
    contained = med_request(
        contained=[{"resourceType": "Medication", "id": "m1", "code": {"text": "Cytarabine"}}],
        medicationReference={"reference": "#m1"},
    )
    del contained["medicationCodeableConcept"]
    bundled = med_request(id="mr2", medicationReference={"reference": "Medication/enox"})
    del bundled["medicationCodeableConcept"]
    medication = {
        "resourceType": "Medication",
        "id": "enox",
        "code": {"coding": [{"system": RXNORM, "code": "67108"}]},
    }
    case = read(intake_kb, contained, bundled, medication)
    assert [m.concept for m in case.medications] == ["cytarabine", "enoxaparin"]
    assert "Medication" not in messages(case)


def test_missing_medication_is_an_error(intake_kb: KnowledgeBase) -> None:
    res = med_request()
    del res["medicationCodeableConcept"]
    case = read(intake_kb, res)
    assert case.medications == [] and case.dropped[0].field == "medication[x]"
    assert "unreadable drug: check before the LP" in messages(case)


def test_administrations_and_statements(intake_kb: KnowledgeBase) -> None:
    admin = {
        "resourceType": "MedicationAdministration",
        "id": "ma",
        "status": "completed",
        "medicationCodeableConcept": {"text": "Lovenox"},
        "effectiveDateTime": "2026-11-20T09:00:00Z",
        "dosage": {"dose": qty(40, "mg"), "route": {"text": "SC"}},
    }
    statement = {
        "resourceType": "MedicationStatement",
        "id": "ms",
        "status": "active",
        "medicationCodeableConcept": {"text": "Enoxaparin"},
        "effectivePeriod": {"start": "2026-11-01", "end": "2026-11-19T21:00:00Z"},
    }
    case = read(intake_kb, admin, statement)
    a, s = case.medications
    assert a.kind == "administration" and a.times == (a.last_time,) and a.route == "subcutaneous"
    assert a.dose == 40.0
    assert s.kind == "statement" and s.last_time is not None and s.last_time.day == 19


def test_administration_without_time_warns(intake_kb: KnowledgeBase) -> None:
    admin = {
        "resourceType": "MedicationAdministration",
        "id": "ma",
        "status": "completed",
        "medicationCodeableConcept": {"text": "Enoxaparin"},
    }
    case = read(intake_kb, admin)
    assert case.medications[0].times == () and "without a time" in messages(case)


def test_service_request_draft_and_procedure(intake_kb: KnowledgeBase) -> None:
    sr = {
        "resourceType": "ServiceRequest",
        "id": "lp",
        "status": "draft",
        "intent": "proposal",
        "code": {"coding": [{"system": SNOMED, "code": "277762005"}]},
        "occurrenceDateTime": "2026-11-20T14:00:00Z",
    }
    done = {
        "resourceType": "Procedure",
        "id": "wbrt",
        "status": "completed",
        "code": {"text": "WBRT"},
        "performedPeriod": {"start": "2026-09-01", "end": "2026-09-12"},
    }
    case = read(intake_kb, sr, done)
    lp, wbrt = case.procedures
    assert (lp.concept, lp.kind, lp.draft, lp.intent) == (
        "lumbar-puncture",
        "request",
        True,
        "proposal",
    )
    assert (wbrt.concept, wbrt.kind, wbrt.draft) == ("whole-brain-radiotherapy", "procedure", False)
