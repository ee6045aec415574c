"""CLI cold start: wall time of whole `leptoguide` processes, against two floors.

Usage: python benchmarks/cli_start.py [--runs N] [--write docs/benchmarks.md]

Each command runs as a fresh process N times (interleaved, so load changes hit every command
alike); the table gives the median and the fastest run. Floors: `python -c pass` (interpreter
start) and a bare Typer app with one command and one option (the framework's own start-up). The
knowledge snapshot is built once before timing (as `make setup` does); one extra run measures the
first command after the snapshot was removed (what the first call after a knowledge change costs).
The machine's load average is printed before and after: on a shared machine it moves the figures.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).parents[1]
EXAMPLE = ROOT / "examples" / "fhir" / "sclc-poor-risk.json"
AT = "2026-11-20T12:00:00Z"
TARGETS = {"leptoguide --version": 0.5, "leptoguide assess": 1.0, "leptoguide ask": 1.0}

BARE_TYPER = """
import typer

app = typer.Typer()


@app.command()
def hello(name: str = typer.Option("world", "--name")) -> None:
    print(f"hello {name}")


app()
"""


def commands(bare: Path) -> dict[str, list[str]]:
    py = sys.executable
    lg = [py, "-m", "leptoguide"]
    return {
        "python -c pass": [py, "-c", "pass"],
        "bare Typer app": [py, str(bare), "--name", "x"],
        "leptoguide --version": [*lg, "--version"],
        "leptoguide assess": [*lg, "assess", str(EXAMPLE), "--format", "text", "--at", AT],
        "leptoguide assess --format json": [
            *lg,
            "assess",
            str(EXAMPLE),
            "--format",
            "json",
            "--at",
            AT,
        ],
        "leptoguide ask": [*lg, "ask", "What is the dose of intrathecal methotrexate?"],
    }


def once(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds user + system) of one process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, check=False)
    took = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {done.stderr.decode()[-500:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return took, cpu


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--write", type=Path, default=None)
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="lg-bench-"))
    bare = work / "bare_typer.py"
    bare.write_text(BARE_TYPER)
    env = dict(os.environ, LEPTOGUIDE_CACHE_DIR=str(work / "cache"), LEPTOGUIDE_HOME=str(work))
    env.setdefault("PYTHONPATH", str(ROOT / "src"))
    cmds = commands(bare)

    load_before = os.getloadavg()
    once(cmds["leptoguide assess"], env)  # no snapshot yet: builds it
    once(cmds["leptoguide ask"], env)  # and the dictionary word list
    shutil.rmtree(work / "cache", ignore_errors=True)
    first, first_cpu = once(cmds["leptoguide assess"], env)
    times: dict[str, list[float]] = {name: [] for name in cmds}
    cpus: dict[str, list[float]] = {name: [] for name in cmds}
    for _ in range(args.runs):
        for name, argv in cmds.items():
            wall, cpu = once(argv, env)
            times[name].append(wall)
            cpus[name].append(cpu)
    load_after = os.getloadavg()
    shutil.rmtree(work, ignore_errors=True)

    floor = statistics.median(times["bare Typer app"])
    rows = []
    for name, values in times.items():
        med = statistics.median(values)
        target = TARGETS.get(name)
        verdict = "" if target is None else ("met" if med < target else "NOT met")
        rows.append(
            f"| `{name}` | {med:.3f} | {min(values):.3f} | {statistics.median(cpus[name]):.3f} | "
            f"{med / floor:.2f} | {f'< {target:g} s' if target else ''} {verdict} |"
        )
    load = (
        f"load average {load_before[0]:.2f} / {load_before[1]:.2f} before, "
        f"{load_after[0]:.2f} / {load_after[1]:.2f} after (1 / 5 min), "
        f"{os.cpu_count()} CPUs"
    )
    lines = [
        "## CLI start-up",
        "",
        f"`python benchmarks/cli_start.py --runs {args.runs}` on CPython "
        f"{platform.python_version()}, {platform.machine()}; {time.strftime('%Y-%m-%d')}; "
        f"{load}. Wall time of whole processes in seconds (median and fastest of "
        f"{args.runs}), the median CPU time (user + system) of the process, which load moves "
        "far less than wall time; ratio = median / bare Typer app. Targets are judged on the "
        "median wall time.",
        "",
        "| command | median s | fastest s | CPU s | ratio | target |",
        "|---|---:|---:|---:|---:|---|",
        *rows,
        "",
        f"First `leptoguide assess` after the knowledge snapshot was removed (it loads and "
        f"validates every knowledge file, then writes the snapshot): {first:.3f} s wall, "
        f"{first_cpu:.3f} s CPU.",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if args.write:
        doc = args.write.read_text() if args.write.exists() else "# Benchmarks\n\n"
        head, found, rest = doc.partition("## CLI start-up")
        if found:
            nxt = rest.find("\n## ")
            tail = rest[nxt + 1 :] if nxt >= 0 else ""
            doc = head + text + ("\n" + tail if tail else "")
        else:
            doc = doc.rstrip("\n") + "\n\n" + text
        args.write.write_text(doc)


if __name__ == "__main__":
    main()
