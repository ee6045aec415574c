"""Caches of values worked out from a loaded knowledge base end with it.

A process that loads knowledge again (the test suite, a ``leptoguide`` command run in process, a
reload) must not keep every earlier knowledge base alive through the caches keyed on its ``id``,
and a new knowledge base that gets a freed ``id`` must not see the old one's entries.
"""

from __future__ import annotations

import gc
import weakref
from typing import Any

from leptoguide.answer import expand, pipeline, vocabulary
from leptoguide.answer.values import _KNOWN, _known_words
from leptoguide.answer.vocabulary import vocabulary_for
from leptoguide.engine import assessment, derive, series
from leptoguide.knowledge.loader import load_knowledge
from leptoguide.memo import once_per
from leptoguide.policy import load_policy


def test_caches_let_a_replaced_knowledge_base_go() -> None:
    kb = load_knowledge(check_readability=False)
    policy = load_policy(kb)
    vocab = vocabulary_for(kb)
    rule = next(r for r in kb.rules.values() if r.status != "retired")
    tree = assessment._parsed(rule)
    assessment._input_plan(rule, tree)
    derive._plan(kb)
    series._limits(kb, policy)
    _known_words(kb, vocab)
    expand.lexicon_for(kb)
    pipeline.kb_word_counts(kb)
    keys: list[tuple[dict[Any, Any], object]] = [
        (derive._PLANS, id(kb)),
        (series._CACHE, (id(kb), policy.hash)),
        (assessment._TREES, id(rule)),
        (assessment._INPUT_PLANS, (id(rule), id(tree))),
        (_KNOWN, (id(kb), id(vocab))),
        (vocabulary._VOCABULARIES, id(kb)),
        (expand._LEXICONS, id(kb)),
        (pipeline._WORD_COUNTS, id(kb)),
    ]
    assert all(key in cache for cache, key in keys)
    gone = weakref.ref(kb)
    del kb, policy, vocab, rule, tree
    gc.collect()
    assert gone() is None
    assert not [key for cache, key in keys if key in cache]


def test_once_per_builds_once_and_forgets_with_the_owner() -> None:
    class Owner:
        pass

    cache: dict[int, list[int]] = {}
    owner, calls = Owner(), list[int]()

    def build() -> list[int]:
        calls.append(1)
        return [len(calls)]

    first = once_per(cache, id(owner), build, owner)
    assert once_per(cache, id(owner), build, owner) is first
    assert calls == [1]
    key = id(owner)
    del owner
    gc.collect()
    assert key not in cache
