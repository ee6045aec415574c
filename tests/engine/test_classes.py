"""Concept classes come from the terminology data only (no engine fallback lists)."""

from __future__ import annotations

import pytest

from leptoguide.engine.classes import REQUIRED, members
from leptoguide.knowledge.loader import KnowledgeBase, load_knowledge


@pytest.fixture(scope="module")
def real_kb() -> KnowledgeBase:
    return load_knowledge(check_readability=False)


@pytest.mark.parametrize("cls", REQUIRED)
def test_every_class_the_engine_reads_has_members(real_kb: KnowledgeBase, cls: str) -> None:
    assert members(real_kb, cls)


def test_cancer_class_covers_primaries_and_cns_metastasis(real_kb: KnowledgeBase) -> None:
    cancers = members(real_kb, "cancer")
    assert {"breast-cancer", "nsclc", "melanoma", "leptomeningeal-metastasis"} <= cancers
    assert members(real_kb, "primary-cancer") | members(real_kb, "cns-metastasis") == cancers
    assert "meningitis" not in cancers and "sepsis" not in cancers


def test_antibiotic_class_from_data(real_kb: KnowledgeBase) -> None:
    abx = members(real_kb, "antibiotic")
    assert {"ceftriaxone", "vancomycin", "ampicillin"} <= abx
    assert "dexamethasone" not in abx and "fluconazole" not in abx


def test_no_class_no_members(real_kb: KnowledgeBase) -> None:
    assert members(real_kb, "no-such-class") == frozenset()
