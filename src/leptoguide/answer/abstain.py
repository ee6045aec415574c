"""When to say "I don't know", and why: instructions, scope, personal questions, weak evidence.

Gates, in order:

1. Instructions addressed to the system ("ignore previous instructions", "SYSTEM: ...", "you are
   now ...") make the text an out-of-scope question. Nothing in a question is ever obeyed.
2. Scope: the question (with its conversation context) must name something from LeptoGuide's
   domain: a scope term or a scope concept from the question vocabulary
   (``data/terminology/questions.yaml``), or a technical word of the knowledge base.
3. Personal questions ("do I have LM?", "how long does my mother have?") are declined kindly: the
   answer says who can answer them and what to ask, with general information where it helps.
4. Words no statement uses: a technical word of the question that no statement uses declines
   it when it is the topic (a disease, tumour or operation: "ependymomas"; or most of the
   question); otherwise the rest of the question is weighed, and the answer names the word as
   not covered, with capped confidence ("a bedbound patient with LM ...").
5. Topics next to the domain (vocabulary role 'outside': "labour", "croup", "atrial
   fibrillation"): answered only when a statement names the topic and covers the question; when
   the question also names the domain and asks what the engine computes, the topic may be
   context ("apixaban for AF: hold before LP?").
6. Evidence: the best statements must cover enough of the question's topic words: its content
   words after shorthand is read, misspellings corrected, and everyday words ("among", "65-year-
   old") and numbers set aside. A word the knowledge base has never seen weighs most, so
   "ceftriaxone dose for gonorrhoea" stops here. The threshold is a named setting
   (``AbstainConfig.min_coverage``), tuned on the dev split of eval/questions.yaml (docs/qa.md).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from leptoguide.answer.expand import Lexicon
from leptoguide.answer.retrieve import Hit, Retrieval, Retriever, coverage, idf
from leptoguide.answer.settings import SETTINGS
from leptoguide.answer.text import tokens
from leptoguide.answer.vocabulary import QuestionVocabulary, Understanding

_INSTRUCTION = re.compile(
    r"\b(ignore|disregard|forget|override|bypass)\b[^.?!]{0,40}\b(instruction|instructions|rules?|"
    r"prompt|guidelines?|previous|above|prior|system)\b"
    r"|\b(system|developer)\s+prompt\b|\byou\s+are\s+now\b|\bact\s+as\b|\bpretend\s+(to\s+be|you)\b"
    r"|\bjailbreak\b|\bdo\s+anything\s+now\b|\bnew\s+instructions?\b|\breveal\s+your\b"
    r"|\brole[- ]?play\b|<\s*/?\s*(system|assistant|instructions?)\s*>"
    r"|(^|[\n.!?]\s*)\s*\[?(system|assistant|developer|user)\]?\s*:"
    r"|#{2,}\s*(instruction|system|response)|\[/?inst\]|<\|im_(start|end)\|>"
    r"|\bdeveloper\s+mode\b|\bfrom\s+now\s+on\b|\b(respond|reply|answer)\s+only\s+(with|in)\b"
    r"|\bforget\s+(everything|all|what)\b|\byou\s+(must|will)\s+(now\s+)?(always|never|only)\b"
    r"|\bdo\s+not\s+(cite|follow|mention\s+(the\s+)?(sources?|citations?))\b"
    r"|(^|[\n.!?]\s*)[\s#>*\-_=|]*\[?(system|admin|administrator|developer|root|sudo|operator)"
    r"\s+(override|message|note|instruction|mode|command|access)s?\]?\s*:"
    r"|\b(admin|administrator|developer|root|sudo|god|debug|maintenance)\s+(override|mode|access)\b"
    r"|\b(citations?|sources?|references?|abstentions?|abstaining|safety(\s+checks?)?|guardrails?"
    r"|filters?|rules?|restrictions?)\s*(:|=)?\s*(off|disabled|false|none)\b"
    r"|\b(reply|respond|answer|say|output|print)\s+(only|just)\s*[:'\"\u2018\u201c]"
    r"|\b(reply|respond|answer)\s+(only|just)\s+(yes|no|ok)\b"
    r"|\b(rules?|instructions?|messages?|orders?)\s+from\s+(your|the)\s+(developers?|admins?|"
    r"administrators?|creators?|owners?|makers?|system)\b"
    r"|\bnever\s+(cite|abstain|refuse|decline)\b|\balways\s+answer\b"
    r"|\b(print|reveal|output|repeat|dump|show|display)\s+(me\s+)?(your|the\s+(full|whole|entire|"
    r"hidden|system|internal|original))\s+([\w-]+\s+){0,3}(configuration|config|prompt|instructions"
    r"|policy\s+file)\b"
    r"|\b(note|message|instructions?)\s+(to|for)\s+(the\s+)?(ai|assistant|model|bot|llm|chatbot)\b"
    r"|\bfrom\s+(this|here)\s+(point|moment)\b|\bfor\s+(this|the\s+rest\s+of\s+(this|the))\s+"
    r"(session|conversation|chat)\b"
    r"|\b(answer|respond|reply)\s+without\s+(any\s+)?(sources?|citations?|references?)\b"
    r"|\b(citations?|sources?|safety\s+checks?|rules?|filters?)\s+(are|is)\s+(now\s+)?"
    r"(disabled|off|turned\s+off|removed)\b"
    r"|<\s*/?\s*(question|prompt|context|user|instructions?)\s*>",
    re.IGNORECASE,
)

REASON_INSTRUCTIONS = (
    "The question contains instructions addressed to the system. LeptoGuide does not follow such "
    "instructions; it answers questions about leptomeningeal disease and its differential diagnosis. "
    "Ask your question again without them."
)
REASON_EMPTY = "The question has no clinical content to look up."
REASON_SCOPE = (
    "The question is outside LeptoGuide's scope: leptomeningeal disease and its differential "
    "(bacterial, tuberculous and cryptococcal meningitis, neurosarcoidosis), lumbar puncture safety "
    "and spinal infection."
)
REASON_OUTSIDE = (
    "The question is about “{topic}”, which LeptoGuide does not cover. LeptoGuide answers questions "
    "about leptomeningeal disease and its differential (bacterial, tuberculous and cryptococcal "
    "meningitis, neurosarcoidosis), lumbar puncture safety and spinal infection."
)
REASON_UNKNOWN = (
    "LeptoGuide's knowledge base has no statement about {words}, so it does not answer this "
    "question."
)
REASON_WEAK = (
    "The knowledge base has no statement that answers this question well enough, so LeptoGuide "
    "does not answer it."
)
REASON_PATIENT = {
    "out-of-scope": (
        "LeptoGuide only answers questions about cancer in the linings of the brain and spine "
        "(LM), meningitis, spinal taps and spine infections. Your question is about something "
        "else, so it cannot help with it. Your doctor or nurse can."
    ),
    "unsupported": (
        "LeptoGuide could not find anything it can rely on to answer this. You could ask it in "
        "other words, or ask your care team."
    ),
    "empty": "LeptoGuide did not find a question to look up. Please ask it in a few words.",
    "instructions": (
        "Your message tells LeptoGuide what to do. It does not follow such commands. Please ask "
        "your question on its own."
    ),
}
"""Abstention reasons in plain words for patients (reading grade 8 or below; tested)."""
REASON_PERSONAL = {
    "clinician": (
        "This asks for a judgement about one person (a diagnosis, a prognosis or a treatment "
        "decision). LeptoGuide gives the evidence and computes from values you provide; the "
        "judgement stays with the treating team."
    ),
    "patient": (
        "This is an important question, and it is about you or someone close to you. LeptoGuide "
        "cannot examine anyone or know their full story, so it cannot answer it for one person. "
        "The care team can, and it is fine to ask them directly."
    ),
}
SUGGESTIONS = {
    "clinician": [
        "What platelet count is needed before a lumbar puncture?",
        "What is the ceftriaxone dose for adult bacterial meningitis?",
        "Is an LP safe with low platelets? (add the count to compute it)",
        "How long is tuberculous meningitis treated?",
    ],
    "patient": [
        "What is leptomeningeal metastasis?",
        "What happens during a spinal tap?",
        "What questions should I ask my care team?",
        "What is an Ommaya reservoir?",
    ],
}
"""Questions offered after an abstention, so the conversation can go on (no clinical claims)."""


@dataclass(frozen=True)
class AbstainConfig:
    """Named answering settings (docs/qa.md "Settings")."""

    min_coverage: float = 0.3
    """Evidence gate: share of the question's idf-weighted topic words the top statements cover."""
    min_coverage_unanchored: float = 0.8
    """Evidence gate when only a drug, route, procedure or device places the question in scope
    (a drug has uses outside the domain): the best single statement must cover this much. Chosen
    on dev: such in-scope questions lie at 1.0, the out-of-scope ones at 0.75 or less."""
    min_cosine: float = 0.0
    """Dense gate (only with a dense model): floor on the best cosine; 0 = off."""
    min_passage_coverage: float = 0.7
    """Ingested passages are shown only above this coverage."""
    coverage_top: int = 3
    """How many top statements the evidence gate looks at together."""
    min_support_unscoped: int = 2
    """...and the rarest of its topic words must occur in at least this many statements: one
    mention is not evidence that the knowledge base covers the topic ("what helps sciatica pain
    going down my leg?" meets one LM statement that names sciatica)."""
    known_share_around: float = 0.75
    """A question with words no statement uses is answered from the rest of it only when the
    rest holds at least this share of its topic words (one unknown word among four or more)."""
    outside_pool: int = 5
    """A question naming a topic outside the domain (vocabulary role 'outside') is answered only
    when one of this many top statements names that topic and covers ``min_coverage_unanchored``
    of the question."""
    min_terms_unscoped: int = 3
    """A question that names nothing of the domain (no scope word, concept or technical word:
    "should I tell the nurses if my symptoms get better or worse?") is still answered when one
    statement covers ``min_coverage_unanchored`` of its topic words and it has at least this many
    topic words: the evidence, not a word list, places it in the domain. Chosen on dev: such
    in-scope questions reach 1.0 with 3 words; out-of-scope ones stay at 0.56 or less."""

    def __post_init__(self) -> None:
        for name in (
            "min_coverage",
            "min_coverage_unanchored",
            "min_cosine",
            "min_passage_coverage",
            "known_share_around",
        ):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"answer setting {name}: must be between 0 and 1, got {value}")
        if self.min_support_unscoped < 1:
            raise ValueError(
                "answer setting min_support_unscoped: must be 1 or more, got "
                f"{self.min_support_unscoped}"
            )
        if self.min_terms_unscoped < 1:
            raise ValueError(
                f"answer setting min_terms_unscoped: must be 1 or more, got {self.min_terms_unscoped}"
            )
        if self.outside_pool < 1:
            raise ValueError(
                f"answer setting outside_pool: must be 1 or more, got {self.outside_pool}"
            )
        if self.coverage_top < 1:
            raise ValueError(
                f"answer setting coverage_top: must be 1 or more, got {self.coverage_top}"
            )


