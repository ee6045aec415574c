"""Understanding how people ask: shorthand, lay words, misspellings, intended meanings, warning signs.

Everything here is read from the knowledge base's ``vocabulary`` records
(``data/terminology/questions.yaml``); this module only matches them. ``understand(question)``
returns what was recognised: the retrieval query (the question plus what its shorthand and lay
words mean, with misspellings corrected), warning signs, personal-question cues, clarifications
("spondylodiscitis is not leptomeningeal") and the computable intents it names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING, Any

from leptoguide.answer.expand import Lexicon, Phrase
from leptoguide.answer.text import STOPWORDS, Populations, raw_tokens, tokens
from leptoguide.memo import once_per

if TYPE_CHECKING:
    from leptoguide.knowledge.loader import KnowledgeBase
    from leptoguide.knowledge.models import Vocabulary


@dataclass(frozen=True)
class Intent:
    id: str
    case: dict[str, Any]
    rules: tuple[str, ...]
    needs_values: bool
    description: str
    checks_drugs: tuple[str, ...] = ()
    """Regimens whose drugs the engine checks for this intent (vocabulary ``checks_drugs``)."""
    implied: bool = False
    """Taken from the values alone: the question named no intent (vocabulary ``from_values``)."""


@dataclass
class Understanding:
    """What the question says, as LeptoGuide reads it."""

    question: str
    query: str
    meanings: list[tuple[str, str]] = field(default_factory=list)
    """(term as written, what it was taken to mean)."""
    corrections: list[tuple[str, str]] = field(default_factory=list)
    """(word as written, correction)."""
    red_flags: list[str] = field(default_factory=list)
    red_flag_statements: list[str] = field(default_factory=list)
    personal: list[str] = field(default_factory=list)
    clarify_statements: list[str] = field(default_factory=list)
    clarify_queries: list[str] = field(default_factory=list)
    intents: list[Intent] = field(default_factory=list)
    outside: list[Phrase] = field(default_factory=list)
    """Topics next to the domain that LeptoGuide does not cover (vocabulary role 'outside')."""
    answered_by: list[str] = field(default_factory=list)
    """Statements that answer a patient question of this kind (vocabulary role 'answered-by'):
    the first one the search reached leads a patient answer."""

    def explain(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.meanings:
            out["read_as"] = [{"wrote": w, "means": m} for w, m in self.meanings]
        if self.corrections:
            out["spelling"] = [{"wrote": w, "read": c} for w, c in self.corrections]
        if self.red_flags:
            out["warning_signs"] = list(self.red_flags)
        if self.personal:
            out["personal"] = list(self.personal)
        if self.intents:
            out["computed"] = [i.id for i in self.intents]
        return out


class QuestionVocabulary:
    """The vocabulary records of one knowledge base, compiled for matching."""

    def __init__(self, entries: list[Vocabulary], kb_words: frozenset[str] = frozenset()) -> None:
        self.entries = {e.id: e for e in entries}
        by_role: dict[str, list[Vocabulary]] = {}
        for e in entries:
            by_role.setdefault(e.role, []).append(e)
        self.by_role = by_role
        self.lexicon = Lexicon.from_concepts(
            (
                (e.id, e.role, [t for t in e.terms if GAP not in t])
                for e in entries
                if e.role
                not in (
                    "scope-concepts",
                    "scope-kinds",
                    "filler",
                    "slot",
                    "population",
                    "value-words",
                )
            ),
            keep_case=True,
        )
        self.fillers = frozenset(
            t.lower() for e in by_role.get("filler", []) for t in e.terms if " " not in t
        )
        self.scope_concepts = frozenset(
            t for e in by_role.get("scope-concepts", []) for t in e.terms
        )
        self.scope_kinds = frozenset(t for e in by_role.get("scope-kinds", []) for t in e.terms)
        self.kb_words = kb_words

    @cached_property
    def scope_words(self) -> frozenset[str]:
        """Single scope words, lower case (multi-word scope terms are matched as phrases)."""
        return frozenset(
            t.lower() for e in self.by_role.get("scope", []) for t in e.terms if " " not in t
        )

    @cached_property
    def people_now(self) -> list[str]:
        """Words that say a question speaks of someone now (I, my, she, the baby, the patient):
        the ``also`` words of the red-flag entries."""
        return list(dict.fromkeys(t for e in self.by_role.get("red-flag", []) for t in e.also))

    @cached_property
    def known_words(self) -> frozenset[str]:
        """Correctly spelt vocabulary words (targets for spelling correction): what shorthand
        means, scope terms and word forms; never the misspellings some entries list."""
        words: set[str] = set()
        for e in self.entries.values():
            if e.role == "value-words":  # read by the value reader only
                continue
            texts = [e.means or ""] if e.role != "population" else []
            if e.role in ("scope", "variants"):
                texts += e.terms
            for text in texts:
                words.update(w for w in tokens(text) if len(w) >= 4)
        return frozenset(words)

    @cached_property
    def term_words(self) -> frozenset[str]:
        """Words of the shorthand, lay and scope terms, as written ("mening", "abx"): the
        vocabulary reads them (a same-as term adds its meaning), so the spelling corrector leaves
        them alone."""
        return frozenset(
            w
            for e in self.entries.values()
            if e.role in ("same-as", "scope", "clarify", "outside")
            for t in e.terms
            for w in tokens(t)
        )

    @cached_property
    def slots(self) -> tuple[frozenset[tuple[str, ...]], ...]:
        """Names that fill the same place of a question (vocabulary role 'slot'), as lower-case
        token sequences: a follow-up naming one replaces the one named before."""
        return tuple(
            frozenset(tuple(tokens(t)) for t in e.terms if tokens(t))
            for e in self.by_role.get("slot", [])
        )

    @cached_property
    def populations(self) -> Populations:
        """Who a question or a statement is about (vocabulary role 'population')."""
        groups: dict[str, set[str]] = {}
        words: set[str] = set()
        for e in self.by_role.get("population", []):
            terms = {t.lower() for t in e.terms}
            words |= terms
            if e.means:
                groups.setdefault(e.means, set()).update(terms)
        return Populations({g: frozenset(t) for g, t in groups.items()}, frozenset(words))

    @cached_property
    def value_words(self) -> dict[str, tuple[str, ...]]:
        """The value reader's words (role 'value-words') by meaning, longest first: worked out
        once, not for every question."""
        found: dict[str, set[str]] = {}
        for e in self.by_role.get("value-words", []):
            if e.means:
                found.setdefault(e.means, set()).update(e.terms)
        return {m: tuple(sorted(t, key=len, reverse=True)) for m, t in found.items()}

    def find(self, text: str) -> list[Phrase]:
        """Every vocabulary term in ``text`` (overlapping terms of different entries all count)."""
        return self.lexicon.find_all(text)

    def variants(self) -> list[tuple[str, str, list[str]]]:
        """Word-form groups for the retrieval lexicon (kind 'variant': never a scope hit)."""
        return [(e.id, "variant", list(e.terms)) for e in self.by_role.get("variants", [])]

    def understand(
        self,
        question: str,
        corrector: SpellingCorrector | None = None,
        audience: str | None = None,
    ) -> Understanding:
        """What ``question`` says. ``audience`` ("clinician" or "patient") chooses among
        vocabulary entries written for one audience (field ``audience``); None reads all."""
        text = _normalise_quotes(question)
        corrections: list[tuple[str, str]] = []
        if corrector is not None:
            text, corrections = corrector.correct(text)
        found = self.find(text)
        # a shorthand or lay phrase inside a longer one ("spinal fluid" in "cancer in the spinal
        # fluid") is read once, as the longer phrase means
        same = [p for p in found if self.entries[p.concept].role == "same-as"]
        found = [
            p
            for p in found
            if p not in same
            or not any(len(q.words) > len(p.words) and _contains(q.words, p.words) for q in same)
        ]
        und = Understanding(question=question, query=text, corrections=corrections)
        und.personal = self._personal(text)
        added: list[str] = []
        seen: set[str] = set()
        for phrase in found:
            entry = self.entries[phrase.concept]
            if entry.id in seen:
                continue
            seen.add(entry.id)
            if entry.role == "same-as" and entry.means:
                und.meanings.append((phrase.text, entry.means))
                added.append(entry.means)
            elif entry.role == "clarify":
                if entry.also and not _mentions(text, entry.also):
                    continue  # nothing to clarify: the question does not assume the confusion
                und.meanings.append((phrase.text, entry.means or ""))
                und.clarify_statements.extend(entry.statements)
                if entry.means:
                    und.clarify_queries.append(entry.means)
            elif entry.role == "red-flag":
                if entry.also and not _mentions(text, entry.also):
                    continue
                if (
                    entry.unless
                    and _mentions_any(text, entry.unless)
                    and not _mentions(text, self.people_now)
                    and not self._listed_now(text, phrase.text)
                ):
                    continue  # asked in general ("can a stiff neck be a sign of meningitis?")
                und.red_flags.append(phrase.text)
                und.red_flag_statements.extend(entry.statements)
            elif entry.role == "answered-by":
                und.answered_by.extend(entry.statements)
        for entry, wrote in self._gapped(text, "red-flag"):
            und.red_flags.append(wrote)
            und.red_flag_statements.extend(entry.statements)
        if und.red_flag_statements:
            # who the signs are in chooses the urgent-care source: someone with cancer or LM is
            # sent to their care team's "contact us quickly" advice; meningitis signs keep theirs
            for entry in self.by_role.get("red-flag-context", []):
                if (
                    entry.audience is not None
                    and audience is not None
                    and entry.audience != audience
                ):
                    continue  # advice written for the other audience
                if _mentions_any(text, entry.terms) and not _mentions_any(text, entry.unless):
                    und.red_flag_statements = list(entry.statements)
                    break
        for entry, _wrote in self._gapped(text, "answered-by"):
            und.answered_by.extend(entry.statements)
        und.answered_by = list(dict.fromkeys(und.answered_by))
        for entry, wrote in self._gapped(text, "same-as"):
            # "how long should Listeria meningitis be treated": words apart that mean one thing
            if entry.means and entry.id not in seen:
                seen.add(entry.id)
                und.meanings.append((wrote, entry.means))
                added.append(entry.means)
        und.clarify_statements = list(dict.fromkeys(und.clarify_statements))
        und.red_flag_statements = list(dict.fromkeys(und.red_flag_statements))
        und.red_flags = list(dict.fromkeys(und.red_flags))
        und.meanings = list(dict.fromkeys(und.meanings))
        if added:
            und.query = text + " " + " ".join(dict.fromkeys(added))
        und.intents = self._intents(text, found)
        # topics outside the domain are looked for as written too: a spelling correction must
        # not hide one ("post-dural" is not "post-aural")
        written = self.find(_normalise_quotes(question)) if corrections else []
        outside = [
            p
            for p in dict.fromkeys([*found, *written])
            if self.entries[p.concept].role == "outside"
        ]
        # a place named with words between ("the lining of her lungs"), as written
        outside += [
            Phrase(entry.id, wrote, tuple(tokens(wrote)), False)
            for entry, wrote in self._gapped(text, "outside")
        ]
        # a topic next to the domain named with the domain's own use of it is not outside
        # ("fluconazole prophylaxis after cryptococcal meningitis": vocabulary `unless`)
        outside = [
            p
            for p in outside
            if not self.entries[p.concept].unless
            or not _mentions_any(text, self.entries[p.concept].unless)
        ]
        # "knee" inside "knee replacement" is named once, as the longer phrase; a topic word
        # inside a longer phrase that means something in the domain is not that topic
        # ("influenza" in "haemophilus influenza")
        longer = [
            *outside,
            *same,
            *(p for p in written if self.entries[p.concept].role == "same-as"),
        ]
        und.outside = list(
            dict.fromkeys(
                p
                for p in outside
                if not any(
                    len(q.words) > len(p.words) and _contains(q.words, p.words) for q in longer
                )
            )
        )
        return und

    def _personal(self, text: str) -> list[str]:
        """Personal-question cues in ``text``, ignoring those inside a 'not-personal' phrase."""
        low = " " + " ".join(tokens(text)) + " "
        for entry in self.by_role.get("not-personal", []):
            for term in entry.terms:
                low = low.replace(" " + " ".join(tokens(term)) + " ", " | ")
        entries = [
            e
            for e in self.by_role.get("personal", [])
            if not e.unless or not _mentions_any(text, e.unless)
        ]
        cues = [
            term
            for entry in entries
            if not entry.also or _mentions(low, entry.also)
            for term in entry.terms
            if GAP not in term and " " + " ".join(tokens(term)) + " " in low
        ]
        # an entry's ``unless`` says the question is factual after all ("will I be able to drive
        # after an LP?", a clinician's "my pt ..., should I have the MRI first?")
        cues += [wrote for entry, wrote in self._gapped(low, "personal") if entry in entries]
        return list(dict.fromkeys(cues))

    @cached_property
    def _sign_words(self) -> frozenset[str]:
        """Every word of a warning-sign term (red-flag entries, gapped terms included)."""
        return frozenset(
            w for e in self.by_role.get("red-flag", []) for t in e.terms for w in tokens(t)
        )

    def _listed_now(self, text: str, sign: str) -> bool:
        """Whether ``sign`` stands in a clause that only lists signs ("stiff neck and fever,
        can a stiff neck be a sign of meningitis?"): a description of signs now, not a general
        question about them ("neck stiffness in meningitis: why does it matter?")."""
        want = tokens(sign)
        for clause in re.split(r"[,;:.!?\n]+|\s[-\u2013\u2014]+\s", text):
            words = tokens(clause)
            if not _contains(tuple(words), tuple(want)):
                continue
            rest = [
                w
                for w in words
                if w not in self._sign_words
                and w not in STOPWORDS
                and w not in self.fillers
                and not w.isdigit()
            ]
            if not rest:
                return True
        return False

    @cached_property
    def _gap_patterns(self) -> list[tuple[Vocabulary, re.Pattern[str]]]:
        """Terms written with ``...`` (words in this order, a few others between them)."""
        out = []
        for entry in self.entries.values():
            for term in entry.terms:
                if GAP in term:
                    out.append((entry, _gap_pattern(term)))
        return out

    def _gapped(self, text: str, role: str) -> list[tuple[Vocabulary, str]]:
        """Entries of ``role`` whose gapped terms occur in one sentence of ``text`` (and whose
        ``also`` words, if any, occur in the text)."""
        found: list[tuple[Vocabulary, str]] = []
        sentences = [" " + " ".join(tokens(s)) + " " for s in re.split(r"[.!?;\n]+", text)]
        for entry, pattern in self._gap_patterns:
            if entry.role != role or (entry.also and not _mentions(text, entry.also)):
                continue
            if role == "same-as" and entry.unless and _mentions_any(text, entry.unless):
                continue  # the question names the place in other words, or another place
            for sentence in sentences:
                if role == "red-flag":
                    # warning signs are named in any order ("vomiting, a fever and a headache")
                    parts = _gap_parts(pattern)
                    if all(f" {part} " in sentence for part in parts):
                        found.append((entry, " ... ".join(parts)))
                        break
                    continue
                m = pattern.search(sentence)
                if m:
                    # a meaning is read from the term's own words, not the words between them
                    wrote = " ... ".join(_gap_parts(pattern)) if role == "same-as" else m.group(0)
                    found.append((entry, wrote.strip()))
                    break
        return found

    def value_intents(self) -> list[Intent]:
        """Intents taken when a question is nothing but values (vocabulary ``from_values``)."""
        return [
            Intent(
                e.id,
                dict(e.case or {}),
                tuple(e.rules),
                e.needs_values,
                e.description,
                tuple(e.checks_drugs),
                implied=True,
            )
            for e in self.by_role.get("intent", [])
            if e.from_values
        ]

    def _intents(self, text: str, found: list[Phrase]) -> list[Intent]:
        named = {p.concept for p in found}
        low = " " + " ".join(tokens(text)) + " "
        out = []
        for entry in self.by_role.get("intent", []):
            if entry.id not in named:
                continue
            if entry.also and not any(
                f" {' '.join(tokens(a))} " in low or (a.isupper() and a in raw_tokens(text))
                for a in entry.also
            ):
                continue
            if entry.unless and any(
                f" {' '.join(tokens(u))} " in low or (u.isupper() and u in raw_tokens(text))
                for u in entry.unless
            ):
                continue  # the question is about another condition than the intent's case
            out.append(
                Intent(
                    entry.id,
                    dict(entry.case or {}),
                    tuple(entry.rules),
                    entry.needs_values,
                    entry.description,
                    tuple(entry.checks_drugs),
                )
            )
        # an intent that also needed its own words ("IT MTX ... calendar") is the more specific
        # reading of the question: it is tried before one named by a single term ("by LP")
        out.sort(key=lambda i: not self.entries[i.id].also)
        return out


GAP = "..."
"""In a red-flag or personal term, ``...`` stands for up to ``GAP_WORDS`` other words."""
GAP_WORDS = 6


_GAP_PARTS: dict[str, list[str]] = {}


def _gap_parts(pattern: re.Pattern[str]) -> list[str]:
    """The word groups of a gapped term's pattern (recorded when it was compiled)."""
    return _GAP_PARTS[pattern.pattern]


@lru_cache(maxsize=4096)
def _gap_pattern(term: str) -> re.Pattern[str]:
    """A gapped term's pattern (memoised: the ``unless`` terms of many entries are checked
    against every question)."""
    parts = [" ".join(tokens(part)) for part in term.split(GAP)]
    between = "(?: [a-z0-9]+){0," + str(GAP_WORDS) + "} "
    body = between.join(re.escape(p) for p in parts if p)
    pattern = re.compile(rf" {body}(?= )")
    _GAP_PARTS[pattern.pattern] = [p for p in parts if p]
    return pattern


def _contains(longer: tuple[str, ...], shorter: tuple[str, ...]) -> bool:
    a = [w.lower() for w in longer]
    b = [w.lower() for w in shorter]
    return any(a[i : i + len(b)] == b for i in range(len(a) - len(b) + 1))


@lru_cache(maxsize=8192)
def _spaced(text: str) -> str:
    """``text``'s tokens joined by single spaces, with a space at each end (memoised: a question
    is checked against the ``also`` words of every vocabulary entry)."""
    return " " + " ".join(tokens(text)) + " "


@lru_cache(maxsize=4096)
def _any_of(terms: tuple[str, ...]) -> re.Pattern[str] | None:
    """One pattern that finds any of ``terms``' spaced forms in a spaced text (a plain substring
    test of each, done at once); None for no terms."""
    if not terms:
        return None
    return re.compile("|".join(re.escape(_spaced(term)) for term in terms))


def _mentions(text: str, terms: list[str]) -> bool:
    """Whether ``text`` contains one of ``terms`` (whole words, in order)."""
    pattern = _any_of(tuple(terms))
    return pattern is not None and pattern.search(_spaced(text)) is not None


def _mentions_any(text: str, terms: list[str]) -> bool:
    """Whether ``text`` contains one of ``terms``; a term with ``...`` matches its words in
    order with a few others between them ("lining ... stomach": "the lining of her stomach")."""
    plain = [t for t in terms if GAP not in t]
    if _mentions(text, plain):
        return True
    gapped = [t for t in terms if GAP in t]
    if not gapped:
        return False
    low = _spaced(text)
    return any(_gap_pattern(t).search(low) for t in gapped)


def _normalise_quotes(text: str) -> str:
    return text.replace("\u2019", "'").replace("\u2018", "'")


class SpellingCorrector:
    """Corrects misspelt words towards the knowledge base's own vocabulary.

    A word is left alone when the knowledge base, the question vocabulary or a general English
    dictionary knows it. Otherwise the closest known word at edit distance 1 (or 2 for words of 7
    letters or more, towards knowledge-base words only) replaces it; ties go to the word that more
    statements use. Numbers, short words and words written in capitals are never changed.
    """

    MIN_LENGTH = 5
    MEANINGFUL_ENDINGS = ("oma", "itis", "osis", "emia", "aemia", "algia", "pathy", "ectomy")
    """Word endings that carry meaning (a tumour, an inflammation, a disease state): a
    correction never changes them ("meningioma" is not a misspelt "meningism")."""

    def __init__(
        self,
        kb_words: dict[str, int],
        extra: frozenset[str] = frozenset(),
        english: frozenset[str] = frozenset(),
        fillers: frozenset[str] = frozenset(),
        keep: frozenset[str] = frozenset(),
    ) -> None:
        self.kb_words = kb_words
        self.extra = extra
        self.english = english
        self.fillers = fillers
        self.keep = keep
        """Words the question vocabulary itself lists (shorthand such as "mening", "abx"):
        never corrected, the vocabulary reads them."""
        self._suggested: dict[str, str | None] = {}
        """Each word's suggestion once worked out (the search over edits costs milliseconds)."""

    def known(self, word: str) -> bool:
        return (
            word in self.kb_words
            or word in self.extra
            or word in self.english
            or word in STOPWORDS
            or word in self.fillers
            or word in self.keep
        )

    def _score(self, word: str) -> tuple[int, int]:
        return (1 if word in self.kb_words or word in self.extra else 0, self.kb_words.get(word, 0))

    SUGGESTIONS_KEPT = 20_000
    """How many words' suggestions are remembered (then forgotten and worked out again)."""

    def suggest(self, word: str) -> str | None:
        try:
            return self._suggested[word]
        except KeyError:
            pass
        if len(self._suggested) >= self.SUGGESTIONS_KEPT:
            self._suggested.clear()
        fix = self._suggested[word] = self._suggest(word)
        return fix

    def _suggest(self, word: str) -> str | None:
        if len(word) < self.MIN_LENGTH or not word.isalpha() or self.known(word):
            return None
        first = _edits1(word)
        cands = [w for w in first if w in self.kb_words or w in self.extra]
        if not cands:  # function words before the dictionary (which lists many surnames)
            cands = [w for w in first if w in STOPWORDS or w in self.fillers]
        if not cands:
            cands = [w for w in first if w in self.english and len(w) >= self.MIN_LENGTH - 1]
        if not cands and len(word) >= 7:
            cands = [
                w2 for w1 in first for w2 in _edits1(w1) if w2 in self.kb_words or w2 in self.extra
            ]
        ending = next((e for e in self.MEANINGFUL_ENDINGS if word.endswith(e)), None)
        if ending is not None:
            cands = [w for w in cands if w.endswith(ending)]
        if not cands:
            return None
        return max(sorted(set(cands)), key=self._score)

    def correct(self, text: str) -> tuple[str, list[tuple[str, str]]]:
        fixes: list[tuple[str, str]] = []

        def repl(m: re.Match[str]) -> str:
            word = m.group(0)
            if word.isupper() or word.lower() in STOPWORDS or "'" in word:
                return word  # capitals, function words, contractions ("doesn't") stay
            fix = self.suggest(word.lower())
            if fix is None:
                return word
            fixes.append((word, fix))
            return fix

        return re.sub(r"[A-Za-z]+(?:'[A-Za-z]+)?", repl, text), fixes


_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def _edits1(word: str) -> set[str]:
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    deletes = [a + b[1:] for a, b in splits if b]
    transposes = [a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1]
    replaces = [a + c + b[1:] for a, b in splits if b for c in _LETTERS]
    inserts = [a + c + b for a, b in splits for c in _LETTERS]
    return set(deletes + transposes + replaces + inserts)


_VOCABULARIES: dict[int, QuestionVocabulary] = {}


def vocabulary_for(kb: KnowledgeBase) -> QuestionVocabulary:
    """The knowledge base's question vocabulary, compiled once per loaded knowledge base (read
    only after loading) and kept while it lives."""
    return once_per(
        _VOCABULARIES,
        id(kb),
        lambda: QuestionVocabulary(list(getattr(kb, "vocabulary", {}).values())),
        kb,
    )


__all__ = [
    "Intent",
    "QuestionVocabulary",
    "SpellingCorrector",
    "Understanding",
    "vocabulary_for",
]
