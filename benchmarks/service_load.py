"""Service load: req/s and p50/p95/p99 for order-sign and /api/ask at concurrency 1, 8 and 32.

The order-sign request is the realistic shape: a full prefetch of about 90 resources (lab
histories, conditions, medications, administrations, a device, orders, procedures) plus two draft
orders, one of them also in the prefetch as a pending order. ``--stages N`` times each stage of an
order-sign call in process instead (parse, assemble, intake, engine, cards, audit commit).

Starts a real ``leptoguide serve`` (one worker, SQLite in a temporary state directory, loopback) and
drives it from a load generator on the same machine: ``wrk`` with a Lua reporter when it is
installed, else an httpx asyncio generator (closed loop: each of C workers sends its next request
when the previous answer arrived). ``/healthz`` gives the ceiling of the stack itself.

    python benchmarks/service_load.py [--duration 5] [--write-docs]

Every response must be 200 (errors are counted and reported); each order-sign call is a full
assessment, card building and a committed, hash-chained audit row.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from service_cases import hook_request, realistic_order_sign  # noqa: E402

CONCURRENCY = (1, 8, 32)
QUESTION = "What platelet count is needed before a lumbar puncture?"
SECTION = "## Service"


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, workers: int = 1, database: str | None = None) -> None:
        self.home = Path(tempfile.mkdtemp(prefix="leptoguide-bench-"))
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        exe = Path(sys.executable).with_name("leptoguide")
        extra = ["--workers", str(workers)] + (["--database", database] if database else [])
        self.proc = subprocess.Popen(
            [str(exe), "serve", "--port", str(self.port), "--log-level", "warning", *extra],
            env={**os.environ, "LEPTOGUIDE_HOME": str(self.home)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.time() + 90
        while time.time() < deadline:
            try:
                if httpx.get(self.url + "/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        self.stop()
        raise SystemExit("server did not become ready")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=20)
        shutil.rmtree(self.home, ignore_errors=True)


def _pct(sorted_ms: list[float], p: float) -> float:
    if not sorted_ms:
        return float("nan")
    k = min(len(sorted_ms) - 1, max(0, round(p / 100 * (len(sorted_ms) - 1))))
    return sorted_ms[k]


async def _httpx_run(
    url: str, method: str, body: bytes | None, concurrency: int, duration: float
) -> dict[str, Any]:
    latencies: list[float] = []
    errors = 0
    headers = {"content-type": "application/json"}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:

        async def worker(stop_at: float, record: bool) -> None:
            nonlocal errors
            while time.perf_counter() < stop_at:
                t0 = time.perf_counter()
                try:
                    r = await client.request(method, url, content=body, headers=headers)
                    ok = r.status_code == 200
                except httpx.HTTPError:
                    ok = False
                if record:
                    latencies.append((time.perf_counter() - t0) * 1000)
                    errors += 0 if ok else 1

        warm = time.perf_counter() + min(1.0, duration / 3)
        await asyncio.gather(*(worker(warm, False) for _ in range(concurrency)))
        start = time.perf_counter()
        await asyncio.gather(*(worker(start + duration, True) for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    latencies.sort()
    return {
        "requests": len(latencies),
        "errors": errors,
        "rps": len(latencies) / elapsed,
        "p50": _pct(latencies, 50),
        "p95": _pct(latencies, 95),
        "p99": _pct(latencies, 99),
        "mean": statistics.fmean(latencies) if latencies else float("nan"),
    }


LUA = """
wrk.method = "{method}"
wrk.headers["Content-Type"] = "application/json"
{body}
errors = 0
response = function(status, headers, body)
  if status ~= 200 then errors = errors + 1 end
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT %d %d %f %f %f %f\\n", summary.requests,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    latency.mean / 1000))
end
"""


def _wrk_run(
    url: str, method: str, body: bytes | None, concurrency: int, duration: float
) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        body_lua = f"wrk.body = {json.dumps(body.decode())}" if body else ""
        fh.write(LUA.format(method=method, body=body_lua))
        script = fh.name
    try:
        subprocess.run(
            ["wrk", "-t1", "-c", str(concurrency), "-d", "1s", "-s", script, url],
            capture_output=True,
            check=True,
        )  # warm-up
        out = subprocess.run(
            ["wrk", "-t1", "-c", str(concurrency), "-d", f"{duration:g}s", "-s", script, url],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        os.unlink(script)
    m = re.search(r"RESULT (\d+) (\d+) ([\d.]+) ([\d.]+) ([\d.]+) ([\d.]+)", out)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if not m or not rps:
        raise SystemExit(f"cannot parse wrk output:\n{out}")
    return {
        "requests": int(m.group(1)),
        "errors": int(m.group(2)),
        "rps": float(rps.group(1)),
        "p50": float(m.group(3)),
        "p95": float(m.group(4)),
        "p99": float(m.group(5)),
        "mean": float(m.group(6)),
    }


def realistic_body() -> bytes:
    """An order-sign request as an EHR sends it: full prefetch (about 90 resources) + 2 drafts."""
    chart, drafts = realistic_order_sign("p-real")
    return json.dumps(hook_request("order-sign", "p-real", chart, drafts)).encode()


def stages(iterations: int) -> dict[str, float]:
    """Median CPU milliseconds of each stage of one order-sign call, in process (no HTTP)."""
    import orjson

    from leptoguide.api import cds_hooks
    from leptoguide.api.cards import build_cards
    from leptoguide.api.cds_request import assemble, read_case
    from leptoguide.api.state import ServiceState
    from leptoguide.settings import Settings

    home = Path(tempfile.mkdtemp(prefix="leptoguide-stages-"))
    state = ServiceState.build(Settings.from_env(database_url=f"sqlite:///{home}/s.sqlite3"))
    body = realistic_body()
    times: dict[str, list[float]] = {k: [] for k in
                                     ("parse", "assemble", "intake", "engine", "cards", "audit")}  # fmt: skip
    try:
        for i in range(iterations + 10):
            t = [time.process_time()]
            req = cds_hooks.CdsRequest.model_validate(orjson.loads(body))
            t.append(time.process_time())
            hook_input = assemble(req.prefetch or {}, req.context["draftOrders"], "p-real")
            t.append(time.process_time())
            case = read_case(hook_input, name="bench", kb=state.kb, patient_id="p-real")
            t.append(time.process_time())
            assessment = state.assess(case, at=None, audience="clinician")
            t.append(time.process_time())
            cards = build_cards(assessment, case, kb=state.kb, hook="order-sign",
                                base="http://x", audit_id=str(i), draft_refs=hook_input.drafts,
                                patient_id="p-real")  # fmt: skip
            t.append(time.process_time())
            state.record(service="bench", patient_id="p-real",
                         input_data={"context": req.context, "bundle": hook_input.bundle},
                         output={"response": {"cards": cards}, "assessment": assessment.model_dump()})  # fmt: skip
            t.append(time.process_time())
            if i >= 10:
                for k, a, b in zip(times, t, t[1:], strict=False):
                    times[k].append((b - a) * 1000)
    finally:
        state.db.dispose()
        shutil.rmtree(home, ignore_errors=True)
    out = {k: statistics.median(v) for k, v in times.items()}
    out["total"] = sum(out.values())
    return out


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_per_request(n: int, database: str | None = None) -> dict[str, float]:
    """Server CPU milliseconds per request (sequential calls, one worker): independent of how
    busy the machine is, unlike latency. Measured from the server process's own CPU counters."""
    server = Server(1, database)
    try:
        sign = realistic_body()
        targets = {
            "/healthz": ("GET", "/healthz", None),
            "order-sign": ("POST", "/cds-services/leptoguide-order-sign", sign),
            "/api/ask": ("POST", "/api/ask", json.dumps({"question": QUESTION}).encode()),
        }
        out: dict[str, float] = {}
        # wait until start-up work in background threads (index warming) has finished
        idle_deadline = time.time() + 120
        last = _cpu_seconds(server.proc.pid)
        while time.time() < idle_deadline:
            time.sleep(1.0)
            now = _cpu_seconds(server.proc.pid)
            if now - last < 0.02:
                break
            last = now
        with httpx.Client(base_url=server.url, timeout=60,
                          headers={"content-type": "application/json"}) as client:  # fmt: skip
            for label, (method, path, body) in targets.items():
                for _ in range(20):
                    client.request(method, path, content=body)
                before = _cpu_seconds(server.proc.pid)
                for _ in range(n):
                    r = client.request(method, path, content=body)
                    if r.status_code != 200:
                        raise SystemExit(f"{path}: {r.status_code}")
                out[label] = (_cpu_seconds(server.proc.pid) - before) * 1000 / n
        return out
    finally:
        server.stop()


