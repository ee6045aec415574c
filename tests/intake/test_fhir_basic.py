"""FHIR reader: the basic resource types, errors and warnings."""

from __future__ import annotations

from typing import Any

import pytest

from intake_helpers import LM, LOINC, bundle, dumps, obs, qty
from leptoguide.errors import InputError
from leptoguide.intake import read_input
from leptoguide.knowledge.loader import KnowledgeBase


def test_platelets_per_microlitre_converted(intake_kb: KnowledgeBase) -> None:
    b = bundle(obs("777-3", valueQuantity=qty(30000, "/uL")))
    case = read_input(dumps(b), name="b.json", kb=intake_kb)
    plt = case.latest("platelets")
    assert plt is not None
    assert plt.value == 30.0 and plt.unit == "10*9/L" and plt.status == "ok"
    assert plt.original_value == 30000 and plt.original_unit == "/uL"
    assert plt.reference == "Observation/o1"
    assert case.warnings == []


def test_malformed_json_message(intake_kb: KnowledgeBase) -> None:
    with pytest.raises(InputError) as info:
        read_input(b'{"resourceType": "Bundle",\n "entry": [}', name="bad.json", kb=intake_kb)
    assert str(info.value).startswith("bad.json: malformed JSON at line 2")


def test_wrong_type_drops_that_resource_only(intake_kb: KnowledgeBase) -> None:
    b = bundle(
        obs(
            "777-3",
            LOINC,
            "abc",
            "2026-11-20T08:00:00Z",
            valueQuantity={"value": "abc", "unit": "10*9/L"},
        )
    )
    case = read_input(dumps(b), name="b.json", kb=intake_kb)
    (drop,) = case.dropped
    assert drop.reference == "Observation/abc" and drop.field == "valueQuantity.value"
    assert "expected a number" in drop.reason
    plt = case.latest("platelets")
    assert plt is not None and plt.status == "unparseable"  # present, not understood


def test_lm_code_system_values(intake_kb: KnowledgeBase) -> None:
    b = bundle(
        obs(
            "csf-cytology",
            LM,
            "c1",
            valueCodeableConcept={"coding": [{"system": LM, "code": "positive"}]},
        ),
        obs("mri-lm-pattern", LM, "c2", valueCodeableConcept={"text": "Linear and nodular"}),
        obs("typical-lm-signs", LM, "c3", valueBoolean=True),
    )
    case = read_input(dumps(b), name="b.json", kb=intake_kb)
    cyt, mri, signs = (
        case.latest(c) for c in ("csf-cytology", "mri-lm-pattern", "typical-lm-signs")
    )
    assert cyt is not None and cyt.value == "positive"
    assert mri is not None and mri.value == "linear-and-nodular"
    assert signs is not None and signs.value is True and not signs.inferred


def test_read_path_stdin_and_missing_file(
    intake_kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    import io
    import sys

    from leptoguide.intake import read_path

    data = dumps(bundle(obs("777-3", valueQuantity=qty(80, "10*9/L"))))
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    assert read_path("-", kb=intake_kb).latest("platelets") is not None
    with pytest.raises(InputError) as info:
        read_path(tmp_path / "nope.json", kb=intake_kb)
    assert "cannot read file" in str(info.value)
