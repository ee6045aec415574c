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

from leptoguide.answer import QA, Options
from leptoguide.knowledge.loader import load_knowledge

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


def test_eval_meets_targets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEPTOGUIDE_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("LEPTOGUIDE_LLM_URL", raising=False)
    kb = load_knowledge(check_readability=False)
    if len(kb.statements) < 250:
        pytest.skip("the knowledge base does not have its statements yet")
    qe = _qa_eval()
    questions = qe.load_questions()
    known = set(kb.statements)
    for q in questions:
        assert set(q.get("statements", [])) <= known, f"{q['id']} cites unknown statements"
    qa = QA(kb, Options(dense=False, use_llm=False, use_store=False, persist=False))
    score = qe.run(kb, qa, questions, "lexical")
    base = qe.baseline(kb, questions)
    assert score.unresolved == 0 and score.unused == 0 and score.bad_refs == 0
    assert score.abstain_recall >= 0.97, score.failures
    # 0.88, not 0.9: since the honest status migration (issue 12) 43 statements that rested only on
    # secondary reports, abstracts not covering the cited passage or unconfirmed sources are draft,
    # and the composer leads with checked statements; measured 0.893. Verifying them raises it.
    assert score.accuracy >= 0.88, score.failures
    assert score.wrongly_abstained <= 0.05, score.failures
    assert score.accuracy > base.accuracy
    computed = score.kinds["computed"]
    assert computed.ok == computed.n, score.failures
    red = score.kinds["red-flag"]
    assert red.lead_ok == red.n, score.failures