@dataclass
class Verdict:
    abstain: bool
    reason: str | None
    confidence: float
    features: dict[str, float] = field(default_factory=dict)
    kind: str | None = None
    """Why: instructions, empty, out-of-scope, personal or unsupported."""
    not_covered: list[str] = field(default_factory=list)
    """Words of an answered question that no statement uses: the answer names them."""


def is_scope_word(token: str, words: frozenset[str]) -> bool:
    """``token`` is a scope word or one of its word forms ("intrathecally", "lumbar's"): a scope
    word of six letters or more followed by up to three letters."""
    if token in words:
        return True
    return any(token[:n] in words for n in range(max(6, len(token) - 3), len(token)))


def has_instructions(text: str) -> bool:
    return bool(_INSTRUCTION.search(text))


def scope_hits(
    text: str,
    lexicon: Lexicon,
    vocab: QuestionVocabulary,
    jargon: frozenset[str] = frozenset(),
) -> list[str]:
    """Words, phrases and concepts in ``text`` that belong to LeptoGuide's domain.

    ``jargon``: the knowledge base's technical words (see index.jargon_terms).
    """
    toks = tokens(text)
    found = [t for t in toks if is_scope_word(t, vocab.scope_words) or t in jargon]
    for phrase in vocab.find(text):
        if vocab.entries[phrase.concept].role == "scope":
            found.append(" ".join(phrase.words).lower())
    for phrase in lexicon.find(text):
        kind = lexicon.kinds.get(phrase.concept)
        if kind in vocab.scope_kinds or phrase.concept in vocab.scope_concepts:
            found.append(phrase.concept)
    return list(dict.fromkeys(found))


