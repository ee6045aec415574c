"""Scale-out: two `leptoguide serve` processes sharing one PostgreSQL database."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from leptoguide.store.audit import AuditLog
from leptoguide.store.conversations import DbConversationStore
from leptoguide.store.db import Database
from service_cases import hook_request, lp_low_platelets
from service_server import ServerProcess

pytestmark = [pytest.mark.server, pytest.mark.postgres]

SIGN = "/cds-services/leptoguide-order-sign"
KEY_HEX = "ab" * 32


def test_two_processes_one_database(pg_url: str, tmp_path: Path) -> None:
    env = {"LEPTOGUIDE_AUDIT_KEY": KEY_HEX}
    servers = [ServerProcess(tmp_path / name, pg_url, env=env) for name in ("a", "b")]
    with ExitStack() as running:
        # one client for every call (``httpx.post`` builds a client and its TLS context per call)
        http = running.enter_context(httpx.Client(timeout=60))
        # both processes start at once on the one new database, as a scaled-out deployment does
        for server in servers:
            running.callback(server.__exit__)
            server.start()
        a, b = (running.enter_context(server) for server in servers)
        chart, drafts = lp_low_platelets()
        req = hook_request("order-sign", "p-lp", chart, drafts)

        def call(i: int) -> tuple[int, list[tuple[str, str]]]:
            base = (a, b)[i % 2].url
            r = http.post(base + SIGN, json=req, timeout=30)
            cards = sorted((c["indicator"], c["summary"]) for c in r.json().get("cards", []))
            return r.status_code, cards

        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(call, range(40)))
        assert {s for s, _ in results} == {200}
        assert len({tuple(c) for _, c in results}) == 1, "both processes give the same cards"

        # conversations are shared: a follow-up on B sees the first turn asked on A
        q1 = http.post(a.url + "/api/ask", json={"question": "Platelets before lumbar puncture?", "conversation_id": "shared-1"}, timeout=60)  # fmt: skip
        q2 = http.post(b.url + "/api/ask", json={"question": "And the INR?", "conversation_id": "shared-1"}, timeout=60)  # fmt: skip
        assert q1.status_code == q2.status_code == 200
        assert http.get(a.url + "/api/version").json() == http.get(b.url + "/api/version").json()

    db = Database(pg_url)
    turns = DbConversationStore(db).history("shared-1")
    assert [t.question for t in turns] == ["Platelets before lumbar puncture?", "And the INR?"]
    log = AuditLog(db, bytes.fromhex(KEY_HEX))
    check = log.verify()
    assert check.ok, check.message
    assert check.count == 42  # 40 hook calls + 2 answers, none lost
    services = [e.service for e in log.iter_all()]
    assert services.count("cds-hooks/leptoguide-order-sign") == 40 and services.count("ask") == 2
    hashes = {e.patient_hash for e in log.iter_all() if e.service.startswith("cds-hooks")}
    assert hashes == {log.patient_hash("p-lp")}  # same key in both processes
    db.dispose()
