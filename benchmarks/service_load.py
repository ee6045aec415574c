"""Service load: median, p95 and throughput of /healthz, every CDS hook and /api/ask.

One command prints the table (and the machine load before and after):

    python benchmarks/service_load.py                 # concurrency 1 and 8, 5 s each
    python benchmarks/service_load.py --concurrency 1,8,32 --jwt --database postgresql+psycopg://...

The hook requests are the realistic shape: a full prefetch of about 90 resources (lab histories,
conditions, medications, administrations, a device, orders, procedures) plus, for order-select and
order-sign, two draft orders, one of them also in the prefetch as a pending order. ``--jwt`` runs
the server with a trusted issuer and sends a freshly signed ES384 token with every hook call
(minted before the run), as an EHR does.

Starts a real ``leptoguide serve`` (``--workers N``, SQLite in a temporary state directory unless
``--database``, loopback), waits until its start-up work is done, and drives it from a load
generator on the same machine: ``wrk`` with a Lua reporter when it is installed, else an httpx
asyncio generator (closed loop: each of C connections sends its next request when the previous
answer arrived). ``/healthz`` gives the ceiling of the stack itself; every other row also shows
its throughput as a share of /healthz at the same concurrency.

Other modes: ``--cpu N`` (server CPU per request from the process's own counters, which machine
load barely moves), ``--stages N`` (where an order-sign call's CPU goes: parse, assemble, intake,
engine, cards, audit commit, JWT check, and the HTTP/middleware remainder), ``--scaling`` (order-sign
at concurrency 8 with 1 and 2 workers, back to back).

Every response must be 200 (errors are counted and reported); each hook call is a full
assessment, card building and a committed, hash-chained audit row.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from cdsutil import EhrKey, write_issuers  # noqa: E402
from service_cases import hook_request, realistic_order_sign  # noqa: E402

QUESTION = "What platelet count is needed before a lumbar puncture?"
PID = "p-real"
PG: ThrowawayPostgres | None = None
HOOK_PATH = "/cds-services/leptoguide-{hook}"


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its children (Linux /proc), in seconds."""
    total = 0.0
    for p in [pid, *_children(pid)]:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    kids = [int(x) for x in text.split()]
    return kids + [g for k in kids for g in _children(k)]


class ThrowawayPostgres:
    """``--database postgres``: a PostgreSQL cluster of the system's server binaries in a
    temporary directory on a free loopback port, with production durability (fsync and
    synchronous_commit on); a fresh database per server run."""

    def __init__(self) -> None:
        import glob

        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))  # fmt: skip
        if not found:
            raise SystemExit("--database postgres needs /usr/lib/postgresql/*/bin (PostgreSQL)")
        self.bin = Path(found[-1]).parent
        self.root = Path(tempfile.mkdtemp(prefix="leptoguide-bench-pg-"))
        self.sudo: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
            self.sudo = ["runuser", "-u", "postgres", "--"]
        self.port = _free_port()
        data = self.root / "data"
        subprocess.run([*self.sudo, str(self.bin / "initdb"), "-D", str(data), "-U", "postgres",
                        "--auth=trust", "-E", "UTF8"], check=True, capture_output=True)  # fmt: skip
        opts = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} -c max_connections=200"
        subprocess.run([*self.sudo, str(self.bin / "pg_ctl"), "-D", str(data), "-l",
                        str(self.root / "log"), "-o", opts, "-w", "start"],
                       check=True, capture_output=True)  # fmt: skip

    def database(self) -> str:
        import uuid

        import psycopg

        name = "bench_" + uuid.uuid4().hex[:8]
        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{self.port}/postgres",
                             autocommit=True) as conn:  # fmt: skip
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        subprocess.run([*self.sudo, str(self.bin / "pg_ctl"), "-D", str(self.root / "data"),
                        "-m", "fast", "-w", "stop"], capture_output=True)  # fmt: skip
        shutil.rmtree(self.root, ignore_errors=True)


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.2f} / {five:.2f}"