def anchored(
    text: str,
    lexicon: Lexicon,
    vocab: QuestionVocabulary,
    jargon: frozenset[str] = frozenset(),
) -> bool:
    """Whether ``text`` names the domain itself (a condition, test, place or technical word of
    the knowledge base), not only a drug, route, procedure or device, which have uses elsewhere."""
    kind_words = {
        w.lower()
        for phrase in lexicon.find_all(text)  # every concept a phrase names, overlaps included
        if (
            lexicon.kinds.get(phrase.concept) in vocab.scope_kinds
            or lexicon.kinds.get(phrase.concept) == "variant"  # general word forms: radiotherapy
        )
        and phrase.concept not in vocab.scope_concepts
        for w in phrase.words
    }
    for t in tokens(text):
        if is_scope_word(t, vocab.scope_words) or (t in jargon and t not in kind_words):
            return True
    for phrase in vocab.find(text):
        if vocab.entries[phrase.concept].role == "scope":
            return True
    return any(phrase.concept in vocab.scope_concepts for phrase in lexicon.find(text))


def _support(retriever: Retriever, terms: list[str]) -> int:
    """In how many statements the question's heaviest (rarest) topic word occurs."""
    if not terms:
        return 0
    return min(len(retriever.index.postings(t)) for t in terms)


