"""The typed Assessment: the published schema is generated from it, it round-trips through JSON
(an audit event read back validates into it), and faces read the model (contract data is
validated into it first)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import jsonschema
import pytest
from pydantic import ValidationError

from leptoguide.assessment import (
    AntithromboticTiming,
    Assessment,
    Finding,
    as_assessment,
    json_schema,
    schema_text,
    stored_assessment,
)
from leptoguide.engine import assess
from leptoguide.intake import read_path
from leptoguide.knowledge.loader import KnowledgeBase
from leptoguide.policy import load_policy
from leptoguide.render.json import render_json
from leptoguide.render.text import render_text

ROOT = Path(__file__).parents[2]
EXAMPLE = ROOT / "examples" / "fhir" / "it-methotrexate-blocked-flow.json"
AT = dt.datetime(2026, 11, 20, 9, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def assessment(shipped_kb: KnowledgeBase) -> Assessment:
    case = read_path(str(EXAMPLE), kb=shipped_kb)
    return assess(case, kb=shipped_kb, policy=load_policy(shipped_kb), at=AT)


def test_published_schema_is_generated_from_the_models() -> None:
    on_disk = (ROOT / "docs" / "assessment.schema.json").read_text(encoding="utf-8")
    assert on_disk == schema_text(), (
        "docs/assessment.schema.json is out of date: regenerate it with `make schema`"
    )


def test_engine_output_is_typed_and_validates_against_the_schema(assessment: Assessment) -> None:
    assert isinstance(assessment, Assessment)
    assert assessment.findings and all(isinstance(f, Finding) for f in assessment.findings)
    validator = jsonschema.Draft202012Validator(
        json_schema(), format_checker=jsonschema.FormatChecker()
    )
    assert list(validator.iter_errors(json.loads(render_json(assessment)))) == []


def test_stored_json_reads_back_into_the_same_model(assessment: Assessment) -> None:
    stored = json.loads(render_json(assessment))
    back = Assessment.model_validate(stored)
    assert back == assessment
    assert render_json(back) == render_json(assessment)


def test_optional_keys_are_left_out_when_empty(assessment: Assessment) -> None:
    dumped = assessment.model_dump()
    inputs = [i for f in dumped["findings"] for i in f["inputs"]]  # type: ignore[union-attr,index]
    assert inputs
    for item in inputs:
        assert isinstance(item, dict)
        assert "note" not in item or item["note"] is not None
        assert "references" not in item or item["references"]


def test_contract_data_and_the_model_render_the_same(
    assessment: Assessment, shipped_kb: KnowledgeBase
) -> None:
    as_data = json.loads(render_json(assessment))
    assert render_text(as_assessment(as_data), shipped_kb) == render_text(assessment, shipped_kb)
    assert as_assessment(as_data) == assessment


def test_malformed_contract_data_is_rejected(assessment: Assessment) -> None:
    data = json.loads(render_json(assessment))
    data["findings"][0]["severity"] = "catastrophic"
    with pytest.raises(ValidationError):
        Assessment.model_validate(data)
    data = json.loads(render_json(assessment))
    data["findings"][0]["surprise"] = True
    with pytest.raises(ValidationError):
        Assessment.model_validate(data)


def test_stored_outputs_become_the_model_or_nothing(assessment: Assessment) -> None:
    """An audit record is read back into the typed model (itself, or inside a CDS Hooks response);
    one that is not JSON, holds no assessment or breaks the contract gives None, never a dict."""
    text = render_json(assessment)
    assert stored_assessment(text) == assessment
    wrapped = json.dumps({"cards": [], "assessment": json.loads(text)})
    assert stored_assessment(wrapped.encode()) == assessment
    broken = json.loads(text)
    broken["findings"][0]["severity"] = "catastrophic"
    for output in ("not json", "[1, 2]", '{"answer": "x"}', json.dumps(broken)):
        assert stored_assessment(output) is None


LP_CASE = ROOT / "tests" / "scenarios" / "bundles" / "30-lp-enoxaparin-prophylactic-6h.json"


def test_antithrombotic_timing_is_typed_and_keeps_its_json_shape(shipped_kb: KnowledgeBase) -> None:
    """The finding input that shows the antithrombotic timing in full is the typed model; its JSON
    keeps the published field names (``class``) and key order, and reads back into the model."""
    case = read_path(str(LP_CASE), kb=shipped_kb)
    at = dt.datetime(2026, 11, 21, 12, tzinfo=dt.UTC)
    result = assess(case, kb=shipped_kb, policy=load_policy(shipped_kb), at=at)
    values = [i.value for f in result.findings for i in f.inputs if i.fact == "lp-antithrombotics"]
    timing = next(v for v in values if isinstance(v, AntithromboticTiming))
    drug = timing.drugs[0]
    assert drug.drug == "enoxaparin" and drug.status == "hold" and drug.earliest_lp
    dumped = json.loads(render_json(result))
    shown = next(
        i["value"]
        for f in dumped["findings"]
        for i in f["inputs"]
        if i["fact"] == "lp-antithrombotics"
    )
    assert list(shown["drugs"][0]) == [
        "drug",
        "class",
        "dose",
        "dose_unit",
        "last_dose",
        "hold_hours",
        "restart_hours",
        "reference",
        "references",
        "lp_time",
        "hours_since_last_dose",
        "earliest_lp",
        "status",
        "restart_after_lp",
        "note",
    ]
    back = as_assessment(dumped)
    assert back == result
