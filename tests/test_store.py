"""Storage: migrations, the hash-chained audit log, feedback and JWT ids, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import threading

import pytest
from sqlalchemy import inspect, text

from leptoguide.store.audit import REDACTED, AuditLog
from leptoguide.store.cds import claim_jti, list_feedback, store_feedback
from leptoguide.store.db import Database, current_revision

KEY = b"k" * 32


def _record(log: AuditLog, n: int, patient: str | None = "Patient/p1") -> list[str]:
    return [
        log.record(
            service="assess",
            patient_id=patient,
            input_data=f"input {i}".encode(),
            knowledge_version="0.1.0+sha256.abc",
            policy_id="leptoguide-default",
            policy_hash="0123456789abcdef",
            output={"i": i, "input": {"patient": patient}},
        ).id
        for i in range(n)
    ]


def test_migrations_create_every_table(db_url: str) -> None:
    db = Database(db_url)
    tables = set(inspect(db.engine).get_table_names())
    assert {"audit_events", "audit_head", "cds_feedback", "jwt_jti", "conversation_turns"} <= tables
    from alembic.script import ScriptDirectory

    from leptoguide.store.db import alembic_config

    head = ScriptDirectory.from_config(alembic_config(db.engine)).get_current_head()
    assert current_revision(db.engine) == head
    Database(db_url)  # idempotent: a second start does not fail
    if db.dialect == "sqlite":
        with db.engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_audit_chain_verifies_and_detects_tampering(db_url: str) -> None:
    log = AuditLog(Database(db_url), KEY)
    ids = _record(log, 5)
    check = log.verify()
    assert check.ok and check.count == 5
    event = log.get(ids[2])
    assert event is not None and event.seq == 3
    assert log.get("3") is not None and log.get("3").id == ids[2]  # type: ignore[union-attr]
    # tamper with one output: the chain breaks exactly there
    with log.db.engine.begin() as conn:
        conn.execute(
            text("UPDATE audit_events SET output = :o WHERE id = :i"),
            {"o": json.dumps({"i": 99}), "i": ids[2]},
        )
    bad = log.verify()
    assert not bad.ok and bad.bad_seq == 3


def test_audit_detects_deleted_last_event(db_url: str) -> None:
    log = AuditLog(Database(db_url), KEY)
    ids = _record(log, 3)
    with log.db.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_events WHERE id = :i"), {"i": ids[-1]})
    assert not log.verify().ok


def test_patient_identifier_is_keyed_hash_and_scrubbed(db_url: str) -> None:
    log = AuditLog(Database(db_url), KEY)
    _record(log, 1, patient="Patient/p1")
    event = log.list(limit=1)[0]
    assert event.patient_identifier is None
    assert "p1" not in event.output and REDACTED in event.output
    assert event.patient_hash == log.patient_hash("p1") == log.patient_hash("Patient/p1")
    assert AuditLog(log.db, b"other" * 8).patient_hash("p1") != event.patient_hash
    raw = AuditLog(log.db, KEY, store_identifiers=True)
    _record(raw, 1, patient="Patient/p1")
    assert raw.list(limit=1)[0].patient_identifier == "Patient/p1"
    assert raw.verify().ok


def test_concurrent_appends_keep_one_chain(db_url: str) -> None:
    db = Database(db_url)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            _record(AuditLog(db, KEY), 10)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    check = AuditLog(db, KEY).verify()
    assert check.ok and check.count == 60


def test_feedback_roundtrip(db_url: str) -> None:
    db = Database(db_url)
    when = dt.datetime(2026, 11, 21, 10, 0, tzinfo=dt.UTC)
    store_feedback(
        db,
        "leptoguide-order-sign",
        [
            {
                "card": "c1",
                "outcome": "overridden",
                "overrideReason": {"reason": {"code": "x", "display": "X"}, "userComment": "ok"},
                "outcomeTimestamp": when,
            },
            {
                "card": "c2",
                "outcome": "accepted",
                "acceptedSuggestions": [{"id": "s1"}],
                "outcomeTimestamp": when,
            },
        ],
    )
    rows = list_feedback(db)
    assert [r["card"] for r in rows] == ["c1", "c2"]
    assert rows[0]["overrideReason"]["reason"]["display"] == "X"
    assert rows[1]["acceptedSuggestions"] == [{"id": "s1"}]
    assert rows[1]["outcomeTimestamp"].startswith("2026-11-21T10:00:00")


def test_jti_replay_detected(db_url: str) -> None:
    db = Database(db_url)
    exp = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)
    assert claim_jti(db, "https://ehr", "j1", exp)
    assert not claim_jti(db, "https://ehr", "j1", exp)
    assert claim_jti(db, "https://other-ehr", "j1", exp)  # ids are per issuer


def test_expired_jti_rows_are_purged(db_url: str) -> None:
    db = Database(db_url)
    past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    assert claim_jti(db, "iss", "old", past)
    claim_jti(db, "iss", "new", past + dt.timedelta(hours=1))
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM jwt_jti")).scalar() == 1


def test_bad_database_url_is_an_input_error() -> None:
    from leptoguide.errors import InputError

    with pytest.raises(InputError):
        Database("mysql://nope/x")
    with pytest.raises(InputError):
        Database("not a url")


def test_fast_canonical_form_matches_the_reference_form() -> None:
    """orjson's canonical bytes are the json module's canonical form (floats below 1e-4 may spell
    the exponent differently, 1e-7 for 1e-07; the value is the same)."""
    from leptoguide.store.audit import canonical_bytes, canonical_json

    doc = {
        "z": [1, 2.5, -0.0, 0.001, 1e16, 12345678901234567, None, True, False],
        "a": {"ü": 'naïve ✓ \u2028 \n\t"quoted" \\ \u0001', "b": [], "c": {}},
        "m": [{"k": 0.1 + 0.2}, {"k": 3.0}, {"nested": {"y": 1, "x": 2}}],
        "date": dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
    }
    assert canonical_bytes(doc) == canonical_json(doc).encode("utf-8")
    assert canonical_bytes({"big": 10**30}) == canonical_json({"big": 10**30}).encode()
    assert json.loads(canonical_bytes([1e-07])) == json.loads(canonical_json([1e-07]))