def is_code(token: str) -> bool:
    """A code of letters and digits ("6HRZEto", "2HRZE", "HER2", a trial number), not a number
    with its unit ("10mg", "48h"): three letters or more and a digit."""
    return any(ch.isdigit() for ch in token) and sum(ch.isalpha() for ch in token) >= 3


def topic_terms(
    und: Understanding,
    query: str,
    vocab: QuestionVocabulary,
    known: Callable[[str], bool] | None = None,
) -> list[str]:
    """The words the evidence gate weighs: content words, minus everyday words, numbers and
    shorthand already read as its meaning. A code of letters and digits counts as a word when
    ``known`` (the knowledge base uses it: "6HRZEto doses per kg?")."""
    from leptoguide.answer.text import content_tokens

    written = {w for wrote, _ in und.meanings for w in tokens(wrote)}
    means = {w for _, m in und.meanings for w in tokens(m)}
    return [
        t
        for t in content_tokens(query)
        if t not in vocab.fillers
        and not (len(t) > 3 and t.endswith("s") and t[:-1] in vocab.fillers)  # "dads", "mums"
        and len(t) > 1
        and (not any(ch.isdigit() for ch in t) or (known is not None and is_code(t) and known(t)))
        and (t not in written or t in means)
    ]


def unknown_words(terms: list[str], retriever: Retriever, vocab: QuestionVocabulary) -> list[str]:
    """Technical words of the question that the knowledge base never uses: 5 letters or more,
    in no statement (nor the other names of its concepts), not ordinary English (the CMU
    dictionary) and not a word of the question vocabulary or the terminology. A question about
    "medulloblastoma" or "pyelonephritis" names a topic no statement covers, however well its
    other words are covered."""
    from leptoguide.answer.index import english_words

    english = english_words()
    known = vocab.known_words | vocab.term_words | vocab.fillers | retriever.lexicon_words
    technical = retriever.index.jargon | retriever.lexicon_words
    return [
        t
        for t in terms
        if len(t) >= 5
        and t.isalpha()
        and t not in english
        and not (t.endswith("n") and t[:-1] in english)  # "wouldn" of "wouldn't"
        and t not in known
        and not retriever.index.postings(t)
        and not any(w.startswith(t) for w in technical)  # shortened: "pembro", "osimert"
    ]


TOPIC_ENDINGS = (
    "oma",
    "omas",
    "itis",
    "osis",
    "oses",
    "emia",
    "aemia",
    "algia",
    "pathy",
    "ectomy",
    "ostomy",
    "otomy",
    "plasty",
)
"""Endings of words that name a disease, a tumour or an operation: such a word no statement uses
is the topic of the question ("ependymomas", "pyelonephritis"), not a detail of it."""


def answers_around(unknown: list[str], known: list[str], config: AbstainConfig) -> bool:
    """Whether a question with words no statement uses is answered from the rest of it.

    It is when none of those words names a disease, tumour or operation (the question would be
    about that) and the rest is a question of its own: at least ``min_terms_unscoped`` topic
    words, at least ``known_share_around`` of them. The evidence gate then weighs the rest (one
    statement must cover nearly all of it when only a drug or procedure places it in scope)."""
    if any(w.endswith(TOPIC_ENDINGS) for w in unknown):
        return False
    if len(known) < config.min_terms_unscoped:
        return False
    return len(known) >= config.known_share_around * (len(known) + len(unknown))


