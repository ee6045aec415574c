"""Side-by-side accuracy of the two result files, per ConText category, as a Markdown table.

Run: python benchmarks/assertion/summarize.py  (after both run_*.py scripts)
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

HERE = Path(__file__).parent
CATEGORIES = ("present", "negated", "possible", "hypothetical", "historical", "family")


def main() -> None:
    systems = {
        "LeptoGuide": json.loads((HERE / "results-leptoguide.json").read_text()),
        "medspaCy 1.3.1": json.loads((HERE / "results-medspacy.json").read_text()),
    }
    totals = Counter(r["gold"] for r in next(iter(systems.values())))
    print("| category | sentences | " + " | ".join(systems) + " |")
    print("|---|---|" + "---|" * len(systems))
    for cat in CATEGORIES:
        cells = []
        for results in systems.values():
            right = sum(1 for r in results if r["gold"] == cat and r["got"] == cat)
            cells.append(f"{right}/{totals[cat]}")
        print(f"| {cat} | {totals[cat]} | " + " | ".join(cells) + " |")
    cells = []
    for results in systems.values():
        right = sum(1 for r in results if r["got"] == r["gold"])
        cells.append(f"**{right}/{len(results)} ({100 * right / len(results):.0f}%)**")
    print(f"| all | {sum(totals.values())} | " + " | ".join(cells) + " |")
    for name, results in systems.items():
        unsafe = [
            r for r in results if r["gold"] in ("possible", "family") and r["got"] == "present"
        ]
        print(f"\n{name}: 'possible' or 'family' read as present: {len(unsafe)}")
        for r in unsafe:
            print(f"  - {r['text']}")
        wrong = [r for r in results if r["got"] != r["gold"]]
        print(f"{name}: all disagreements with the gold category ({len(wrong)}):")
        for r in wrong:
            print(f"  - {r['text']} (gold {r['gold']}, got {r['got']})")


if __name__ == "__main__":
    main()
