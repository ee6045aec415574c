"""The question sets written after the third development set are well formed.

eval/dev-2026-12c.yaml, eval/dev-2026-12d.yaml and eval/dev-2026-12e.yaml are development sets;
eval/heldout-2026-12c.yaml, eval/heldout-2026-12d.yaml and eval/heldout-2026-12e.yaml are held out
(split: test): they are never tuned on and are scored in aggregate only.

Loading checks only (nothing is scored here): ids are unique and do not clash with the other
question files, every cited statement exists, follow-ups name an earlier question of the same
file, the split is the file's, each kind carries the fields its scoring reads, and the mix of
kinds is the one the set was written to.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from leptoguide.knowledge.loader import KnowledgeBase
from test_answer_eval import _qa_eval

EVAL = Path(__file__).resolve().parents[1] / "eval"

# file -> (id prefix, split, counts by kind)
SETS: dict[str, tuple[str, str, dict[str, int]]] = {
    "dev-2026-12c.yaml": (
        "d3-",
        "dev",
        {
            "lay": 25,
            "shorthand": 15,
            "typo": 10,
            "follow-up": 10,
            "computed": 15,
            "red-flag": 5,
            "personal": 4,
            "out-of-scope": 6,
        },
    ),
    "dev-2026-12d.yaml": (
        "d4-",
        "dev",
        {
            "lay": 40,
            "shorthand": 8,
            "typo": 10,
            "follow-up": 6,
            "computed": 6,
            "red-flag": 4,
            "personal": 3,
            "out-of-scope": 3,
        },
    ),
    "dev-2026-12e.yaml": (
        "e5-",
        "dev",
        {
            "lay": 28,
            "shorthand": 17,
            "typo": 10,
            "follow-up": 11,
            "computed": 17,
            "red-flag": 5,
            "personal": 5,
            "out-of-scope": 7,
        },
    ),
    "heldout-2026-12c.yaml": (
        "h4-",
        "test",
        {
            "lay": 28,
            "shorthand": 17,
            "typo": 11,
            "follow-up": 11,
            "computed": 17,
            "red-flag": 5,
            "personal": 4,
            "out-of-scope": 7,
        },
    ),
    "heldout-2026-12d.yaml": (
        "h5-",
        "test",
        {
            "lay": 28,
            "shorthand": 17,
            "typo": 10,
            "follow-up": 11,
            "computed": 17,
            "red-flag": 5,
            "personal": 5,
            "out-of-scope": 7,
        },
    ),
    "heldout-2026-12e.yaml": (
        "h6-",
        "test",
        {
            "lay": 28,
            "shorthand": 17,
            "typo": 10,
            "follow-up": 11,
            "computed": 17,
            "red-flag": 5,
            "personal": 5,
            "out-of-scope": 7,
        },
    ),
}


def _load(path: Path) -> list[dict[str, Any]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return list(data["questions"])


def _other_ids(name: str) -> set[str]:
    ids: set[str] = set()
    for path in sorted(EVAL.glob("*.yaml")):
        if path.name != name:
            ids |= {str(q["id"]) for q in _load(path)}
    return ids


@pytest.mark.parametrize("name", sorted(SETS))
def test_question_set_loads(name: str, shipped_kb: KnowledgeBase) -> None:
    prefix, split, counts = SETS[name]
    questions = _load(EVAL / name)
    ids = [str(q["id"]) for q in questions]
    assert len(set(ids)) == len(ids), "duplicate ids"
    assert not set(ids) & _other_ids(name), "ids clash with another question file"
    assert Counter(str(q["kind"]) for q in questions) == Counter(counts)
    known = set(shipped_kb.statements)
    kinds = _qa_eval().KINDS  # the kinds the scorer reports
    for i, q in enumerate(questions):
        qid = str(q["id"])
        assert qid.startswith(prefix), qid
        assert q["split"] == split, qid
        assert q["kind"] in kinds, qid
        assert q["audience"] in ("clinician", "patient"), qid
        assert str(q["question"]).strip(), qid
        assert set(q.get("statements", [])) <= known, f"{qid} cites unknown statements"
        if q.get("follow_up_of"):
            assert q["kind"] == "follow-up", qid
            assert q["follow_up_of"] in ids[:i], qid
        else:
            assert q["kind"] != "follow-up", qid
        if q["kind"] in ("out-of-scope", "injection"):
            assert q.get("out_of_scope") is True and not q.get("key_facts"), qid
        elif q["kind"] == "personal":
            assert q.get("personal") is True and not q.get("key_facts"), qid
        else:
            assert q["key_facts"] and q["statements"] and q["answer"], qid
            assert all(str(f).strip() for f in q["key_facts"]), qid
        assert bool(q.get("computed")) == (q["kind"] == "computed"), qid
        assert bool(q.get("red_flag")) == (q["kind"] == "red-flag"), qid
