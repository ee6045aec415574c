"""ConText category of each sentence's target phrase by LeptoGuide's assertion reader
(intake/assertion.py with the cue lexicons of the knowledge base). Writes results-leptoguide.json.

Run: python benchmarks/assertion/run_leptoguide.py
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import yaml

from leptoguide.intake.assertion import assertion_of
from leptoguide.intake.narrative import sentences as split_sentences
from leptoguide.intake.terminology import normalize_text, term_index
from leptoguide.knowledge.loader import get_knowledge

HERE = Path(__file__).parent


def _has(tokens: list[str], target: list[str]) -> bool:
    return any(tokens[i : i + len(target)] == target for i in range(len(tokens)))


def main() -> None:
    sentences = yaml.safe_load((HERE / "sentences.yaml").read_text())["sentences"]
    index = term_index(get_knowledge())
    out = []
    start = time.perf_counter()
    for s in sentences:
        target = normalize_text(s["target"]).split()
        # the reader's own sentence split (narrative.sentences), then the sentence with the target
        tokens = next(
            toks
            for part in split_sentences(s["text"])
            if _has(toks := normalize_text(part).split(), target)
        )
        pos = next(i for i in range(len(tokens)) if tokens[i : i + len(target)] == target)
        span = frozenset(range(pos, pos + len(target)))
        cues = index.context.scan(tokens, span)
        found = assertion_of(cues, pos, pos + len(target), len(tokens))
        out.append({"text": s["text"], "gold": s["category"], "got": found.category})
    elapsed = time.perf_counter() - start
    (HERE / "results-leptoguide.json").write_text(json.dumps(out, indent=1) + "\n")
    print(f"{len(out)} sentences in {elapsed * 1000:.1f} ms")


if __name__ == "__main__":
    main()
