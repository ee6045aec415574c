"""Concept classes the computations need (which concepts are cancers, antibiotics, ...).

The terminology (``data/terminology``) is the source: a concept lists its ``classes``. Until every
concept carries its classes, the fallback below (concept ids from the fixed contract, no doses or
thresholds) keeps the engine working; a concept's own ``classes`` always win when present.
"""

from __future__ import annotations

from leptoguide.knowledge.loader import KnowledgeBase

ALIASES: dict[str, tuple[str, ...]] = {"cancer": ("primary-cancer",)}

FALLBACK: dict[str, frozenset[str]] = {
    "cancer": frozenset(
        {
            "breast-cancer",
            "nsclc",
            "sclc",
            "lung-cancer",
            "melanoma",
            "lymphoma",
            "leukemia",
            "leptomeningeal-metastasis",
            "brain-metastasis",
        }
    ),
    "antibiotic": frozenset(
        {"ceftriaxone", "cefotaxime", "vancomycin", "ampicillin", "amoxicillin", "gentamicin"}
    ),
}


def members(kb: KnowledgeBase, cls: str) -> frozenset[str]:
    """Concept ids in class ``cls`` (terminology first, then the fallback)."""
    names = {cls, *ALIASES.get(cls, ())}
    found = {cid for cid, c in kb.concepts.items() if names & set(c.classes)}
    return frozenset(found) | FALLBACK.get(cls, frozenset())