def everyday_unseen(terms: list[str], retriever: Retriever, vocab: QuestionVocabulary) -> list[str]:
    """Ordinary English words of the question (the CMU dictionary) that no statement uses and
    the vocabulary does not read ("awake", "dreading", "heard")."""
    from leptoguide.answer.index import english_words

    english = english_words()
    return [
        t
        for t in terms
        if (t in english or (t.endswith("n") and t[:-1] in english))
        and not retriever.index.postings(t)
        and t not in vocab.known_words
        and t not in vocab.term_words
    ]


def _outside(
    und: Understanding,
    hits: list[Hit],
    retriever: Retriever,
    terms: list[str],
    alts: dict[str, tuple[str, ...]],
) -> float:
    """The coverage of the best statement among ``hits`` that names every topic of the question
    that lies outside the domain (0 when none does)."""
    index = retriever.index
    naming = [
        h for h in hits if all(index.names(h.rowid, p.words, p.case_sensitive) for p in und.outside)
    ]
    return max((coverage(index, terms, [h.rowid], alts) for h in naming), default=0.0)


def _outside_gate(
    query: str,
    und: Understanding,
    retrieval: Retrieval,
    retriever: Retriever,
    vocab: QuestionVocabulary,
    terms: list[str],
    config: AbstainConfig,
    feats: dict[str, float],
) -> tuple[Verdict | None, list[str] | None]:
    """A question naming a topic next to the domain ("epidural in labour", "dexamethasone for
    croup", vocabulary role 'outside'). Returns a verdict when it is declined, else the topic
    words to weigh instead of the question's when the topic is only context (or None)."""
    alts = retrieval.expansion.alternatives if retriever.config.alternatives else {}
    pool = retrieval.statements[: config.outside_pool]
    named = _outside(und, pool, retriever, terms, alts)
    feats["outside"] = round(named, 4)
    topic = "”, “".join(dict.fromkeys(p.text for p in und.outside))
    rest = query
    for p in und.outside:
        rest = re.sub(
            r"\b" + r"\W+".join(re.escape(w) for w in p.words) + r"\b",
            " ",
            rest,
            flags=0 if p.case_sensitive else re.IGNORECASE,
        )
    if not anchored(rest, retriever.lexicon, vocab, retriever.index.jargon):
        # the outside topic is the question's anchor: one statement must name it and cover
        # nearly the whole question (a statement about the domain's own use of the drug or
        # procedure is no answer)
        if named < config.min_coverage_unanchored:
            return Verdict(
                True, REASON_OUTSIDE.format(topic=topic), 0.0, feats, "out-of-scope"
            ), None
        return None, None
    if named >= config.min_coverage:
        return None, None  # the domain and the topic together ("TB meningitis vs TB in the lungs")
    if und.intents:
        # asks what the engine computes (LP safety, a dose): the topic may be context ("apixaban
        # for AF: hold before LP?"): answered when one statement covers nearly all the rest
        words = {w.lower() for p in und.outside for w in p.words}
        others = [t for t in terms if t not in words]
        context = max(
            (coverage(retriever.index, others, [h.rowid], alts) for h in pool), default=0.0
        )
        feats["outside_context"] = round(context, 4)
        # ...and the rest is a question of its own, not just the procedure's name ("spinal
        # headache after a lumbar puncture")
        if context >= config.min_coverage_unanchored and len(others) >= config.min_terms_unscoped:
            return None, others
        # in the domain, but nothing supports the answer (values given may still be computed)
        return Verdict(True, REASON_OUTSIDE.format(topic=topic), 0.0, feats, "unsupported"), None
    return Verdict(True, REASON_OUTSIDE.format(topic=topic), 0.0, feats, "out-of-scope"), None


