"""Population-audit benchmark: patients per second and peak memory of ``leptoguide batch``.

    python benchmarks/batch.py --patients 10000 100000 1000000 --engine duckdb
    python benchmarks/batch.py --patients 10000 --engine spark

Each size gets a seeded synthetic export (``leptoguide batch-synth``, reused if present under
``--work``); each run is a fresh ``leptoguide batch --audit lp-safety --charts 0`` process, timed
from outside (wall and CPU seconds), its peak RSS taken from the children's rusage (the JVM is a
grandchild for Spark and is not counted: its heap is capped by Spark's driver memory setting). The 1-minute
load average is printed with every figure: the machine is shared.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path


def load() -> str:
    return f"{os.getloadavg()[0]:.2f}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--patients", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--engine", default="duckdb")
    ap.add_argument("--work", type=Path, default=Path("var/bench-batch"))
    ap.add_argument("--runs", type=int, default=1)
    args = ap.parse_args()
    exe = [sys.executable, "-m", "leptoguide"]
    for n in args.patients:
        export = args.work / f"export-{n}"
        if not export.exists():
            t0 = time.perf_counter()
            subprocess.run(
                [*exe, "batch-synth", str(export), "--patients", str(n), "--seed", "16"], check=True
            )
            print(f"generated {n} patients in {time.perf_counter() - t0:.1f} s", flush=True)
        size = sum(p.stat().st_size for p in export.iterdir()) / 1e6
        for run in range(args.runs):
            before = load()
            r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            proc = subprocess.run(
                [
                    *exe,
                    "batch",
                    str(export),
                    "--out",
                    str(args.work / f"out-{args.engine}-{n}"),
                    "--engine",
                    args.engine,
                    "--audit",
                    "lp-safety",
                    "--charts",
                    "0",
                    "--quiet",
                ],
                check=True,
                capture_output=True,
                text=True,
            )
            wall = time.perf_counter() - t0
            r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
            peak_mb = r1.ru_maxrss / 1024
            print(
                f"{args.engine} patients={n} export={size:.0f}MB run={run + 1} wall={wall:.1f}s "
                f"cpu={cpu:.1f}s patients/s={n / wall:,.0f} peak_rss_max_so_far={peak_mb:.0f}MB "
                f"load_before={before} load_after={load()} :: {proc.stdout.strip()}",
                flush=True,
            )


if __name__ == "__main__":
    main()
