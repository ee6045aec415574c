"""Read concept values from narrative report text (radiology impressions, cytology diagnoses,
flow-study conclusions, molecular pathology), driven by ``Concept.narrative`` data.

For each sentence that mentions a concept's scope, the signal phrases are found (longest first)
and each gets a ConText assertion category (``intake/assertion.py``). The concept's outcomes are
then tried in order against the whole text: the first whose signals hold gives the value. The
sentences that carried the deciding signals are kept, so the assessment can quote them.

A text in scope with a signal stated as present but no outcome that holds is reported as
unreadable (present but not understood), never as absent.
"""

from __future__ import annotations

import base64
import binascii
import html
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from leptoguide.intake.assertion import Category, assertion_of
from leptoguide.intake.terminology import PhraseSet, TermIndex, normalize_text
from leptoguide.knowledge.models import Concept, Narrative, NarrativeOutcome

_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(])|\n\s*\n|\n(?=\s*[-*\u2022\d]+[.)]?\s)|;")
_TAG = re.compile(r"<[^>]+>")
_BLOCK_TAG = re.compile(r"</?(?:p|div|br|li|tr|h\d)\b[^>]*>", re.IGNORECASE)
QUOTE_MAX = 240
"""Longest sentence quoted in provenance (characters)."""


@dataclass(frozen=True)
class Finding:
    """A value read from text, with the sentences it rests on."""

    concept: Concept
    value: str | None  # None: in scope, a signal present, but no outcome held (unreadable)
    sentences: tuple[str, ...]
    detail: str | None = None

    @property
    def quote(self) -> str:
        return " ... ".join(_clip(s) for s in self.sentences)


@dataclass
class _Compiled:
    spec: Narrative
    reports: PhraseSet
    context_reports: PhraseSet
    scope: PhraseSet
    signals: dict[str, PhraseSet]
    mask: PhraseSet
    detail: re.Pattern[str] | None


_CACHE: dict[tuple[int, str], _Compiled] = {}


def _phrases(terms: Iterable[str]) -> PhraseSet:
    return PhraseSet(tuple(normalize_text(t).split()) for t in terms if normalize_text(t))


def _compiled(concept: Concept) -> _Compiled | None:
    spec = concept.narrative
    if spec is None:
        return None
    key = (id(spec), concept.id)
    found = _CACHE.get(key)
    if found is None:
        found = _CACHE[key] = _Compiled(
            spec=spec,
            reports=_phrases(spec.reports),
            context_reports=_phrases(spec.context_reports),
            scope=_phrases(w for t in spec.scope for w in spec.expand(t)),
            signals={
                name: _phrases(w for t in terms for w in spec.expand(t))
                for name, terms in spec.signals.items()
            },
            mask=_phrases(w for t in spec.mask for w in spec.expand(t)),
            detail=re.compile(spec.detail, re.IGNORECASE) if spec.detail else None,
        )
    return found


def narrative_concepts(
    index: TermIndex, kind_texts: Iterable[str], *, context: bool = False
) -> list[Concept]:
    """Concepts with a narrative spec whose report words appear in the code/category texts.

    ``context``: instead, the concepts such a report may only mention (their ``context_reports``
    words appear, their report words do not): a cytology phrase in a CSF cell count report."""
    tokens_list = [normalize_text(t).split() for t in kind_texts if t]
    out = []
    for concept in index.concepts.values():
        comp = _compiled(concept)
        if comp is None:
            continue
        own = any(comp.reports.first(tokens, 0, len(tokens)) for tokens in tokens_list)
        if context:
            own = not own and any(
                comp.context_reports.first(tokens, 0, len(tokens)) for tokens in tokens_list
            )
        if own:
            out.append(concept)
    return out


def sentences(text: str) -> list[str]:
    """Sentences of a report (and bullet or numbered impression lines)."""
    parts = _SENTENCE.split(text)
    return [" ".join(p.split()) for p in parts if p and p.strip()]


def html_text(markup: str) -> str:
    """Plain text of an HTML report body (tags dropped, block tags as sentence breaks)."""
    return html.unescape(_TAG.sub(" ", _BLOCK_TAG.sub("\n\n", markup)))


def decode_attachment(data: str) -> str | None:
    """Base64 attachment data as UTF-8 text, or None when it is not."""
    try:
        return base64.b64decode(data, validate=False).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


@dataclass(frozen=True)
class Share:
    """A percentage read from text ('85% neutrophils'), for the concept ``concept_id``."""

    concept_id: str
    value: float
    sentence: str

    @property
    def quote(self) -> str:
        return _clip(self.sentence)


_SHARE_CACHE: dict[tuple[int, str], list[tuple[str, re.Pattern[str], re.Pattern[str]]]] = {}
_PCT = r"(\d{1,3}(?:\.\d+)?)\s*%"


def _share_patterns(concept: Concept) -> list[tuple[str, re.Pattern[str], re.Pattern[str]]]:
    spec = concept.narrative
    if spec is None or not spec.shares:
        return []
    key = (id(spec), concept.id)
    found = _SHARE_CACHE.get(key)
    if found is None:
        found = []
        for target, names in spec.shares.items():
            words = sorted({w for n in names for w in spec.expand(n)}, key=len, reverse=True)
            alt = "|".join(r"\s+".join(map(re.escape, w.split())) for w in words)
            before = re.compile(rf"(?<![\d.]){_PCT}\s*(?:of\s+)?(?:{alt})\b", re.IGNORECASE)
            after = re.compile(
                rf"\b(?:{alt})\s*(?:[:=]\s*|\(\s*)?{_PCT}(?!\s*(?:of\b|\w))", re.IGNORECASE
            )
            found.append((target, before, after))
        _SHARE_CACHE[key] = found
    return found


