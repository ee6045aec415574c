"""Concept classes come from the terminology data only (no engine fallback lists)."""

from __future__ import annotations

import pytest

from leptoguide.engine.classes import REQUIRED, members
from leptoguide.knowledge.loader import KnowledgeBase


@pytest.mark.parametrize("cls", REQUIRED)
def test_every_class_the_engine_reads_has_members(shipped_kb: KnowledgeBase, cls: str) -> None:
    assert members(shipped_kb, cls)


def test_cancer_class_covers_primaries_and_cns_metastasis(shipped_kb: KnowledgeBase) -> None:
    cancers = members(shipped_kb, "cancer")
    assert {"breast-cancer", "nsclc", "melanoma", "leptomeningeal-metastasis"} <= cancers
    assert members(shipped_kb, "primary-cancer") | members(shipped_kb, "cns-metastasis") == cancers
    assert "meningitis" not in cancers and "sepsis" not in cancers


def test_antibiotic_class_from_data(shipped_kb: KnowledgeBase) -> None:
    abx = members(shipped_kb, "antibiotic")
    assert {"ceftriaxone", "vancomycin", "ampicillin"} <= abx
    assert "dexamethasone" not in abx and "fluconazole" not in abx


def test_no_class_no_members(shipped_kb: KnowledgeBase) -> None:
    assert members(shipped_kb, "no-such-class") == frozenset()
