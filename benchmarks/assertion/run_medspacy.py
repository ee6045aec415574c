"""ConText category of each sentence's target phrase by medspaCy 1.3.1 (spacy.blank + sentencizer +
target matcher + ConText with its default rules). Writes results-medspacy.json.

medspaCy pins numpy 1.26 on Python 3.11, so this runs in its own virtual environment:
    python3.11 -m venv var/nlp-venv && var/nlp-venv/bin/pip install medspacy==1.3.1
    var/nlp-venv/bin/python benchmarks/assertion/run_medspacy.py
It imports nothing from LeptoGuide.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import medspacy  # type: ignore[import-not-found]
import spacy  # type: ignore[import-not-found]
import yaml
from medspacy.context import ConText  # type: ignore[import-not-found]  # noqa: F401
from medspacy.ner import TargetRule  # type: ignore[import-not-found]

HERE = Path(__file__).parent
PRECEDENCE = ("family", "hypothetical", "negated", "possible", "historical")
FLAGS = {
    "family": "is_family",
    "hypothetical": "is_hypothetical",
    "negated": "is_negated",
    "possible": "is_uncertain",
    "historical": "is_historical",
}


def main() -> None:
    sentences = yaml.safe_load((HERE / "sentences.yaml").read_text())["sentences"]
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    matcher = nlp.add_pipe("medspacy_target_matcher")
    nlp.add_pipe("medspacy_context")
    targets = sorted({s["target"] for s in sentences})
    matcher.add([TargetRule(t, "TARGET") for t in targets])
    out = []
    start = time.perf_counter()
    for s in sentences:
        doc = nlp(s["text"])
        ents = [e for e in doc.ents if e.text.lower() == s["target"].lower()] or list(doc.ents)
        got = "missed"
        if ents:
            ent = ents[0]
            got = next((c for c in PRECEDENCE if getattr(ent._, FLAGS[c])), "present")
        out.append({"text": s["text"], "gold": s["category"], "got": got})
    elapsed = time.perf_counter() - start
    (HERE / "results-medspacy.json").write_text(json.dumps(out, indent=1) + "\n")
    print(f"medspacy {medspacy.__version__}: {len(out)} sentences in {elapsed * 1000:.1f} ms")


if __name__ == "__main__":
    main()
