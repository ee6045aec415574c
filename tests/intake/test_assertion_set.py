"""The assertion phrase set (benchmarks/assertion/sentences.yaml, 105 sentences): LeptoGuide's ConText
reader is at least as accurate as medspaCy's committed results, and never reads a possible or
family mention as present."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from leptoguide.intake.assertion import assertion_of
from leptoguide.intake.narrative import sentences as split_sentences
from leptoguide.intake.terminology import normalize_text, term_index
from leptoguide.knowledge.loader import get_knowledge

BENCH = Path(__file__).parents[2] / "benchmarks" / "assertion"


def _category(text: str, target: str) -> str:
    index = term_index(get_knowledge())
    words = normalize_text(target).split()
    for part in split_sentences(text):
        tokens = normalize_text(part).split()
        for i in range(len(tokens)):
            if tokens[i : i + len(words)] == words:
                cues = index.context.scan(tokens, frozenset(range(i, i + len(words))))
                return assertion_of(cues, i, i + len(words), len(tokens)).category
    raise AssertionError(f"target '{target}' not in '{text}'")


def test_assertion_accuracy_not_below_medspacy_and_never_unsafe() -> None:
    gold = yaml.safe_load((BENCH / "sentences.yaml").read_text())["sentences"]
    assert len(gold) >= 100
    got = [_category(s["text"], s["target"]) for s in gold]
    right = sum(g == s["category"] for g, s in zip(got, gold, strict=True))
    medspacy = json.loads((BENCH / "results-medspacy.json").read_text())
    assert [r["text"] for r in medspacy] == [s["text"] for s in gold]
    reference = sum(r["got"] == r["gold"] for r in medspacy)
    assert right >= reference, (right, reference)
    unsafe = [
        s["text"]
        for g, s in zip(got, gold, strict=True)
        if s["category"] in ("possible", "family") and g == "present"
    ]
    assert unsafe == []
