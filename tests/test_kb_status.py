"""The review-status model: draft, verified (who, when, what was read), approved only by a site."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from leptoguide.errors import KnowledgeError
from leptoguide.knowledge.loader import get_knowledge, load_knowledge
from leptoguide.knowledge.status import RANK, weakest

SOURCE = {
    "id": "test-source-2020",
    "kind": "guideline",
    "title": "A test guideline",
    "access": "full-text",
    "verification": "V",
}
STATEMENT: dict[str, object] = {
    "id": "test-statement",
    "title": "A test statement",
    "topics": ["diagnosis"],
    "clinician": "Clinicians should read this test statement.",
    "patient": "This is a short test. It is easy to read.",
    "sources": [{"source": "test-source-2020", "locator": "Table 1"}],
    "status": "draft",
}
CHECKED = {
    "by": "Jane Doe, clinical content editor",
    "date": "2026-12-02",
    "checked": [{"source": "test-source-2020", "locator": "Table 1, row 2"}],
}


@pytest.fixture()
def kb_with_test_source(kb_copy: Path) -> Path:
    """``kb_copy`` plus one test source (``test-source-2020``) for statements to cite."""
    (kb_copy / "sources" / "zz-a.yaml").write_text(yaml.safe_dump({"sources": [SOURCE]}))
    return kb_copy


def _problems(root: Path, statements: list[dict[str, object]]) -> list[str]:
    (root / "statements" / "zz-s.yaml").write_text(yaml.safe_dump({"statements": statements}))
    with pytest.raises(KnowledgeError) as info:
        load_knowledge(root, check_readability=False)
    return [str(p) for p in info.value.problems]


def test_files_cannot_ship_approved(kb_with_test_source: Path) -> None:
    problems = _problems(kb_with_test_source, [dict(STATEMENT, status="approved")])
    assert any("zz-s.yaml record 'test-statement'" in p and "status" in p for p in problems)


def test_verified_needs_who_when_and_what_was_read(kb_with_test_source: Path) -> None:
    problems = _problems(kb_with_test_source, [dict(STATEMENT, status="verified")])
    assert any("needs a verification record" in p for p in problems), problems
    elsewhere = dict(CHECKED, checked=[{"source": "other-source", "locator": "p. 3"}])
    problems = _problems(
        kb_with_test_source, [dict(STATEMENT, status="verified", verification=elsewhere)]
    )
    assert any("not cited" in p for p in problems), problems


@pytest.mark.parametrize("label", ["clinical-reference-brief", "primary-source-check", "seed"])
def test_process_labels_are_not_verifiers(kb_with_test_source: Path, label: str) -> None:
    checked = dict(CHECKED, by=label)
    problems = _problems(
        kb_with_test_source, [dict(STATEMENT, status="verified", verification=checked)]
    )
    assert any("verification.by" in p and "process label" in p for p in problems), problems


def test_a_rule_cannot_claim_more_than_it_cites(kb_with_test_source: Path) -> None:
    rule = {
        "id": "test-rule",
        "title": "Test rule",
        "kind": "alert",
        "severity": "warning",
        "when": {"present": "platelets"},
        "summary": "Test summary",
        "detail": "Test detail",
        "cites": ["test-statement"],
        "status": "verified",
    }
    (kb_with_test_source / "rules" / "zz-r.yaml").write_text(yaml.safe_dump({"rules": [rule]}))
    problems = _problems(kb_with_test_source, [STATEMENT])
    assert any(
        "zz-r.yaml record 'test-rule'" in p and "test-statement is 'draft'" in p for p in problems
    ), problems


def test_shipped_rules_and_regimens_state_the_weakest_status() -> None:
    kb = get_knowledge()
    for rule in kb.rules.values():
        assert RANK[rule.status] <= RANK[kb.status_of(rule.cites)], rule.id
    for reg in kb.regimens.values():
        assert RANK[reg.status] <= RANK[kb.status_of(reg.statements)], reg.id


def test_weakest() -> None:
    assert weakest(["verified", "approved"]) == "verified"
    assert weakest(["approved", "in_review"]) == "in_review"
    assert weakest([]) == "draft"


def test_site_approval_overrides_file_status_but_not_upwards_for_others() -> None:
    kb = get_knowledge()
    rule = next(r for r in kb.rules.values() if r.status == "verified")
    approved = dict.fromkeys(rule.cites, "approved")
    assert kb.status_of(rule.cites, approved) == "approved"
    partly = dict(approved)
    partly[rule.cites[0]] = "in_review"
    assert kb.status_of(rule.cites, partly) == "in_review"


def _status_doc() -> str:
    return (Path(__file__).resolve().parents[1] / "docs" / "knowledge-status.md").read_text()


def test_status_doc_counts_match_the_data() -> None:
    """docs/knowledge-status.md states the counts the knowledge files hold today."""
    import re
    from collections import Counter

    kb = get_knowledge()
    doc = _status_doc()
    for label, records in (
        ("Statements", kb.statements),
        ("Rules", kb.rules),
        ("Regimens", kb.regimens),
    ):
        counts = Counter(r.status for r in records.values())
        row = rf"\| {label} \| {counts['verified']} \| {counts['draft']} \| {len(records)} \|"
        assert re.search(row, doc), f"docs/knowledge-status.md: {label} row should read {row}"


def test_status_doc_lists_what_critical_and_warning_rules_cite() -> None:
    """The table of statements behind critical and warning rules is recomputed from the data."""
    import re

    kb = get_knowledge()
    cited = kb.cited_by_severity()
    assert cited and set(cited) <= set(kb.statements)
    unchecked = [sid for sid in cited if kb.statements[sid].status != "verified"]
    doc = _status_doc()
    expected = {
        "Statements cited by critical or warning rules": len(cited),
        "`verified`": len(cited) - len(unchecked),
        r"`draft` \(still to verify\)": len(unchecked),
    }
    for label, n in expected.items():
        assert re.search(rf"\| {label} \| {n} \|", doc), f"docs/knowledge-status.md: {label} = {n}"
    listed = re.search(r"^Still draft: (.*)\.$", doc, re.MULTILINE)
    assert listed, "docs/knowledge-status.md lacks the 'Still draft:' line"
    assert re.findall(r"`([a-z0-9-]+)`", listed.group(1)) == unchecked


def test_cited_by_severity_includes_suggestion_citations() -> None:
    kb = get_knowledge()
    cited = set(kb.cited_by_severity())
    for rule in kb.rules.values():
        if rule.severity in ("critical", "warning"):
            assert set(rule.cites) <= cited
            for suggestion in rule.suggestions:
                assert set(suggestion.cites) <= cited
    assert set(kb.cited_by_severity(("info",))) - cited, "info rules cite statements of their own"
