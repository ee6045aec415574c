"""Case files: schema errors with field paths, terms, units, orders, and parity with FHIR."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from leptoguide.case import Case
from leptoguide.errors import InputError
from leptoguide.intake import read_input, read_path
from leptoguide.knowledge.loader import KnowledgeBase

EXAMPLES = Path(__file__).parents[2] / "examples"


def read(intake_kb: KnowledgeBase, doc: dict[str, Any]) -> Case:
    return read_input(yaml.safe_dump(doc), name="case.yaml", kb=intake_kb)


@pytest.mark.parametrize(
    ("doc", "field", "words"),
    [
        (
            {"labs": [{"test": "platelets", "value": 30}, {"test": "inr"}]},
            "labs[1]",
            "'value' is a required",
        ),
        ({"labs": [{"test": "platelets", "value": [1]}]}, "labs[0].value", "is not of type"),
        ({"patient": {"sex": "x"}}, "patient.sex", "is not one of"),
        ({"findings": {"cytology": "maybe"}}, "findings.cytology", "is not one of"),
        ({"performance": {"kps": 110}}, "performance.kps", "greater than the maximum"),
        ({"csf": {"protein": {"unit": "g/L"}}}, "csf.protein", "'value' is a required"),
        ({"medications": [{"dose": 5}]}, "medications[0]", "'drug' is a required"),
        ({"pateint": {}}, "(top level)", "Additional properties"),
    ],
)
def test_schema_errors_name_the_field(
    intake_kb: KnowledgeBase, doc: dict[str, Any], field: str, words: str
) -> None:
    with pytest.raises(InputError) as info:
        read(intake_kb, doc)
    assert info.value.problem.where == "case.yaml"
    assert info.value.problem.field == field
    assert words in info.value.problem.message


def test_malformed_yaml(intake_kb: KnowledgeBase) -> None:
    with pytest.raises(InputError) as info:
        read_input("patient: {sex: female\nlabs: [", name="c.yaml", kb=intake_kb)
    assert str(info.value).startswith("c.yaml: malformed YAML at line")


def test_a_key_written_twice_is_refused(intake_kb: KnowledgeBase) -> None:
    # YAML would keep the second platelet count and drop the first without a word
    text = (
        "labs:\n  - {test: platelets, value: 30, unit: 10*9/L}\nlabs:\n  - {test: inr, value: 1}\n"
    )
    with pytest.raises(InputError) as info:
        read_input(text, name="c.yaml", kb=intake_kb)
    assert str(info.value).startswith("c.yaml: malformed YAML at line 3")
    assert "'labs' appears twice" in str(info.value)


def test_bad_date(intake_kb: KnowledgeBase) -> None:
    with pytest.raises(InputError) as info:
        read(
            intake_kb,
            {"labs": [{"test": "platelets", "value": 30, "unit": "10*9/L", "time": "20/11/2026"}]},
        )
    assert info.value.problem.field == "labs[0].time" and "20/11/2026" in str(info.value)


def test_json_case_file(intake_kb: KnowledgeBase) -> None:
    case = read_input(b'{"patient": {"age_years": 50, "sex": "M"}}', name="c.json", kb=intake_kb)
    assert case.origin == "case-file" and case.sex == "male" and case.birth_date_estimated


def test_terms_by_id_display_and_synonym(intake_kb: KnowledgeBase) -> None:
    doc = {
        "date": "2026-11-20",
        "labs": [
            {"test": "platelets", "value": 30000, "unit": "/uL"},
            {"test": "International normalized ratio", "value": 1.4},
            {"test": "CrCl", "value": 1, "unit": "mL/s"},
        ],
        "medications": [{"drug": "Lovenox", "route": "SC", "frequency": "BID"}],
    }
    case = read(intake_kb, doc)
    assert case.latest("platelets").value == 30.0  # type: ignore[union-attr]
    assert case.latest("inr").value == 1.4  # type: ignore[union-attr]
    assert case.latest("creatinine-clearance").value == 60.0  # type: ignore[union-attr]
    med = case.medications[0]
    assert (med.concept, med.route, med.frequency_per_day) == ("enoxaparin", "subcutaneous", 2.0)
    assert case.warnings == []


def test_unknown_terms_warn(intake_kb: KnowledgeBase) -> None:
    case = read(
        intake_kb,
        {
            "labs": [{"test": "ferritin", "value": 3, "unit": "ug/L"}],
            "medications": [{"drug": "aspirin-ish"}],
        },
    )
    assert [w.field for w in case.warnings] == ["labs[0].test", "medications[0].drug"]


def test_default_csf_units_and_explicit_units(intake_kb: KnowledgeBase) -> None:
    case = read(
        intake_kb,
        {
            "date": "2026-11-20",
            "csf": {
                "wbc": 5,
                "protein": {"value": 0.5, "unit": "g/L"},
                "glucose": 60,
                "opening_pressure": 22,
            },
        },
    )
    assert case.latest("csf-wbc").value == 5  # type: ignore[union-attr]
    assert case.latest("csf-protein").value == 50.0  # type: ignore[union-attr]
    assert case.latest("csf-glucose").value == 60  # type: ignore[union-attr]
    assert case.latest("csf-opening-pressure").unit == "cm[H2O]"  # type: ignore[union-attr]


def test_undated_values_warn_without_a_case_date(intake_kb: KnowledgeBase) -> None:
    case = read(intake_kb, {"labs": [{"test": "platelets", "value": 90, "unit": "10*9/L"}]})
    assert case.latest("platelets").time is None  # type: ignore[union-attr]
    assert "no date" in case.warnings[0].message and case.warnings[0].field == "labs[0]"


def test_orders_are_drafts(intake_kb: KnowledgeBase) -> None:
    case = read(
        intake_kb,
        {
            "orders": [
                {"type": "LP"},
                {"drug": "MTX", "dose": 12, "unit": "mg", "route": "IT", "frequency": "2/wk"},
            ]
        },
    )
    lp = case.procedures[0]
    mtx = case.medications[0]
    assert (lp.concept, lp.kind, lp.draft) == ("lumbar-puncture", "request", True)
    assert (mtx.concept, mtx.kind, mtx.draft, mtx.route) == (
        "methotrexate",
        "request",
        True,
        "intrathecal",
    )
    assert mtx.frequency_per_day == pytest.approx(2 / 7, rel=1e-4)


def test_symptoms_infer_typical_signs_and_absent_ones_do_not(intake_kb: KnowledgeBase) -> None:
    with_symptoms = read(
        intake_kb, {"symptoms": ["headache", {"name": "back pain", "onset": "2026-11-01"}]}
    )
    signs = with_symptoms.latest("typical-lm-signs")
    assert signs is not None and signs.inferred and "back-pain" in (signs.note or "")
    absent = read(intake_kb, {"symptoms": [{"name": "headache", "present": False}]})
    assert absent.latest("typical-lm-signs") is None
    none = read(intake_kb, {"findings": {"cytology": "negative"}})
    assert none.latest("typical-lm-signs") is None


def test_age_in_days_sets_estimated_birth_date(intake_kb: KnowledgeBase) -> None:
    case = read(intake_kb, {"date": "2026-11-20", "patient": {"age_days": 6}})
    assert case.birth_date is not None and case.birth_date.isoformat() == "2026-11-14"


def _summary(case: Case) -> dict[str, Any]:
    obs = {
        (o.concept, o.value if not isinstance(o.value, float) else round(o.value, 3), o.unit)
        for o in case.observations
    }
    return {
        "birth": case.birth_date,
        "sex": case.sex,
        "obs": obs,
        "conditions": {c.concept for c in case.conditions},
        "devices": {d.concept for d in case.devices},
        "procedures": {(p.concept, p.draft) for p in case.procedures},
    }


def test_case_file_and_fhir_give_the_same_case(intake_kb: KnowledgeBase) -> None:
    fhir = read_path(EXAMPLES / "fhir" / "her2-breast-confirmed-lm-ommaya.json", kb=intake_kb)
    hand = read_path(EXAMPLES / "cases" / "her2-breast-confirmed-lm.yaml", kb=intake_kb)
    a, b = _summary(fhir), _summary(hand)
    # the FHIR text "Double vision, worse on left gaze" is found by the phrase stage
    assert "diplopia" in a["conditions"]
    assert a == b


def test_schema_file_is_valid_json_schema() -> None:
    from jsonschema import Draft202012Validator

    from leptoguide.intake.casefile import casefile_schema

    Draft202012Validator.check_schema(casefile_schema())


def test_every_schema_field_is_documented() -> None:
    from leptoguide.intake.casefile import casefile_schema

    doc = (Path(__file__).parents[2] / "docs" / "case-file.md").read_text()
    schema = casefile_schema()
    fields = set(schema["properties"])
    for name in ("patient", "cancer", "performance", "findings", "csf"):
        fields |= set(schema["properties"][name]["properties"])
    missing = sorted(f for f in fields if f"`{f}`" not in doc)
    assert not missing, f"docs/case-file.md does not mention {missing}"