def judge(
    question: str,
    query: str,
    retrieval: Retrieval,
    retriever: Retriever,
    vocab: QuestionVocabulary,
    und: Understanding,
    config: AbstainConfig | None = None,
) -> Verdict:
    """Decide whether to answer. ``query`` is the understood question with its conversation context."""
    config = config or AbstainConfig()
    terms = topic_terms(und, query, vocab, lambda t: bool(retriever.index.postings(t)))
    # words the vocabulary added as a meaning ("TKIs" read as "tyrosine kinase inhibitor") that
    # no statement uses say nothing about the question: the asker did not write them
    asked = set(tokens(und.question))
    added = {w for _, m in und.meanings for w in tokens(m)} - asked
    terms = [t for t in terms if t not in added or retriever.index.postings(t)]
    feats: dict[str, float] = {"terms": float(len(terms))}
    if has_instructions(question):
        return Verdict(True, REASON_INSTRUCTIONS, 0.0, feats, "instructions")
    if not terms and not und.red_flags and not und.personal:
        return Verdict(True, REASON_EMPTY, 0.0, feats, "empty")
    scope = scope_hits(query, retriever.lexicon, vocab, retriever.index.jargon)
    feats["scope"] = float(len(scope))
    if und.personal and not scope and not und.outside:
        return Verdict(True, None, 0.0, feats, "personal")
    top = retrieval.statements[: config.coverage_top]
    alts = retrieval.expansion.alternatives if retriever.config.alternatives else {}
    cov = coverage(retriever.index, terms, [h.rowid for h in top], alts) if top else 0.0
    best = coverage(retriever.index, terms, [top[0].rowid], alts) if top else 0.0
    # no word of the domain: answered only when one statement covers the question nearly whole
    # (the evidence places it in the domain), declined as out of scope otherwise
    if (
        not scope
        and not und.red_flags
        and (
            len(terms) < config.min_terms_unscoped
            or best < config.min_coverage_unanchored
            or _support(retriever, terms) < config.min_support_unscoped
        )
    ):
        reason = REASON_SCOPE
        if und.outside:
            topic = "”, “".join(dict.fromkeys(p.text for p in und.outside))
            reason = REASON_OUTSIDE.format(topic=topic)
        return Verdict(True, reason, 0.0, feats, "out-of-scope")
    if query != und.query and not scope_hits(
        und.query, retriever.lexicon, vocab, retriever.index.jargon
    ):
        # a follow-up that names nothing of the domain leans on the earlier question, but its
        # own words must still be covered ("doses?" is; "what's the weather tomorrow?" is not)
        own = [t for t in topic_terms(und, und.query, vocab, bool) if t in terms]
        everywhere = range(1, retriever.index.size + 1)
        own_cov = coverage(retriever.index, own, everywhere, alts) if own else 1.0
        feats["own_coverage"] = round(own_cov, 4)
        if own_cov < config.min_coverage:
            return Verdict(True, REASON_SCOPE, 0.0, feats, "out-of-scope")
    cos = max((h.cosine or 0.0 for h in top), default=0.0)
    feats["coverage"] = round(cov, 4)
    feats["top_coverage"] = round(best, 4)
    feats["cosine"] = round(cos, 4)
    pcov = max((h.coverage for h in retrieval.passages[:3]), default=0.0)
    feats["passage_coverage"] = round(pcov, 4)
    verdict, rest = (
        _outside_gate(query, und, retrieval, retriever, vocab, terms, config, feats)
        if und.outside
        else (None, None)
    )
    if verdict is not None and verdict.kind == "out-of-scope":
        return verdict  # about a topic next to the domain, personal or not ("my child ... MMR")
    if und.personal:
        return Verdict(True, None, 0.0, feats, "personal")
    unknown = unknown_words(terms, retriever, vocab)
    if unknown:
        feats["unknown"] = float(len(unknown))
        known = [t for t in terms if t not in unknown]
        if not answers_around(unknown, known, config):
            words = ", ".join(f"“{w}”" for w in unknown)
            kind = "unsupported" if scope else "out-of-scope"
            return Verdict(True, REASON_UNKNOWN.format(words=words), 0.0, feats, kind)
        # a word no statement uses in an otherwise well-placed question ("bedbound",
        # "kernicterus", a brand name): the rest of the question is weighed and answered, and
        # the answer names the word as not covered
        terms = known
        cov = coverage(retriever.index, terms, [h.rowid for h in top], alts) if top else 0.0
        best = coverage(retriever.index, terms, [top[0].rowid], alts) if top else 0.0
        feats["coverage"] = round(cov, 4)
        feats["top_coverage"] = round(best, 4)
    if und.outside:
        if verdict is not None:
            return verdict
        if rest is not None:
            # the outside topic is context: the evidence gate weighs the rest of the question
            pool = retrieval.statements[: config.outside_pool]
            cov = coverage(retriever.index, rest, [h.rowid for h in pool], alts)
            best = feats["outside_context"]
            feats["coverage"] = round(cov, 4)
            feats["top_coverage"] = round(best, 4)
    floor = config.min_coverage
    is_anchored = anchored(query, retriever.lexicon, vocab, retriever.index.jargon)
    chatter = everyday_unseen(terms, retriever, vocab) if is_anchored and not rest else []
    rows = [h.rowid for h in top]
    others = [t for t in terms if t not in chatter]
    if (
        chatter
        and others
        and coverage(retriever.index, others, rows, alts) >= (config.min_coverage_unanchored)
    ):
        # ordinary words no statement uses ("will I be awake for it? I'm dreading it"), when
        # the statements cover nearly all the rest, weigh no more than the question's heaviest
        # word the knowledge base knows: they say how the question is asked more than what it
        # is about ("an intrathecal morphine pump for cancer pain?" is not covered this way:
        # its other words are not)
        cap = max(idf(retriever.index, t) for t in others)
        cov = coverage(retriever.index, terms, rows, alts, dict.fromkeys(chatter, cap))
        feats["everyday_unseen"] = float(len(chatter))
        feats["coverage"] = round(cov, 4)
    evidence = cov
    if not is_anchored:
        # only a drug, route or device places it in scope: it may be asked about another use,
        # so one statement must cover the question (the drug and the use together); words
        # scattered over several statements do not show that the knowledge base covers the use
        floor = max(floor, config.min_coverage_unanchored)
        evidence = best
    feats["floor"] = floor
    feats["evidence"] = round(evidence, 4)
    statements_ok = evidence >= floor and (not retrieval.dense_used or cos >= config.min_cosine)
    passages_ok = pcov >= config.min_passage_coverage
    if not statements_ok and not passages_ok:
        return Verdict(
            True, REASON_WEAK, round(cov * SETTINGS.unsupported_share, 2), feats, "unsupported"
        )
    confidence = calibrated_confidence(feats)
    if not statements_ok or unknown:
        confidence = min(confidence, SETTINGS.weak_confidence_cap)
    return Verdict(False, None, confidence, feats, not_covered=unknown)