class Server:
    """A real ``leptoguide serve`` in a temporary state directory, ready and idle on return."""

    def __init__(self, workers: int = 1, database: str | None = None, *, jwt: bool = False) -> None:
        if database == "postgres":
            database = PG.database() if PG is not None else None
        self.home = Path(tempfile.mkdtemp(prefix="leptoguide-bench-"))
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.key = EhrKey() if jwt else None
        exe = Path(sys.executable).with_name("leptoguide")
        extra = ["--workers", str(workers)] + (["--database", database] if database else [])
        if self.key is not None:
            extra += ["--trusted-issuers", str(write_issuers(self.home / "issuers", self.key))]
        env = {**os.environ, "LEPTOGUIDE_HOME": str(self.home)}
        env.pop("LEPTOGUIDE_PUBLIC_URL", None)  # serve sets http://127.0.0.1:PORT on loopback
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 (closed in stop())
        self.proc = subprocess.Popen(
            [str(exe), "serve", "--port", str(self.port), "--log-level", "warning", *extra],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline, ready = time.time() + 120, False
        while not ready and time.time() < deadline and self.proc.poll() is None:
            with contextlib.suppress(httpx.HTTPError):
                ready = httpx.get(self.url + "/readyz", timeout=1).status_code == 200
            if not ready:
                time.sleep(0.2)
        if not ready:
            self.log.seek(0)
            tail = self.log.read().decode(errors="replace")[-2000:]
            self.stop()
            raise SystemExit(f"server did not become ready:\n{tail}")
        self.wait_idle()

    def wait_idle(self, timeout: float = 120) -> None:
        """Wait until start-up work in background threads (dictionary warming) has finished:
        measuring while it runs would charge its CPU and garbage collections to the requests."""
        deadline = time.time() + timeout
        last = _cpu_seconds(self.proc.pid)
        while time.time() < deadline:
            time.sleep(1.0)
            now = _cpu_seconds(self.proc.pid)
            if now - last < 0.03:
                return
            last = now

    def token(self, path: str) -> str:
        assert self.key is not None
        return "Bearer " + self.key.token(self.url + path)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)
        self.log.close()
        shutil.rmtree(self.home, ignore_errors=True)


def hook_bodies() -> dict[str, bytes]:
    """The three hooks as an EHR calls them for one LM patient: full prefetch (about 90
    resources); order-select and order-sign with two drafts (an LP and intrathecal methotrexate),
    the LP also returned by the ServiceRequest search as a pending order."""
    chart, drafts = realistic_order_sign(PID)
    return {
        hook: json.dumps(hook_request(hook, PID, chart, drafts)).encode()
        for hook in ("patient-view", "order-select", "order-sign")
    }


def realistic_body() -> bytes:
    """An order-sign request as an EHR sends it: full prefetch (about 90 resources) + 2 drafts."""
    return hook_bodies()["order-sign"]


@dataclass(frozen=True)
class Target:
    label: str
    method: str
    path: str
    body: bytes | None
    signed: bool = False  # a CDS call: carries a fresh JWT when the server verifies them


def targets(only: tuple[str, ...] | None = None) -> list[Target]:
    bodies = hook_bodies()
    out = [Target("/healthz", "GET", "/healthz", None)]
    out += [
        Target(hook, "POST", HOOK_PATH.format(hook=hook), body, signed=True)
        for hook, body in bodies.items()
    ]
    out.append(Target("/api/ask", "POST", "/api/ask", json.dumps({"question": QUESTION}).encode()))
    return [t for t in out if only is None or t.label in only]


def _pct(sorted_ms: list[float], p: float) -> float:
    if not sorted_ms:
        return float("nan")
    k = min(len(sorted_ms) - 1, max(0, round(p / 100 * (len(sorted_ms) - 1))))
    return sorted_ms[k]


def _tokens(server: Server, target: Target, n: int) -> Iterator[str | None]:
    """Authorization values for ``n`` calls: fresh JWTs (each ``jti`` is used once), signed here
    before the measurement starts, or nothing when the server runs without trusted issuers."""
    if server.key is None or not target.signed:
        return iter([None] * n)
    return iter([server.token(target.path) for _ in range(n)])


