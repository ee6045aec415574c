"""When to say "I don't know": scope, instructions in the question, and weak evidence.

Three gates, in order:

1. Instructions addressed to the system ("ignore previous instructions", "you are now ...") make the
   text an out-of-scope question. Nothing in a question is ever obeyed.
2. Scope: the question (with its conversation context) must name something from LeptoGuide's domain:
   a scope word below, or a terminology concept (drug, procedure, device, route, search term, or one
   of the scope conditions). "Treatment of breast cancer" alone is not in scope.
3. Evidence: the best statements must cover enough of the question's idf-weighted content words
   (a word the knowledge base has never seen weighs most). An optional floor on the best dense
   cosine exists but is off: it changed nothing on the evaluation set. Thresholds were tuned on the
   dev half of eval/questions.yaml (docs/qa.md).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

from leptoguide.answer.expand import Lexicon
from leptoguide.answer.retrieve import Retrieval, Retriever, coverage
from leptoguide.answer.text import content_tokens, tokens

# Words that place a question inside the scope: leptomeningeal disease and its differential
# (bacterial, TB and cryptococcal meningitis, neurosarcoidosis), LP safety and spinal infection.
SCOPE_WORDS = frozenset(
    [
        "leptomeningeal",
        "leptomeninges",
        "leptomeningitis",
        "meninges",
        "meningeal",
        "meningitis",
        "meningitides",
        "meningism",
        "meningismus",
        "carcinomatosis",
        "carcinomatous",
        "lmd",
        "lm",
        "lc",
        "lmc",
        "csf",
        "cerebrospinal",
        "lp",
        "lumbar",
        "intrathecal",
        "intraventricular",
        "ommaya",
        "reservoir",
        "shunt",
        "hydrocephalus",
        "cytology",
        "neuraxis",
        "craniospinal",
        "subarachnoid",
        "tuberculous",
        "tuberculosis",
        "tb",
        "tbm",
        "cryptococcal",
        "cryptococcus",
        "cryptococcosis",
        "crag",
        "sarcoidosis",
        "neurosarcoidosis",
        "sarcoid",
        "discitis",
        "spondylodiscitis",
        "osteomyelitis",
        "epidural",
        "spine",
        "spinal",
        "vertebral",
        "rano",
        "eano",
        "esmo",
        "nccn",
        "karnofsky",
        "kps",
        "ecog",
        "arachnoiditis",
        "leukoencephalopathy",
        "pleocytosis",
        "xanthochromia",
        "meningococcal",
        "pneumococcal",
        "listeria",
        "meningococcus",
        "pneumococcus",
    ]
)
SCOPE_PHRASES = (("spinal", "tap"), ("lumbar", "puncture"), ("opening", "pressure"))
SCOPE_CONCEPT_KINDS = frozenset({"medication", "procedure", "device", "route", "term"})
SCOPE_CONDITIONS = frozenset(
    {
        "leptomeningeal-metastasis",
        "meningitis",
        "bacterial-meningitis",
        "tuberculous-meningitis",
        "cryptococcal-meningitis",
        "neurosarcoidosis",
        "hydrocephalus",
        "cauda-equina",
    }
)

_INSTRUCTION = re.compile(
    r"\b(ignore|disregard|forget|override|bypass)\b[^.?!]{0,40}\b(instruction|instructions|rules?|"
    r"prompt|guidelines?|previous|above|prior|system)\b"
    r"|\b(system|developer)\s+prompt\b|\byou\s+are\s+now\b|\bact\s+as\b|\bpretend\s+(to\s+be|you)\b"
    r"|\bjailbreak\b|\bdo\s+anything\s+now\b|\bnew\s+instructions?\b|\breveal\s+your\b"
    r"|\brole[- ]?play\b|<\s*/?\s*(system|assistant|instructions?)\s*>",
    re.IGNORECASE,
)

REASON_INSTRUCTIONS = (
    "The question contains instructions addressed to the system. LeptoGuide does not follow such "
    "instructions; it answers questions about leptomeningeal disease and its differential diagnosis."
)
REASON_EMPTY = "The question has no clinical content to look up."
REASON_SCOPE = (
    "The question is outside LeptoGuide's scope: leptomeningeal disease and its differential "
    "(bacterial, tuberculous and cryptococcal meningitis, neurosarcoidosis), lumbar puncture safety "
    "and spinal infection."
)
REASON_WEAK = (
    "The knowledge base has no statement that answers this question well enough, so LeptoGuide "
    "does not answer it."
)


@dataclass(frozen=True)
class AbstainConfig:
    min_coverage: float = 0.5
    min_cosine: float = 0.0
    min_passage_coverage: float = 0.7


@dataclass
class Verdict:
    abstain: bool
    reason: str | None
    confidence: float
    features: dict[str, float] = field(default_factory=dict)


def has_instructions(text: str) -> bool:
    return bool(_INSTRUCTION.search(text))


def scope_hits(text: str, lexicon: Lexicon, jargon: frozenset[str] = frozenset()) -> list[str]:
    """Words, phrases and concepts in ``text`` that belong to LeptoGuide's domain.

    ``jargon``: the knowledge base's technical words (see index.jargon_terms).
    """
    toks = tokens(text)
    found = [t for t in toks if t in SCOPE_WORDS or t in jargon]
    pairs = set(itertools.pairwise(toks))
    found += [" ".join(p) for p in SCOPE_PHRASES if p in pairs]
    for phrase in lexicon.find(text):
        kind = lexicon.kinds.get(phrase.concept)
        if kind in SCOPE_CONCEPT_KINDS or phrase.concept in SCOPE_CONDITIONS:
            found.append(phrase.concept)
    return list(dict.fromkeys(found))


def judge(
    question: str,
    query: str,
    retrieval: Retrieval,
    retriever: Retriever,
    config: AbstainConfig | None = None,
) -> Verdict:
    """Decide whether to answer. ``query`` is the question with its conversation context."""
    config = config or AbstainConfig()
    terms = content_tokens(query)
    feats: dict[str, float] = {"terms": float(len(terms))}
    if has_instructions(question):
        return Verdict(True, REASON_INSTRUCTIONS, 0.0, feats)
    if not terms:
        return Verdict(True, REASON_EMPTY, 0.0, feats)
    scope = scope_hits(query, retriever.lexicon, retriever.index.jargon)
    feats["scope"] = float(len(scope))
    if not scope:
        return Verdict(True, REASON_SCOPE, 0.0, feats)
    top = retrieval.statements[:3]
    alts = retrieval.expansion.alternatives if retriever.config.alternatives else {}
    cov = coverage(retriever.index, terms, [h.rowid for h in top], alts) if top else 0.0
    cos = max((h.cosine or 0.0 for h in top), default=0.0)
    feats["coverage"] = round(cov, 4)
    feats["cosine"] = round(cos, 4)
    pcov = max((h.coverage for h in retrieval.passages[:3]), default=0.0)
    feats["passage_coverage"] = round(pcov, 4)
    statements_ok = cov >= config.min_coverage and (
        not retrieval.dense_used or cos >= config.min_cosine
    )
    passages_ok = pcov >= config.min_passage_coverage
    if not statements_ok and not passages_ok:
        return Verdict(True, REASON_WEAK, round(cov * 0.5, 2), feats)
    confidence = cov if not retrieval.dense_used else 0.6 * cov + 0.4 * min(1.0, cos / 0.7)
    if not statements_ok:
        confidence = min(confidence, 0.4)
    return Verdict(False, None, round(min(confidence, 1.0), 2), feats)