@dataclass(frozen=True)
class ConfidenceModel:
    """Confidence that the answer is right: a logistic model over what the pipeline knows when
    it answers. Fitted on the dev split of the gold set (``python benchmarks/qa_eval.py
    --calibrate``), where "right" means every key fact is in the answer and its first sentences
    answer the question; docs/qa.md reports its calibration on the test split."""

    intercept: float
    coverage: float
    """Weight of the share of the question's topic words the top statements cover."""
    top_coverage: float
    """Weight of the share the best statement covers alone."""
    lead_reviewed: float
    """Weight of a lead statement that has been checked against its source (verified)."""
    aspect_missing: float
    """Weight of a lead that lacks what the question asks for (a dose, a time, ...)."""
    lead_coverage: float
    """Weight of the share of the question's (idf-weighted) words the lead itself contains."""
    realistic: float = 0.0
    """Weight of a question read through shorthand, lay words or spelling corrections."""
    follow_up: float = 0.0
    """Weight of a follow-up (answered with the earlier question's words)."""
    unscoped: float = 0.0
    """Weight of a question placed in the domain by evidence alone (no domain word)."""
    patient: float = 0.0
    """Weight of a patient's question (answered in plain words)."""

    def __call__(self, features: dict[str, float]) -> float:
        z = (
            self.intercept
            + self.coverage * features.get("coverage", 0.0)
            + self.top_coverage * features.get("top_coverage", 0.0)
            + self.lead_reviewed * features.get("lead_reviewed", 1.0)
            + self.aspect_missing * features.get("aspect_missing", 0.0)
            + self.lead_coverage * features.get("lead_coverage", features.get("top_coverage", 0.0))
            + self.realistic * features.get("realistic", 0.0)
            + self.follow_up * features.get("follow_up", 0.0)
            + self.unscoped * features.get("unscoped", 0.0)
            + self.patient * features.get("patient", 0.0)
        )
        return round(1.0 / (1.0 + math.exp(-z)), 2)


CONFIDENCE = ConfidenceModel(
    intercept=1.636,
    coverage=-0.376,
    top_coverage=0.644,
    lead_reviewed=0.439,
    aspect_missing=-0.224,
    lead_coverage=0.228,
    realistic=0.274,
    follow_up=0.176,
    unscoped=0.171,
    patient=-1.161,
)
"""The fitted confidence model (named settings; docs/qa.md "Calibration")."""


def calibrated_confidence(features: dict[str, float]) -> float:
    return CONFIDENCE(features)