async def _httpx_run(
    server: Server, target: Target, concurrency: int, duration: float, tokens: Iterator[str | None]
) -> dict[str, Any]:
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:

        async def worker(stop_at: float, record: bool) -> None:
            nonlocal errors
            while time.perf_counter() < stop_at:
                headers = {"content-type": "application/json"}
                token = next(tokens)
                if token:
                    headers["authorization"] = token
                t0 = time.perf_counter()
                try:
                    r = await client.request(
                        target.method, server.url + target.path, content=target.body,
                        headers=headers,
                    )  # fmt: skip
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
    }


LUA = """
wrk.method = "{method}"
wrk.headers["Content-Type"] = "application/json"
{body}
local tokens = {{}}
local next_token = 1
{tokens}
request = function()
  if #tokens > 0 then
    local t = tokens[next_token]
    next_token = next_token + 1
    if t == nil then t = "exhausted" end
    return wrk.format(nil, nil, {{["Authorization"] = t}})
  end
  return wrk.format()
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT %d %d %f %f %f %f\\n", summary.requests,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    latency.mean / 1000))
end
"""


def _wrk_once(
    server: Server, target: Target, concurrency: int, seconds: float, tokens: list[str]
) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        body_lua = ""
        if target.body:
            (Path(tmp) / "body.json").write_bytes(target.body)
            body_lua = (
                f'local f = io.open("{tmp}/body.json", "rb"); wrk.body = f:read("*a"); f:close()'
            )
        tokens_lua = ""
        if tokens:
            (Path(tmp) / "tokens.txt").write_text("\n".join(tokens) + "\n")
            tokens_lua = (
                f'for line in io.lines("{tmp}/tokens.txt") do tokens[#tokens + 1] = line end'
            )
        script = Path(tmp) / "bench.lua"
        script.write_text(LUA.format(method=target.method, body=body_lua, tokens=tokens_lua))
        return subprocess.run(
            ["wrk", "-t1", "-c", str(concurrency), "-d", f"{seconds:g}s", "-s", str(script),
             "--timeout", "10s", server.url + target.path],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip


def _wrk_run(
    server: Server,
    target: Target,
    concurrency: int,
    duration: float,
    tokens: Iterator[str | None],
    max_rps: int,
) -> dict[str, Any]:
    def batch(seconds: float) -> list[str]:
        if server.key is None or not target.signed:
            return []
        return [str(next(tokens)) for _ in range(int(max_rps * seconds) + 100)]

    _wrk_once(server, target, concurrency, 1, batch(1))  # warm-up
    out = _wrk_once(server, target, concurrency, duration, batch(duration))
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
    }


def run(
    duration: float,
    generator: str,
    concurrency: tuple[int, ...],
    *,
    workers: int = 1,
    database: str | None = None,
    jwt: bool = False,
    only: tuple[str, ...] | None = None,
    max_rps: int = 400,
) -> list[dict[str, Any]]:
    server = Server(workers, database, jwt=jwt)
    try:
        chosen = targets(only)
        for t in chosen:  # each target answers 200 before anything is measured
            headers = {"content-type": "application/json"}
            if server.key is not None and t.signed:
                headers["authorization"] = server.token(t.path)
            r = httpx.request(t.method, server.url + t.path, content=t.body, timeout=60,
                              headers=headers)  # fmt: skip
            if r.status_code != 200:
                raise SystemExit(f"{t.path}: {r.status_code} {r.text[:300]}")
        server.wait_idle()
        rows = []
        for t in chosen:
            for c in concurrency:
                budget = int(max_rps * (duration + 1)) + 1000
                tokens = _tokens(server, t, budget)
                if generator == "wrk":
                    res = _wrk_run(server, t, c, duration, tokens, max_rps)
                else:
                    res = asyncio.run(_httpx_run(server, t, c, duration, tokens))
                rows.append({"endpoint": t.label, "concurrency": c, **res})
                print(
                    f"  {t.label:<14} c={c:<3} {res['rps']:8.1f} req/s  median {res['p50']:7.2f}"
                    f"  p95 {res['p95']:7.2f}  p99 {res['p99']:7.2f} ms  errors {res['errors']}",
                    file=sys.stderr,
                    flush=True,
                )
        return rows
    finally:
        server.stop()


