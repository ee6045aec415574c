"""The question-answering evaluation on the shipped knowledge base meets its targets.

Runs benchmarks/qa_eval.py's scorer in lexical mode (no dense model in a test home), so it needs
neither torch nor an exported model. Skipped until the knowledge base has its statements.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from leptoguide.answer import QA
from leptoguide.knowledge.loader import KnowledgeBase

ROOT = Path(__file__).resolve().parents[1]


def _qa_eval() -> ModuleType:
    spec = importlib.util.spec_from_file_location("qa_eval", ROOT / "benchmarks" / "qa_eval.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["qa_eval"] = module
    spec.loader.exec_module(module)
    return module


def test_eval_set_shape() -> None:
    qe = _qa_eval()
    questions = qe.load_questions()
    ins = [q for q in questions if not q.get("out_of_scope") and not q.get("personal")]
    outs = [q for q in questions if q.get("out_of_scope")]
    assert len(questions) >= 200 and len(ins) >= 150 and len(outs) >= 25
    assert {q["audience"] for q in ins} == {"clinician", "patient"}
    assert any("ignore previous instructions" in q["question"].lower() for q in outs)
    assert any(q["question"].startswith("SYSTEM:") for q in outs)
    assert len({q["id"] for q in questions}) == len(questions)
    realistic = [q for q in questions if q["kind"] in ("lay", "shorthand", "typo", "follow-up")]
    assert len(realistic) >= 0.3 * len(questions)
    assert {q["split"] for q in questions} == {"dev", "test"}
    for q in ins:
        assert q["key_facts"] and q["statements"] and q["answer"], q["id"]
        assert q["kind"] in qe.KINDS, q["id"]


def test_eval_meets_targets(shipped_kb: KnowledgeBase, shipped_qa: QA) -> None:
    kb, qa = shipped_kb, shipped_qa
    if len(kb.statements) < 250:
        pytest.skip("the knowledge base does not have its statements yet")
    qe = _qa_eval()
    questions = qe.load_questions()
    known = set(kb.statements)
    for q in questions:
        assert set(q.get("statements", [])) <= known, f"{q['id']} cites unknown statements"
    dev = qe.run(kb, qa, questions, "dev", split="dev")
    test = qe.run(kb, qa, questions, "test", split="test")
    base = qe.baseline(kb, questions, split="test")
    for score in (dev, test):
        shown = score.failures if score is dev else f"{len(score.failures)} test misses"
        assert score.unresolved == 0 and score.unused == 0 and score.bad_refs == 0
        assert score.ids_shown == [], score.ids_shown
        computed = score.kinds["computed"]
        assert computed.ok == computed.n, shown
        red = score.kinds["red-flag"]
        assert red.lead_ok == red.n, shown
    # The targets on the held-out test split. Where a target is not yet met the test
    # asserts the measured floor, one question below the measurement (docs/qa.md "Evaluation
    # results" states the gap). Measured on 2026-12-03: every key fact 0.916 (target 0.95),
    # out-of-scope abstained 1.0 (18 of 18; target met), wrongly abstained 0 (target met), first
    # sentence answers 0.795 (target 0.90).
    # (the held-out test split is reported in aggregate only: its misses are never itemised)
    assert test.wrongly_abstained <= 0.03, "test split: in-scope wrongly abstained above 0.03"
    assert test.unresolved == 0
    assert test.abstain_recall >= 0.98, "test split: out-of-scope abstained below 0.98"
    assert test.accuracy >= 0.90, "test split: key-fact accuracy below the floor"
    assert test.lead_rate >= 0.78, "test split: first-sentence rate below the floor"
    # dev grew on 2026-12-03 by loosely worded in-scope questions (measured 0.957 and 0.906;
    # abstention precision 1.0, recall 0.983, none wrongly abstained); after the lay-question
    # round the same day 0.971 and 0.932, and so after the clinician first-sentence round
    assert dev.accuracy >= 0.96 and dev.lead_rate >= 0.92, dev.failures
    assert dev.abstain_recall >= 0.98, dev.failures
    assert dev.wrongly_abstained <= 0.01, dev.failures
    assert test.accuracy > base.accuracy


def test_second_held_out_set(shipped_kb: KnowledgeBase, shipped_qa: QA) -> None:
    """The second held-out set (eval/heldout-2026-12.yaml, written by another author): citations
    resolve, every warning sign leads with urgent care, and the floors hold (measured on
    2026-12-03 as written: key facts 0.833, first sentence 0.679, out-of-scope abstained 0.958,
    6 of 89 in-scope questions wrongly abstained; after the gate and vocabulary changes: 0.917,
    0.726, 1.0 and 1 of 89; docs/qa.md "Second held-out set")."""
    kb, qa = shipped_kb, shipped_qa
    qe = _qa_eval()
    questions = qe.load_questions(Path(__file__).parents[1] / "eval" / "heldout-2026-12.yaml")
    assert len(questions) >= 100
    for q in questions:
        assert set(q.get("statements", [])) <= set(kb.statements), q["id"]
    score = qe.run(kb, qa, questions, "second held-out")
    assert score.unresolved == 0 and score.unused == 0 and score.bad_refs == 0
    assert score.ids_shown == []
    red = score.kinds["red-flag"]
    assert red.lead_ok == red.n, score.failures
    computed = score.kinds["computed"]  # every computed question right, its lead included
    assert computed.ok == computed.n and computed.lead_ok == computed.n, score.failures
    # (after the clinician first-sentence round: key facts 0.929, first sentence 0.798)
    assert score.accuracy >= 0.91, score.failures
    assert score.lead_rate >= 0.78, score.failures
    assert score.abstain_recall >= 0.98, score.failures
    assert score.wrongly_abstained <= 0.025, score.failures


def test_third_development_set_floors(shipped_kb: KnowledgeBase, shipped_qa: QA) -> None:
    """The third development set (eval/dev-2026-12b.yaml, written by another author): citations
    resolve, out-of-scope questions stay declined and the
    floors hold (as written on 2026-12-03: key facts 0.843, first sentence 0.745, 4 of 102
    in-scope questions wrongly abstained; after the gate and vocabulary changes 0.873, 0.784,
    1 of 102; after the lay-question round 0.902, 0.824, 1 of 102)."""
    kb, qa = shipped_kb, shipped_qa
    qe = _qa_eval()
    questions = qe.load_questions(Path(__file__).parents[1] / "eval" / "dev-2026-12b.yaml")
    score = qe.run(kb, qa, questions, "third dev set")
    assert score.unresolved == 0 and score.unused == 0 and score.bad_refs == 0
    assert score.ids_shown == []
    # (after the clinician first-sentence round: key facts 0.902, first sentence 0.833)
    assert score.accuracy >= 0.89, score.failures
    assert score.lead_rate >= 0.82, score.failures
    assert score.abstain_recall >= 0.98, score.failures
    assert score.wrongly_abstained <= 0.02, score.failures


@pytest.mark.parametrize(
    ("name", "accuracy", "lead_rate", "abstain_recall", "wrongly_abstained"),
    [
        # measured on 2026-12-03 after the lay-question round: 0.925, 0.812, 1.0, 1 of 84; after
        # the clinician first-sentence round first sentence 0.825; with "how big" and "how much
        # fluid" read as size and amount, both rounds landed: 0.950, 0.850
        ("dev-2026-12c.yaml", 0.93, 0.82, 0.98, 0.02),
        # as written 0.784, 0.581, 2 of 3, 6 of 77; after the round 0.838, 0.662, 2 of 3, 2 of 77
        ("dev-2026-12d.yaml", 0.82, 0.64, 0.66, 0.04),
    ],
)
def test_later_development_set_floors(
    shipped_kb: KnowledgeBase,
    shipped_qa: QA,
    name: str,
    accuracy: float,
    lead_rate: float,
    abstain_recall: float,
    wrongly_abstained: float,
) -> None:
    """The fourth and fifth development sets (dev split): citations resolve, warning signs lead
    with urgent care, and the floors hold, one question below the measurement."""
    kb, qa = shipped_kb, shipped_qa
    qe = _qa_eval()
    questions = qe.load_questions(Path(__file__).parents[1] / "eval" / name)
    score = qe.run(kb, qa, questions, name, split="dev")
    assert score.unresolved == 0 and score.unused == 0 and score.bad_refs == 0
    assert score.ids_shown == []
    red = score.kinds["red-flag"]
    assert red.lead_ok == red.n, score.failures
    assert score.accuracy >= accuracy, score.failures
    assert score.lead_rate >= lead_rate, score.failures
    assert score.abstain_recall >= abstain_recall, score.failures
    assert score.wrongly_abstained <= wrongly_abstained, score.failures


def test_third_development_set_loads(shipped_kb: KnowledgeBase) -> None:
    """The third development set (eval/dev-2026-12b.yaml) is well formed: unique ids that do not
    clash with the other question files, every cited statement exists, follow-ups name an earlier
    question, every question is dev, and each kind carries the fields its scoring reads."""
    kb = shipped_kb
    qe = _qa_eval()
    evals = Path(__file__).parents[1] / "eval"
    questions = qe.load_questions(evals / "dev-2026-12b.yaml")
    assert len(questions) >= 120
    ids = [q["id"] for q in questions]
    assert len(set(ids)) == len(ids)
    others = {q["id"] for q in qe.load_questions()} | {
        q["id"] for q in qe.load_questions(evals / "heldout-2026-12.yaml")
    }
    assert not set(ids) & others
    for i, q in enumerate(questions):
        assert q["split"] == "dev", q["id"]
        assert q["kind"] in qe.KINDS, q["id"]
        assert q["audience"] in ("clinician", "patient"), q["id"]
        assert set(q.get("statements", [])) <= set(kb.statements), q["id"]
        if q.get("follow_up_of"):
            assert q["follow_up_of"] in ids[:i], q["id"]
        if q["kind"] in ("out-of-scope", "injection"):
            assert q.get("out_of_scope") is True and not q.get("key_facts"), q["id"]
        elif q["kind"] == "personal":
            assert q.get("personal") is True and not q.get("key_facts"), q["id"]
        else:
            assert q["key_facts"] and q["statements"] and q["answer"], q["id"]
        assert bool(q.get("computed")) == (q["kind"] == "computed"), q["id"]
        assert bool(q.get("red_flag")) == (q["kind"] == "red-flag"), q["id"]
    assert any(q["question"].startswith("SYSTEM:") for q in questions)
