"""Concept classes the computations need (which concepts are cancers, antibiotics, ...).

The terminology (``data/terminology/concepts.yaml``) is the only source: a concept lists its
``classes``. The engine reads the classes named in ``REQUIRED``; ``leptoguide kb validate`` and the
tests check that the shipped terminology gives each of them at least one member.
"""

from __future__ import annotations

from leptoguide.knowledge.loader import KnowledgeBase

REQUIRED = ("cancer", "antibiotic")
"""Class names the engine computations read (known cancer / LM context, antibiotic timing)."""


def members(kb: KnowledgeBase, cls: str) -> frozenset[str]:
    """Concept ids whose terminology record lists class ``cls``."""
    return frozenset(cid for cid, c in kb.concepts.items() if cls in c.classes)