def table(rows: list[dict[str, Any]]) -> str:
    ceiling = {r["concurrency"]: r["rps"] for r in rows if r["endpoint"] == "/healthz"}
    lines = [
        "| endpoint | concurrency | req/s | median ms | p95 ms | p99 ms | errors | of /healthz |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        share = r["rps"] / ceiling[r["concurrency"]] if r["concurrency"] in ceiling else None
        lines.append(
            f"| {r['endpoint']} | {r['concurrency']} | {r['rps']:.1f} | {r['p50']:.1f} | "
            f"{r['p95']:.1f} | {r['p99']:.1f} | {r['errors']} | "
            + (f"{share:.1%}" if share is not None else "")
            + " |"
        )
    return "\n".join(lines)


def verdict(rows: list[dict[str, Any]]) -> list[str]:
    by = {(r["endpoint"], r["concurrency"]): r for r in rows}
    out = []
    sign = by.get(("order-sign", 8))
    if sign:
        ok = sign["p95"] < 100 and sign["errors"] == 0
        out.append(
            f"order-sign p95 < 100 ms at concurrency 8: {'met' if ok else 'NOT met'} "
            f"({sign['p95']:.1f} ms, {sign['errors']} errors)"
        )
        if ("/healthz", 8) in by:
            share = sign["rps"] / by[("/healthz", 8)]["rps"]
            out.append(
                f"order-sign throughput >= 30% of /healthz at concurrency 8: "
                f"{'met' if share >= 0.3 else 'NOT met'} ({share:.1%})"
            )
    return out


# ---- CPU per request and where it goes ---------------------------------------------------------


def cpu_per_request(n: int, database: str | None = None, *, jwt: bool = False) -> dict[str, float]:
    """Server CPU milliseconds per request (sequential calls, one worker), from the server
    process's own CPU counters: independent of how busy the machine is, unlike latency."""
    server = Server(1, database, jwt=jwt)
    try:
        out: dict[str, float] = {}
        with httpx.Client(base_url=server.url, timeout=60) as client:

            def call(t: Target, token: str | None) -> httpx.Response:
                headers = {"content-type": "application/json"}
                if token:
                    headers["authorization"] = token
                return client.request(t.method, t.path, content=t.body, headers=headers)

            for t in targets():
                tokens = _tokens(server, t, 2 * n + 20)
                for _ in range(20):
                    call(t, next(tokens))
                minted = [next(tokens) for _ in range(n)]  # tokens signed outside the measure
                before = _cpu_seconds(server.proc.pid)
                for token in minted:
                    r = call(t, token)
                    if r.status_code != 200:
                        raise SystemExit(f"{t.path}: {r.status_code} {r.text[:200]}")
                out[t.label] = (_cpu_seconds(server.proc.pid) - before) * 1000 / n
        return out
    finally:
        server.stop()


async def _asgi_call(app: Any, path: str, body: bytes | None, authorization: str | None) -> int:
    """One request straight into the ASGI application (no sockets, no HTTP parser); the status."""
    headers = [(b"host", b"127.0.0.1:8000"), (b"content-type", b"application/json")]
    if body is not None:
        headers.append((b"content-length", str(len(body)).encode()))
    if authorization:
        headers.append((b"authorization", authorization.encode()))
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
        "method": "POST" if body is not None else "GET", "scheme": "http", "path": path,
        "raw_path": path.encode(), "query_string": b"", "root_path": "", "headers": headers,
        "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000), "state": {},
    }  # fmt: skip
    messages = [{"type": "http.request", "body": body or b"", "more_body": False}]
    status: list[int] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            status.append(int(message["status"]))

    await app(scope, receive, send)
    return status[0]