def read_shares(concept: Concept, texts: Iterable[str]) -> list[Share]:
    """Percentages of the concept's ``shares`` stated in the texts. A sentence that writes
    shares both before and after the names ('85% lymphocytes 10% neutrophils' can pair either
    way), a share above 100, shares adding up to more than 100, or two different shares for
    the same concept give nothing: unread, never guessed."""
    patterns = _share_patterns(concept)
    if not patterns:
        return []
    got: dict[str, set[float]] = {}
    where: dict[str, str] = {}
    for text in texts:
        for sent in sentences(text):
            before = {t: [float(m.group(1)) for m in b.finditer(sent)] for t, b, _ in patterns}
            after = {t: [float(m.group(1)) for m in a.finditer(sent)] for t, _, a in patterns}
            if any(before.values()) and any(after.values()):
                continue
            use = before if any(before.values()) else after
            values = [v for vs in use.values() for v in vs]
            if not values or max(values) > 100 or sum(values) > 101:
                continue
            for target, vs in use.items():
                for v in vs:
                    got.setdefault(target, set()).add(v)
                    where.setdefault(target, sent)
    return [Share(t, next(iter(vs)), where[t]) for t, vs in got.items() if len(vs) == 1]


@dataclass
class _Hits:
    by_signal: dict[str, list[tuple[Category, str]]] = field(default_factory=dict)
    in_scope: list[str] = field(default_factory=list)
    details: list[str] = field(default_factory=list)

    def categories(self, signal: str) -> set[Category]:
        return {c for c, _ in self.by_signal.get(signal, [])}

    def sentences_for(self, signals: Iterable[str], category: Category | None) -> list[str]:
        out: list[str] = []
        for name in signals:
            for cat, sent in self.by_signal.get(name, []):
                if (category is None or cat == category) and sent not in out:
                    out.append(sent)
        return out


def read_text(index: TermIndex, concept: Concept, texts: Iterable[str]) -> Finding | None:
    """The value of ``concept`` the texts state, or None when they do not speak of it."""
    comp = _compiled(concept)
    if comp is None:
        return None
    hits = _Hits()
    for text in texts:
        for sent in sentences(text):
            _read_sentence(index, comp, sent, hits)
    if not hits.in_scope:
        return None
    for outcome in comp.spec.outcomes:
        if _holds(outcome, hits):
            used = (
                hits.sentences_for(outcome.affirmed, "present")
                + hits.sentences_for(outcome.negated, "negated")
                + hits.sentences_for(outcome.uncertain, "possible")
            )
            seen: list[str] = []
            for s in used:
                if s not in seen:
                    seen.append(s)
            detail = hits.details[0] if hits.details else None
            return Finding(concept, outcome.value, tuple(seen[:3]), detail)
    present = [
        s for name in comp.signals for c, s in hits.by_signal.get(name, []) if c == "present"
    ]
    if present:
        return Finding(concept, None, tuple(dict.fromkeys(present))[:3])
    return None


def _read_sentence(index: TermIndex, comp: _Compiled, sent: str, hits: _Hits) -> None:
    tokens = normalize_text(sent).split()
    if not tokens or comp.scope.first(tokens, 0, len(tokens)) is None:
        return
    hits.in_scope.append(sent)
    spans: list[tuple[int, int, str]] = []
    for name, phrases in [("", comp.mask), *comp.signals.items()]:  # "": masked, not a signal
        for pos, tok in enumerate(tokens):
            for words in phrases.by_first.get(tok, ()):  # every length: overlaps resolved below
                if tuple(tokens[pos : pos + len(words)]) == words:
                    spans.append((pos, pos + len(words), name))
    spans.sort(key=lambda s: (-(s[1] - s[0]), s[0], s[2]))
    kept: list[tuple[int, int, str]] = []
    for span in spans:
        if not any(k[0] < span[1] and span[0] < k[1] for k in kept):
            kept.append(span)
    taken = {i for s, e, _ in kept for i in range(s, e)}
    cues = index.context.scan(tokens, frozenset(taken))
    for start, end, name in kept:
        if not name:
            continue
        category = assertion_of(cues, start, end, len(tokens)).category
        hits.by_signal.setdefault(name, []).append((category, sent))
    if comp.detail is not None:
        m = comp.detail.search(sent)
        if m:
            hits.details.append(m.group(1))


def _holds(outcome: NarrativeOutcome, hits: _Hits) -> bool:
    for name in outcome.affirmed:
        if "present" not in hits.categories(name):
            return False
    for name in outcome.negated:
        cats = hits.categories(name)
        if "negated" not in cats or "present" in cats:
            return False
    if outcome.uncertain and not any(
        "possible" in hits.categories(name) for name in outcome.uncertain
    ):
        return False
    return all("present" not in hits.categories(name) for name in outcome.absent)


def _clip(sentence: str) -> str:
    return sentence if len(sentence) <= QUOTE_MAX else sentence[: QUOTE_MAX - 3] + "..."
