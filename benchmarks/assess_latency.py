"""Assessment latency: median and p95 per bundle (read + assess), after start-up.

Usage: python benchmarks/assess_latency.py [--runs N] [--write docs/benchmarks.md]

Bundles: examples/**/*.json if present, the scenario bundles in tests/scenarios/bundles, and a
synthetic 200-resource bundle. Start-up (loading the knowledge base, first template compile) is
excluded: each bundle is assessed once before timing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).parents[1]
SCEN = ROOT / "tests" / "scenarios"
TESTS = ROOT / "tests"
sys.path.insert(0, str(TESTS))

from leptoguide.engine import assess  # noqa: E402
from leptoguide.errors import InputError  # noqa: E402
from leptoguide.intake import read_input  # noqa: E402
from leptoguide.knowledge.loader import KnowledgeBase, default_data_dir, load_knowledge  # noqa: E402
from leptoguide.policy import load_policy  # noqa: E402
from scenarios.build_bundles import AT, B  # noqa: E402


def reader_kb(kb: KnowledgeBase) -> KnowledgeBase:
    if kb.concepts:
        return kb
    root = Path(tempfile.mkdtemp()) / "kb"
    shutil.copytree(default_data_dir() / "terminology", root / "terminology")
    shutil.copy(default_data_dir() / "knowledge.yaml", root / "knowledge.yaml")
    shutil.copy(SCEN / "terminology" / "concepts.yaml", root / "terminology" / "bench.yaml")
    return load_knowledge(root, check_readability=False)


def synthetic(n: int = 200) -> bytes:
    b = B().cond("Breast cancer").lm("typical-lm-signs", True).lm("mri-lm-pattern", "linear")
    b.lm("csf-cytology", "negative").lm("her2-status", "positive").order("Lumbar puncture")
    b.med("Enoxaparin", kind="MedicationStatement", dose=40, per_day=1, hours=10)
    b.med("Methotrexate", dose=12, route="Intrathecal", start="2026-11-23")
    i = 0
    while len(b.entries) < n:
        i += 1
        b.platelets(150 + i % 50, hours=1 + i)
        b.inr(1.0 + (i % 5) / 10, hours=1 + i)
        b.lab("26465-5", 3 + i % 4, "/uL", hours=1 + i)
    return json.dumps(b.bundle()).encode()


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--write", type=Path, default=None)
    args = ap.parse_args()
    kb = load_knowledge(check_readability=False)
    rkb = reader_kb(kb)
    policy = load_policy(kb)
    inputs: list[tuple[str, bytes]] = []
    for p in sorted((ROOT / "examples").rglob("*.json")) if (ROOT / "examples").is_dir() else []:
        inputs.append((p.relative_to(ROOT).as_posix(), p.read_bytes()))
    for p in sorted((SCEN / "bundles").glob("*.json")):
        inputs.append((p.relative_to(ROOT).as_posix(), p.read_bytes()))
    inputs.append(("synthetic-200-resources", synthetic()))
    at = AT
    rows = []
    for name, data in inputs:
        try:
            read_input(data, name=name, kb=rkb)
        except InputError:
            continue  # the malformed-JSON scenario
        times = []
        for i in range(args.runs + 1):
            t0 = time.perf_counter()
            case = read_input(data, name=name, kb=rkb)
            assess(case, kb=kb, policy=policy, at=at)
            if i:
                times.append((time.perf_counter() - t0) * 1000)
        rows.append((name, statistics.median(times), pct(times, 95)))
    all_p95 = max(r[2] for r in rows)
    lines = [
        "## Assessment",
        "",
        f"`python benchmarks/assess_latency.py --runs {args.runs}` on {platform.python_implementation()} "
        f"{platform.python_version()}, {platform.machine()}; {dt.date.today().isoformat()}.",
        "Each figure is one bundle read by the intake reader and assessed (all rules, facts, templates),",
        "after start-up (knowledge loaded, one warm-up run). Target: p95 < 50 ms.",
        "",
        "| bundle | median ms | p95 ms |",
        "|---|---:|---:|",
        *[f"| {n} | {m:.2f} | {p:.2f} |" for n, m, p in rows],
        "",
        f"Worst p95: {all_p95:.2f} ms over {len(rows)} bundles "
        f"({'meets' if all_p95 < 50 else 'MISSES'} the 50 ms target).",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if args.write:
        doc = args.write.read_text() if args.write.exists() else "# Benchmarks\n\n"
        if "## Assessment" in doc:
            head, _, rest = doc.partition("## Assessment")
            nxt = rest.find("\n## ")
            doc = head + text + (rest[nxt + 1 :] if nxt >= 0 else "")
        else:
            doc = doc.rstrip("\n") + "\n\n" + text
        args.write.write_text(doc)


if __name__ == "__main__":
    main()