def stages(iterations: int) -> dict[str, float]:
    """Median CPU milliseconds of each stage of one signed order-sign call, in process: parse,
    assemble, intake, engine, cards, audit commit, JWT check (signature, claims, replay record);
    and, interleaved with them so that machine load weighs on both alike, the whole call through
    the ASGI application (routing, dependencies, body, thread hops, response: everything the
    server does except sockets and HTTP parsing) and a whole ``/healthz`` the same way."""
    import gc

    import orjson
    import uvloop

    from leptoguide.api import cds_hooks
    from leptoguide.api.app import create_app
    from leptoguide.api.cards import build_cards
    from leptoguide.api.cds_request import assemble, read_case
    from leptoguide.settings import Settings

    home = Path(tempfile.mkdtemp(prefix="leptoguide-stages-"))
    key = EhrKey()
    url = "http://127.0.0.1:8000"
    app = create_app(
        Settings.from_env(
            database_url=f"sqlite:///{home}/s.sqlite3",
            trusted_issuers_file=write_issuers(home / "issuers", key),
            public_url=url,
        )
    )
    state = app.state.leptoguide
    last = time.process_time()  # start-up work in background threads (dictionary warming) first
    for _ in range(120):
        time.sleep(1.0)
        now = time.process_time()
        if now - last < 0.03:
            break
        last = now
    gc.collect()
    gc.freeze()  # as ``serve`` does after start-up
    body = realistic_body()
    path = HOOK_PATH.format(hook="order-sign")
    aud = url + path
    tokens = ["Bearer " + key.token(aud) for _ in range(2 * iterations + 20)]
    names = ("parse", "assemble", "intake", "engine", "cards", "audit", "jwt")
    times: dict[str, list[float]] = {k: [] for k in (*names, "asgi order-sign", "asgi /healthz")}

    def staged(i: int) -> list[float]:
        t = [time.process_time()]
        req = cds_hooks.CdsRequest.model_validate(orjson.loads(body))
        t.append(time.process_time())
        hook_input = assemble(req.prefetch or {}, req.context["draftOrders"], PID)
        t.append(time.process_time())
        case = read_case(hook_input, name="bench", kb=state.kb, patient_id=PID)
        t.append(time.process_time())
        assessment = state.assess(case, at=None, audience="clinician")
        t.append(time.process_time())
        cards = build_cards(assessment, case, kb=state.kb, hook="order-sign",
                            base=url, audit_id=str(i), draft_refs=hook_input.drafts,
                            patient_id=PID)  # fmt: skip
        t.append(time.process_time())
        state.record(service="bench", patient_id=PID,
                     input_data={"context": req.context, "bundle": hook_input.bundle},
                     output={"response": {"cards": cards}, "assessment": assessment.model_dump()})  # fmt: skip
        t.append(time.process_time())
        state.verifier.verify(tokens[2 * i], aud)
        t.append(time.process_time())
        return [(b - a) * 1000 for a, b in pairwise(t)]

    async def run() -> None:
        for i in range(iterations + 10):
            parts = staged(i)
            t0 = time.process_time()
            ok = await _asgi_call(app, "/healthz", None, None) == 200
            t1 = time.process_time()
            ok = ok and await _asgi_call(app, path, body, tokens[2 * i + 1]) == 200
            t2 = time.process_time()
            if not ok:
                raise SystemExit("in-process ASGI call failed")
            if i >= 10:
                for k, v in zip(names, parts, strict=True):
                    times[k].append(v)
                times["asgi /healthz"].append((t1 - t0) * 1000)
                times["asgi order-sign"].append((t2 - t1) * 1000)

    try:
        uvloop.run(run())
    finally:
        state.db.dispose()
        shutil.rmtree(home, ignore_errors=True)
    return {k: statistics.median(v) for k, v in times.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--duration", type=float, default=5.0, help="seconds per measurement")
    ap.add_argument("--concurrency", default="1,8", help="comma-separated (default 1,8)")
    ap.add_argument("--generator", choices=["auto", "wrk", "httpx"], default="auto")
    ap.add_argument("--workers", type=int, default=1, help="server worker processes")
    ap.add_argument("--database",
                    help="SQLAlchemy URL, or 'postgres' for a throwaway local PostgreSQL cluster "
                    "(default: SQLite in a temporary directory)")  # fmt: skip
    ap.add_argument("--jwt", action="store_true",
                    help="trusted issuer configured; every hook call carries a fresh ES384 JWT")  # fmt: skip
    ap.add_argument("--only", help="comma-separated endpoints (/healthz,order-sign,...)")
    ap.add_argument("--max-rps", type=int, default=400,
                    help="upper bound of hook req/s, for the number of JWTs minted in advance")  # fmt: skip
    ap.add_argument("--scaling", action="store_true",
                    help="/healthz and order-sign at concurrency 8 with 1 and with 2 workers")  # fmt: skip
    ap.add_argument("--cpu", type=int, default=0, metavar="N",
                    help="only server CPU per request over N sequential calls per endpoint")  # fmt: skip
    ap.add_argument("--stages", type=int, default=0, metavar="N",
                    help="only where order-sign's CPU goes, N iterations in process")  # fmt: skip
    args = ap.parse_args()
    generator = args.generator
    if generator == "auto":
        generator = "wrk" if shutil.which("wrk") else "httpx"
    db = "PostgreSQL" if args.database else "SQLite"
    global PG
    if args.database == "postgres":
        PG = ThrowawayPostgres()
    try:
        _main(args, generator, db)
    finally:
        if PG is not None:
            PG.stop()


def _main(args: argparse.Namespace, generator: str, db: str) -> None:
    print(f"load average (1 / 5 min) at start: {load()}; {os.cpu_count()} CPUs")
    if args.stages:
        res = stages(args.stages)
        asgi_sign, asgi_health = res.pop("asgi order-sign"), res.pop("asgi /healthz")
        cpu = cpu_per_request(max(100, args.stages // 2), args.database, jwt=True)
        pipeline = sum(res.values())
        print(f"order-sign, median CPU ms per stage over {args.stages} calls in process:")
        for k, v in res.items():
            print(f"  {k:<18} {v:6.2f}")
        print(f"  {'framework':<18} {asgi_sign - pipeline:6.2f}  (routing, dependencies, body, "
              "thread hops, response: the whole call minus the stages)")  # fmt: skip
        print(f"whole call through the ASGI app in process (no sockets): order-sign "
              f"{asgi_sign:.2f}, /healthz {asgi_health:.2f} ms (order-sign at "
              f"{asgi_health / asgi_sign:.1%} of /healthz throughput by CPU)")  # fmt: skip
        print(f"server CPU per call over HTTP ({max(100, args.stages // 2)} sequential calls, "
              f"a mean): signed order-sign {cpu['order-sign']:.2f}, /healthz "
              f"{cpu['/healthz']:.2f} ms ({cpu['/healthz'] / cpu['order-sign']:.1%})")  # fmt: skip
    elif args.cpu:
        cpu = cpu_per_request(args.cpu, args.database, jwt=args.jwt)
        print(f"server CPU ms per request ({args.cpu} sequential calls each, {db}"
              f"{', JWT' if args.jwt else ''}):")  # fmt: skip
        for k, v in cpu.items():
            print(f"  {k:<14} {v:7.2f}  ({cpu['/healthz'] / v:6.1%} of /healthz throughput)")
    elif args.scaling:
        sign: dict[int, float] = {}
        for w in (1, 2):
            rows = run(args.duration, generator, (8,), workers=w, database=args.database,
                       jwt=args.jwt, only=("/healthz", "order-sign"),
                       max_rps=args.max_rps)  # fmt: skip
            print(f"{w} worker(s), {db}, load at end of the run {load()}")
            print(table(rows))
            sign[w] = next(r["rps"] for r in rows if r["endpoint"] == "order-sign")
        print(f"order-sign throughput, 2 workers / 1 worker: {sign[2] / sign[1]:.2f}x")
    else:
        conc = tuple(int(c) for c in args.concurrency.split(","))
        only = tuple(args.only.split(",")) if args.only else None
        rows = run(args.duration, generator, conc, workers=args.workers, database=args.database,
                   jwt=args.jwt, only=only, max_rps=args.max_rps)  # fmt: skip
        print(f"{args.workers} worker(s), {db}, generator {generator}, {args.duration:g} s per row"
              f"{', JWT-signed hook calls' if args.jwt else ''}")  # fmt: skip
        print(table(rows))
        for line in verdict(rows):
            print("- " + line)
    print(f"load average (1 / 5 min) at end: {load()}")


if __name__ == "__main__":
    main()
