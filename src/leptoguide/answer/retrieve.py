"""Hybrid retrieval: FTS5 bm25 and MiniLM cosine, fused by reciprocal rank fusion (RRF).

Queries are OR-ed content words plus synonym phrases from the terminology (see expand.py). When no
dense model is exported, retrieval is lexical only. Ingested passages are searched the same way but
kept apart, so they can never displace an approved statement.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from leptoguide.answer.embed import Embedder
from leptoguide.answer.expand import Expansion, Lexicon, is_reading
from leptoguide.answer.index import PassageStore, StatementIndex, _Fts, concept_token
from leptoguide.answer.text import content_tokens, fts_quote


@dataclass(frozen=True)
class RetrievalConfig:
    dense: bool = True
    expand: bool = True
    """Add the synonyms of concepts named in the query to the lexical query."""
    alternatives: bool = True
    """Count a query word as covered when another name of its concept is present."""
    rrf_k: int = 60
    pool: int = 40
    concepts: bool = True
    """Search a named concept as one token, whichever of its names the question uses."""


@dataclass
class Hit:
    kind: Literal["statement", "passage"]
    rowid: int
    key: str
    score: float = 0.0
    bm25: float | None = None
    cosine: float | None = None
    coverage: float = 0.0


@dataclass
class Retrieval:
    query: str
    terms: list[str]
    expansion: Expansion
    statements: list[Hit] = field(default_factory=list)
    passages: list[Hit] = field(default_factory=list)
    dense_used: bool = False
    match: str = ""


SYNONYM_WEIGHT = 0.3
"""Weight of a synonym-table match relative to a match in the statement's own text."""


def combine(
    main: list[tuple[int, float]], extra: list[tuple[int, float]], weight: float
) -> list[tuple[int, float]]:
    """Add ``weight`` x the extra score to the main score; best first."""
    scores = dict(main)
    for rowid, score in extra:
        scores[rowid] = scores.get(rowid, 0.0) + weight * score
    return sorted(scores.items(), key=lambda kv: -kv[1])


def rrf(rankings: Iterable[list[int]], k: int) -> dict[int, float]:
    """Reciprocal rank fusion of several best-first rowid lists."""
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, rowid in enumerate(ranking, start=1):
            scores[rowid] = scores.get(rowid, 0.0) + 1.0 / (k + rank)
    return scores


def idf(fts: _Fts, term: str) -> float:
    n = max(fts.size, 1)
    return math.log((n + 1) / (len(fts.postings(term)) + 0.5))


def coverage(
    fts: _Fts,
    terms: list[str],
    rowids: Iterable[int],
    alternatives: dict[str, tuple[str, ...]] | None = None,
    caps: dict[str, float] | None = None,
) -> float:
    """Share of the query's idf mass found in the given rows (unknown words weigh the most).

    A word also counts as found when another name of its concept is (``alternatives``). A word
    in ``caps`` weighs at most its cap.
    """
    rows = set(rowids)
    if not terms:
        return 0.0
    alternatives = alternatives or {}
    n = max(fts.size, 1)
    total = found = 0.0
    for term in terms:
        posting = set(fts.postings(term))
        for alt in alternatives.get(term, ()):
            posting |= fts.postings(alt)
        weight = math.log((n + 1) / (len(posting) + 0.5))
        if caps and term in caps:
            weight = min(weight, caps[term])
        total += weight
        if posting & rows:
            found += weight
    return found / total if total else 0.0


class Retriever:
    def __init__(
        self,
        index: StatementIndex,
        lexicon: Lexicon,
        *,
        embedder: Embedder | None = None,
        store: PassageStore | None = None,
        config: RetrievalConfig | None = None,
        ignore: frozenset[str] = frozenset(),
    ) -> None:
        self.ignore = ignore
        """Everyday words (vocabulary role 'filler') left out of the search."""
        self.index = index
        self.lexicon = lexicon
        self.lexicon_words = frozenset(
            w.lower() for group in lexicon.groups.values() for ph in group for w in ph.words
        )
        """Every word of the terminology's names (brand names included): known words."""
        self.store = store
        self.config = config or RetrievalConfig()
        self.embedder = embedder if self.config.dense and index.vectors is not None else None

    def match_expression(
        self, terms: list[str], expansion: Expansion, concepts: bool = False
    ) -> str:
        """The FTS5 query: the question's words OR-ed. With ``concepts``, each concept the question
        names ("LMD", "neoplastic meningitis") is also searched as that concept's token, which
        every statement naming the concept by any of its names carries with the same weight."""
        parts = [fts_quote(t) for t in terms]
        if concepts:
            parts += [concept_token(c) for c in expansion.concepts]
        if self.config.expand:
            parts += [fts_quote(p) for p in expansion.added]
        return " OR ".join(dict.fromkeys(p for p in parts if p))

    def _fuse(
        self,
        lexical: list[tuple[int, float]],
        extra: list[tuple[int, float]],
        dense: list[tuple[int, float]],
        kind: Literal["statement", "passage"],
    ) -> list[Hit]:
        rankings = [[r for r, _ in lexical], [r for r, _ in extra], [r for r, _ in dense]]
        scores = rrf(rankings, self.config.rrf_k)
        bm = dict(lexical)
        cos = dict(dense)
        hits = [
            Hit(kind, rowid, "", score, bm.get(rowid), cos.get(rowid))
            for rowid, score in scores.items()
        ]
        hits.sort(key=lambda h: (-h.score, -(h.bm25 or 0.0)))
        return hits

    def _alts(self, expansion: Expansion) -> dict[str, tuple[str, ...]]:
        return expansion.alternatives if self.config.alternatives else {}

    def retrieve(self, query: str, limit: int = 10) -> Retrieval:
        terms = [t for t in content_tokens(query) if t not in self.ignore]
        # terminology concepts (and word forms) are searched; shorthand and lay words with what
        # they mean only count as one another when a statement is checked for the question's words
        named = self.lexicon.expand(query, skip=is_reading)
        everything = self.lexicon.expand(query)
        expansion = Expansion(named.concepts, named.matched, named.added, everything.alternatives)
        match = self.match_expression(terms, expansion)
        st_match = self.match_expression(terms, expansion, concepts=self.config.concepts)
        qvec = self.embedder.encode([query])[0] if self.embedder is not None else None
        out = Retrieval(query, terms, expansion, dense_used=qvec is not None, match=st_match)
        pool = self.config.pool
        lexical = self.index.search(st_match, pool)
        if self.config.alternatives:
            lexical = combine(lexical, self.index.search_synonyms(match, pool), SYNONYM_WEIGHT)
        hits = self._fuse(
            lexical, [], self.index.dense(qvec, pool) if qvec is not None else [], "statement"
        )[:limit]
        for hit in hits:
            hit.key = self.index.statement_id(hit.rowid)
            hit.coverage = coverage(self.index, terms, [hit.rowid], self._alts(expansion))
        out.statements = hits
        if self.store is not None and self.store.size:
            store = self.store
            phits = self._fuse(
                store.search(match, pool),
                [],
                store.dense(qvec, pool) if qvec is not None and store.vectors is not None else [],
                "passage",
            )[:limit]
            for hit in phits:
                hit.key = str(hit.rowid)
                hit.coverage = coverage(store, terms, [hit.rowid], self._alts(expansion))
            out.passages = phits
        return out
