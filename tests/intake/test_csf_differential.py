"""The CSF white-cell differential as laboratories write it in words: cell-count reports
(conclusion, HTML or plain-text presentedForm), a differential result sent as text, and comments or
interpretation text on the CSF white cell count. "Lymphocytic pleocytosis", "predominantly
neutrophils" and "mostly lymphocytes (80%)" become the facts the CSF pattern table reads, quoting
the sentence; text that does not say which cell predominates stays unread or unreadable, never a
default."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

import pytest

from intake_helpers import bundle, dumps, qty
from leptoguide.case import Case
from leptoguide.engine import assess
from leptoguide.intake import read_input
from leptoguide.knowledge.loader import KnowledgeBase
from leptoguide.policy import load_policy

EPIC = "urn:oid:1.2.840.114350.1.13.0.1.7.5.737384.14"
CERNER = "https://fhir.cerner.com/ec2458f2-1e24-41c8-b71b-0e701af7583d/codeSet/72"
UKLAB = "https://pathology.example.nhs.uk/codes"
WHEN = "2026-11-20T10:15:00+00:00"
AT = dt.datetime(2026, 11, 21, 12, tzinfo=dt.UTC)


def wbc(**extra: Any) -> dict[str, Any]:
    """A UK-style CSF white cell count: local code and text only, SI unit."""
    res: dict[str, Any] = {
        "resourceType": "Observation",
        "id": "wbc",
        "status": "final",
        "code": {
            "coding": [{"system": UKLAB, "code": "CSFWCC", "display": "CSF white cell count"}]
        },
        "effectiveDateTime": WHEN,
        "valueQuantity": qty(250, "10*6/L"),
    }
    res.update(extra)
    return res


def cell_report(text: str, shape: str) -> dict[str, Any]:
    res: dict[str, Any] = {
        "resourceType": "DiagnosticReport",
        "id": "cc1",
        "status": "final",
        "code": {"text": "CSF cell count and differential"},
        "effectiveDateTime": WHEN,
    }
    if shape == "html":  # Epic: local coding, HTML body
        res["code"]["coding"] = [{"system": EPIC, "code": "LAB123", "display": "CELL COUNT, CSF"}]
        body = "<html><body><p>" + text + "</p></body></html>"
        res["presentedForm"] = [
            {"contentType": "text/html", "data": base64.b64encode(body.encode()).decode()}
        ]
    elif shape == "plain":  # Cerner: plain text attachment with a charset
        res["presentedForm"] = [
            {
                "contentType": "text/plain; charset=utf-8",
                "data": base64.b64encode(text.encode()).decode(),
            }
        ]
    else:
        res["conclusion"] = text
    return res


def read(*resources: dict[str, Any], kb: KnowledgeBase) -> Case:
    return read_input(dumps(bundle(*resources)), name="csf.json", kb=kb)


REPORTS: list[tuple[str, str | None]] = [
    ("Lymphocytic pleocytosis.", "lymphocytes"),
    ("WBC 250, predominantly neutrophils.", "neutrophils"),
    ("Mostly lymphocytes (80%).", "lymphocytes"),
    ("Neutrophilic pleocytosis with a low glucose.", "neutrophils"),
    ("Cells are mainly polymorphs.", "neutrophils"),
    ("Mononuclear cells predominate.", "lymphocytes"),
    ("Mixed pleocytosis.", "mixed"),
    ("No pleocytosis.", None),
    ("Lymphocytes and neutrophils seen.", None),
    ("Possible neutrophilic pleocytosis, clotted sample.", None),
]


@pytest.mark.parametrize("shape", ["conclusion", "html", "plain"])
@pytest.mark.parametrize(("text", "value"), REPORTS)
def test_cell_count_report_in_words(
    shipped_kb: KnowledgeBase, shape: str, text: str, value: str | None
) -> None:
    case = read(wbc(), cell_report(text, shape), kb=shipped_kb)
    found = case.latest("csf-predominant-cell")
    if value is None:
        assert found is None or found.status != "ok", found
        return
    assert found is not None and found.status == "ok" and found.value == value, found
    assert found.reference == "DiagnosticReport/cc1"
    assert found.note is not None and text in found.note  # the sentence it rests on


def test_both_kinds_stated_as_predominant_is_unreadable(shipped_kb: KnowledgeBase) -> None:
    case = read(
        wbc(),
        cell_report("Predominantly neutrophils. Lymphocytic pleocytosis on review.", "conclusion"),
        kb=shipped_kb,
    )
    found = case.latest("csf-predominant-cell")
    assert found is not None and found.status == "unparseable", found
    assert any("csf-predominant-cell" in w.message for w in case.warnings)


def test_another_cell_predominant_is_unreadable_not_a_kind(shipped_kb: KnowledgeBase) -> None:
    case = read(wbc(), cell_report("Eosinophilic pleocytosis.", "conclusion"), kb=shipped_kb)
    found = case.latest("csf-predominant-cell")
    assert found is not None and found.status == "unparseable", found


@pytest.mark.parametrize(
    ("system", "name", "text", "value"),
    [
        (CERNER, "CSF Differential", "Predominantly lymphocytes", "lymphocytes"),
        (UKLAB, "CSF differential", "Neutrophils", "neutrophils"),
        (EPIC, "DIFFERENTIAL, CSF", "mostly polys", "neutrophils"),
        (CERNER, "CSF Differential", "see comment", None),
    ],
)
def test_differential_sent_as_text(
    shipped_kb: KnowledgeBase, system: str, name: str, text: str, value: str | None
) -> None:
    diff = {
        "resourceType": "Observation",
        "id": "diff",
        "status": "final",
        "code": {"coding": [{"system": system, "code": "DIFF", "display": name}], "text": name},
        "effectiveDateTime": WHEN,
        "valueString": text,
    }
    found = read(wbc(), diff, kb=shipped_kb).latest("csf-predominant-cell")
    assert found is not None
    if value is None:
        assert found.status == "unparseable", found  # kept, shown unreadable, not used
        return
    assert found.status == "ok" and found.value == value, found


@pytest.mark.parametrize(
    ("extra", "value"),
    [
        ({"note": [{"text": "Predominantly neutrophils."}]}, "neutrophils"),
        ({"interpretation": [{"text": "Lymphocytic predominance"}]}, "lymphocytes"),
        ({"note": [{"text": "Mostly lymphocytes 80%"}]}, "lymphocytes"),
        ({"interpretation": [{"coding": [{"code": "H", "display": "High"}]}]}, None),
        ({"note": [{"text": "Slightly blood-stained sample."}]}, None),
    ],
)
def test_comment_on_the_white_cell_count(
    shipped_kb: KnowledgeBase, extra: dict[str, Any], value: str | None
) -> None:
    case = read(wbc(**extra), kb=shipped_kb)
    assert case.latest("csf-wbc") is not None and case.latest("csf-wbc").value == 250  # type: ignore[union-attr]
    found = case.latest("csf-predominant-cell")
    if value is None:
        assert found is None, found
        return
    assert found is not None and found.status == "ok" and found.value == value, found
    assert found.reference == "Observation/wbc" and found.note and "comment" in found.note


def test_a_platelet_comment_is_not_a_csf_differential(shipped_kb: KnowledgeBase) -> None:
    """Comments are read only on results whose name says CSF (the concept's report words)."""
    plt = wbc(
        id="plt",
        code={"coding": [{"system": UKLAB, "code": "PLT", "display": "Platelet count"}]},
        valueQuantity=qty(140, "10*9/L"),
        note=[{"text": "Blood film: predominantly neutrophils."}],
    )
    assert read(plt, kb=shipped_kb).latest("csf-predominant-cell") is None


@pytest.mark.parametrize(
    ("text", "neutrophils", "lymphocytes"),
    [
        ("Differential: neutrophils 85%, lymphocytes 15%.", 85.0, 15.0),
        ("85% lymphocytes, 10% monocytes, 5% neutrophils", 5.0, 85.0),
        ("WBC 250 (90% polys)", 90.0, None),
        ("Lymphs: 62 %", None, 62.0),
        ("lymphocytes 80% neutrophils 20%", None, None),  # pairs either way: not read
        ("neutrophils 60%, lymphocytes 60%", None, None),  # adds up to more than 100
    ],
)
def test_shares_in_the_text_become_percentages(
    shipped_kb: KnowledgeBase, text: str, neutrophils: float | None, lymphocytes: float | None
) -> None:
    case = read(wbc(), cell_report(text, "conclusion"), kb=shipped_kb)
    for concept, want in (
        ("csf-neutrophils-pct", neutrophils),
        ("csf-lymphocytes-pct", lymphocytes),
    ):
        found = case.latest(concept)
        if want is None:
            assert found is None, found
            continue
        assert found is not None and found.status == "ok" and found.value == want, found
        assert found.unit == "%" and found.note and text in found.note


def glucose(rid: str, name: str, mmol: float) -> dict[str, Any]:
    return wbc(
        id=rid,
        code={"coding": [{"system": UKLAB, "code": rid.upper(), "display": name}]},
        valueQuantity=qty(mmol, "mmol/L"),
    )


@pytest.mark.parametrize(
    ("text", "pattern"),
    [  # with a very low glucose ratio, the predominant cell decides bacterial against TB
        ("Neutrophilic pleocytosis.", "bacterial"),
        ("Lymphocytic pleocytosis.", "tuberculous"),
        ("No differential available.", "indeterminate"),
    ],
)
def test_the_csf_pattern_reads_the_differential_in_words(
    shipped_kb: KnowledgeBase, text: str, pattern: str
) -> None:
    case = read(
        wbc(),
        glucose("csfglu", "CSF glucose", 1.0),
        glucose("bloodglu", "Plasma glucose", 6.0),
        cell_report(text, "html"),
        kb=shipped_kb,
    )
    result: Any = assess(case, kb=shipped_kb, policy=load_policy(shipped_kb), at=AT).to_dict()
    profile = next(f for f in result["findings"] if f["rule"] == "csf-profile-differential")
    assert f"CSF pattern: {pattern}" in profile["summary"], profile["summary"]


@pytest.mark.parametrize(
    ("title", "text", "cytology"),
    [
        # white-cell morphology in a cell count is not a cytology verdict
        ("CSF cell count and differential", "Lymphocytes 80%, atypical lymphocytes 5%.", None),
        ("CSF cell count and differential", "Reactive lymphocytes seen.", None),
        # a cytology report still reads its verdicts
        ("CSF cytology", "Negative for malignant cells. Reactive lymphocytes.", "negative"),
        ("CSF cytology", "Atypical lymphoid cells, suspicious for lymphoma.", "equivocal"),
    ],
)
def test_cell_morphology_is_not_cytology(
    shipped_kb: KnowledgeBase, title: str, text: str, cytology: str | None
) -> None:
    report = cell_report(text, "conclusion")
    report["code"] = {"text": title}
    found = read(report, kb=shipped_kb).latest("csf-cytology")
    if cytology is None:
        assert found is None, found  # neither a result nor "unreadable"
        return
    assert found is not None and found.status == "ok" and found.value == cytology