def run(
    duration: float,
    generator: str,
    *,
    workers: int = 1,
    database: str | None = None,
    endpoints: tuple[str, ...] = ("/healthz (ceiling)", "order-sign", "/api/ask"),
    concurrency: tuple[int, ...] = CONCURRENCY,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    server = Server(workers, database)
    try:
        sign = realistic_body()
        ask = json.dumps({"question": QUESTION}).encode()
        targets = [
            ("/healthz (ceiling)", "GET", "/healthz", None),
            ("order-sign", "POST", "/cds-services/leptoguide-order-sign", sign),
            ("/api/ask", "POST", "/api/ask", ask),
        ]
        # sanity: each target answers 200 before measuring
        for _, method, path, body in targets:
            r = httpx.request(method, server.url + path, content=body, timeout=60,
                              headers={"content-type": "application/json"})  # fmt: skip
            if r.status_code != 200:
                raise SystemExit(f"{path}: {r.status_code} {r.text[:300]}")
        rows = []
        for label, method, path, body in targets:
            if label not in endpoints:
                continue
            for c in concurrency:
                if generator == "wrk":
                    res = _wrk_run(server.url + path, method, body, c, duration)
                else:
                    res = asyncio.run(_httpx_run(server.url + path, method, body, c, duration))
                rows.append({"endpoint": label, "concurrency": c, **res})
                print(
                    f"{label:<20} c={c:<3} {res['rps']:8.1f} req/s  p50 {res['p50']:7.2f}  "
                    f"p95 {res['p95']:7.2f}  p99 {res['p99']:7.2f} ms  errors {res['errors']}",
                    flush=True,
                )
        audit = httpx.get(server.url + "/api/version", timeout=10).json()
        return rows, audit
    finally:
        server.stop()


def markdown(
    rows: list[dict[str, Any]], generator: str, duration: float, version: dict[str, Any]
) -> str:
    by = {(r["endpoint"], r["concurrency"]): r for r in rows}
    lines = [
        SECTION,
        "",
        f"`python benchmarks/service_load.py --duration {duration:g}` on {os.cpu_count()} cores, "
        f"load generator: {generator} on the same machine over loopback; one uvicorn worker; "
        f"SQLite (WAL) in a temporary state directory; knowledge {version.get('knowledge')}. "
        "Each order-sign call runs the intake reader, the full rule engine, card building and a "
        "committed, hash-chained audit row before it answers. Load average of the machine when "
        f"the run ended: {os.getloadavg()[0]:.1f} (other jobs share the cores; rerun on a quiet "
        "machine for clean figures).",
        "",
        "| endpoint | concurrency | req/s | p50 ms | p95 ms | p99 ms | errors |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['endpoint']} | {r['concurrency']} | {r['rps']:.1f} | {r['p50']:.2f} | "
            f"{r['p95']:.2f} | {r['p99']:.2f} | {r['errors']} |"
        )
    lines.append("")
    for c in CONCURRENCY:
        ceiling = by[("/healthz (ceiling)", c)]["rps"]
        parts = [
            f"{name} {by[(name, c)]['rps'] / ceiling:.1%}"
            for name in ("order-sign", "/api/ask")
            if (name, c) in by
        ]
        lines.append(
            f"- Ratio to the `/healthz` ceiling at concurrency {c}: " + ", ".join(parts) + "."
        )
    s8 = by[("order-sign", 8)]
    verdict = "meets" if s8["p95"] < 100 and s8["errors"] == 0 else "MISSES"
    lines.append(
        f"- Target (order-sign p95 < 100 ms at concurrency 8, no errors): **{verdict}** "
        f"(p95 {s8['p95']:.1f} ms, {s8['errors']} errors)."
    )
    lines.append("")
    return "\n".join(lines)


def write_docs(text: str) -> None:
    path = ROOT / "docs" / "benchmarks.md"
    doc = path.read_text() if path.exists() else "# Benchmarks\n"
    if SECTION in doc:
        start = doc.index(SECTION)
        nxt = doc.find("\n## ", start + len(SECTION))
        doc = doc[:start] + text + (doc[nxt + 1 :] if nxt != -1 else "")
    else:
        doc = doc.rstrip("\n") + "\n\n" + text
    path.write_text(doc)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=float, default=5.0, help="seconds per measurement")
    ap.add_argument("--generator", choices=["auto", "wrk", "httpx"], default="auto")
    ap.add_argument("--write-docs", action="store_true", help="update docs/benchmarks.md")
    ap.add_argument("--workers", type=int, default=1, help="server worker processes")
    ap.add_argument("--database", help="SQLAlchemy URL (default: SQLite in a temporary directory)")
    ap.add_argument("--scaling", action="store_true",
                    help="only /healthz and order-sign at concurrency 8 (for worker scaling)")  # fmt: skip
    ap.add_argument("--cpu", type=int, default=0, metavar="N",
                    help="only server CPU per request over N sequential calls per endpoint")  # fmt: skip
    ap.add_argument("--stages", type=int, default=0, metavar="N",
                    help="only time the stages of order-sign in process, N iterations")  # fmt: skip
    args = ap.parse_args()
    if args.stages:
        res = stages(args.stages)
        print(
            f"load average {os.getloadavg()[0]:.1f}; median ms per stage over {args.stages} calls:"
        )
        for k, v in res.items():
            print(f"  {k:<9} {v:6.2f}")
        return
    generator = args.generator
    if generator == "auto":
        generator = "wrk" if shutil.which("wrk") else "httpx"
    if args.cpu:
        cpu = cpu_per_request(args.cpu, args.database)
        print(
            f"load average {os.getloadavg()[0]:.1f}; server CPU ms per request ({args.cpu} each):"
        )
        for k, v in cpu.items():
            print(f"  {k:<12} {v:7.2f}  ({cpu['/healthz'] / v:6.1%} of /healthz throughput)")
        return
    if args.scaling:
        rows, version = run(args.duration, generator, workers=args.workers,
                            database=args.database,
                            endpoints=("/healthz (ceiling)", "order-sign"), concurrency=(8,))  # fmt: skip
        print(f"workers {args.workers}, database {'PostgreSQL' if args.database else 'SQLite'}, "
              f"load average {os.getloadavg()[0]:.1f}")  # fmt: skip
        return
    rows, version = run(args.duration, generator, workers=args.workers, database=args.database)
    text = markdown(rows, generator, args.duration, version)
    print()
    print(text)
    if args.write_docs:
        write_docs(text)


if __name__ == "__main__":
    main()
