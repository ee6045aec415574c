"""Words that speak of how LeptoGuide was built rather than of medicine or of the product.

What clinicians and patients read (answers, findings, pages) must never mention the documents the
content was drafted from, the people or tools that drafted it, local file paths, internal file names
or unfinished work. ``find_process_words`` returns every such phrase in a text with its context.
"""

from __future__ import annotations

import re

PROCESS_WORDS = re.compile(
    r"\bseeds?\b|\bseed (?:page|answer|document|question|claim)s?\b"
    r"|\bthe brief\b|\bclinical brief\b|\bbrief_ref\b|(?<!T4 )(?<!T )\bhelpers?\b(?!\s+(?:T\b|cells?\b))|\bpipelines?\b|\bintegrators?\b"
    r"|\bour inputs?\b|\bour notes\b|\bstarting documents?\b"
    r"|\bS[0-4]-\d+\b|\bSeed S[0-4]\b|\(S[0-4]\)|\bS[0-4] (?:claim|page|answer)s?\b|\[[VRM]\]"
    r"|/work/|/home/|/tmp/|\bTODO\b|\bFIXME\b|\bXXX\b"
    r"|\b(?:verification|page-coverage|clinical-reference|product-anchors|style-anchors|pathway"
    r"|COMMON|ISSUES)\.md\b"
    r"|\b(?:c[0-9]-extra|seed-facts|seeds)\.yaml\b"
    r"|\bprimary-source-check\b|\bclinical-reference-brief\b",
    re.IGNORECASE,
)
"""Process words, local paths and internal file names; none may reach a reader."""


def find_process_words(text: str) -> list[str]:
    """Each hit with 40 characters of context on either side."""
    hits = []
    for match in PROCESS_WORDS.finditer(text):
        start, end = max(0, match.start() - 40), min(len(text), match.end() + 40)
        hits.append(" ".join(text[start:end].split()))
    return hits


PATHS_AND_FILES = re.compile(
    r"/work/|/home/|/tmp/|\b[\w-]+\.md\b|\b(?:c[0-9]-extra|seed-facts|seeds)\.yaml\b|\bbrief_ref\b",
    re.IGNORECASE,
)
"""Local paths and internal file names only: for terminology, whose clinical vocabulary may hold
words that are process words elsewhere (a radioactive seed, T helper cells)."""


def find_paths_and_files(text: str) -> list[str]:
    return [m.group(0) for m in PATHS_AND_FILES.finditer(text)]
