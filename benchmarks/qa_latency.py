"""Question-answering latency: per-question median/p95 after start-up, cold start, index build, memory.

Usage: python benchmarks/qa_latency.py [--runs 3] [--no-write]
Writes the section "Question answering" of docs/benchmarks.md. The generative backend is off.
Dense retrieval is used when a model is exported in $LEPTOGUIDE_HOME (leptoguide index build --dense).
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "benchmarks.md"
HEAD = "## Question answering"


def _cold_start(question: str) -> float:
    """Wall time of one `leptoguide ask` process (imports, KB load, cached index, one answer)."""
    exe = Path(sys.executable).with_name("leptoguide")
    started = time.perf_counter()
    subprocess.run([str(exe), "ask", question, "--format", "json"], check=True, capture_output=True)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="timed passes over the question set")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)

    import yaml

    from leptoguide.answer.embed import load_embedder
    from leptoguide.answer.pipeline import QA, Options, index_file
    from leptoguide.knowledge.loader import get_knowledge

    questions = [
        (q["question"], q["audience"])
        for q in yaml.safe_load((ROOT / "eval" / "questions.yaml").read_text())["questions"]
        if not q.get("follow_up_of")
    ]
    kb = get_knowledge()
    dense = load_embedder() is not None

    # index build time: into a scratch state dir, so the real cache is untouched
    with tempfile.TemporaryDirectory() as scratch:
        home = os.environ.get("LEPTOGUIDE_HOME")
        os.environ["LEPTOGUIDE_HOME"] = scratch
        started = time.perf_counter()
        QA(kb, Options(dense=False, use_llm=False, use_store=False))
        build_lexical = time.perf_counter() - started
        if home is None:
            del os.environ["LEPTOGUIDE_HOME"]
        else:
            os.environ["LEPTOGUIDE_HOME"] = home

    started = time.perf_counter()
    qa = QA(kb, Options(use_llm=False))  # the state dir's index (built if missing)
    startup = time.perf_counter() - started
    qa.ask(questions[0][0], audience=questions[0][1])  # warm-up
    times: list[float] = []
    for _ in range(args.runs):
        for question, audience in questions:
            t0 = time.perf_counter()
            qa.ask(question, audience=audience)
            times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    median = statistics.median(times)
    p95 = times[int(0.95 * (len(times) - 1))]
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    cold = statistics.median(_cold_start("What INR is acceptable before LP?") for _ in range(3))

    rows = [
        ("questions x runs", f"{len(questions)} x {args.runs}"),
        ("retrieval", "hybrid (FTS5 bm25 + MiniLM ONNX, RRF)" if dense else "lexical (FTS5 bm25)"),
        ("median latency per question", f"{median:.1f} ms"),
        ("p95 latency per question", f"{p95:.1f} ms (target < 150 ms)"),
        ("pipeline start-up (KB loaded, index cached)", f"{startup * 1000:.0f} ms"),
        ("cold start: `leptoguide ask` process, median of 3", f"{cold:.2f} s"),
        ("lexical index build (fresh state dir)", f"{build_lexical:.2f} s"),
        ("peak RSS of this benchmark process", f"{peak_mb:.0f} MB"),
    ]
    for key, value in rows:
        print(f"{key}: {value}")
    if args.no_write:
        return 0
    lines = [
        HEAD,
        "",
        f"`python benchmarks/qa_latency.py --runs {args.runs}` on CPython "
        f"{platform.python_version()}, {platform.machine()}, knowledge {kb.version} "
        f"({len(kb.statements)} statements); generative backend off. Index: `{index_file(kb).name}`.",
        "",
        "| measure | value |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in rows],
        "",
        "The dense index build (`leptoguide index build --dense`) exports the model once (about "
        "20 s) and embeds two texts per statement; vectors are cached by text hash, so later "
        "builds embed only changed statements. See docs/qa.md.",
        "",
    ]
    section = "\n".join(lines)
    doc = DOC.read_text(encoding="utf-8") if DOC.is_file() else "# Benchmarks\n"
    if HEAD in doc:
        start = doc.index(HEAD)
        nxt = doc.find("\n## ", start + len(HEAD))
        doc = doc[:start] + section + (doc[nxt + 1 :] if nxt != -1 else "")
    else:
        doc = doc.rstrip() + "\n\n" + section
    DOC.write_text(doc, encoding="utf-8")
    print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
