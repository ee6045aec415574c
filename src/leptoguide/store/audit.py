"""The audit log: every assessment, answer and CDS Hooks response, hash-chained.

Each event stores the time, the service, who asked and how they authenticated, a keyed hash
(HMAC-SHA256) of the patient identifier, a hash of the input, the knowledge version, the policy id and
hash, and the output JSON. Its own hash covers
all of these plus the previous event's hash, so changing, removing or reordering an event breaks the
chain (:meth:`AuditLog.verify`). Appends lock the single ``audit_head`` row, which serialises writers
across threads and server processes on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, cast

import orjson
from sqlalchemy import Table, bindparam, func, insert, select, update

from leptoguide.store.db import Database, as_utc, utcnow
from leptoguide.store.models import AuditEvent, AuditHead

GENESIS = "0" * 64
REDACTED = "[patient identifier redacted]"


def canonical_json(value: Any) -> str:
    """Deterministic JSON (sorted keys, no spaces, UTF-8 kept)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def canonical_bytes(value: Any) -> bytes:
    """The same canonical form as :func:`canonical_json` (sorted keys, no spaces, UTF-8), made by
    orjson: several times faster on the large assessment documents the audit log stores. Values
    orjson cannot represent (integers beyond 64 bits, NaN) fall back to :func:`canonical_json`.
    The chain hash of an event keeps :func:`canonical_json`, so stored events verify unchanged."""
    try:
        return orjson.dumps(
            value,
            option=orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS,
            default=str,
        )
    except (orjson.JSONEncodeError, TypeError):
        return canonical_json(value).encode("utf-8")


def sha256_hex(data: bytes | str) -> str:
    return hashlib.sha256(data.encode("utf-8") if isinstance(data, str) else data).hexdigest()


def input_hash(data: bytes | str | Any) -> str:
    """Hash of the input as received (bytes/str) or of its canonical JSON (parsed values)."""
    if isinstance(data, (bytes, str)):
        return sha256_hex(data)
    return sha256_hex(canonical_bytes(data))


def event_hash(event: AuditEvent) -> str:
    """The chain hash of one event (covers every stored field and the previous hash)."""
    fields = {
        "id": event.id,
        "seq": int(event.seq),
        "time": as_utc(event.time).isoformat(timespec="microseconds"),
        "service": event.service,
        "patient_hash": event.patient_hash,
        "patient_identifier": event.patient_identifier,
        "input_hash": event.input_hash,
        "knowledge_version": event.knowledge_version,
        "policy_id": event.policy_id,
        "policy_hash": event.policy_hash,
        "output_hash": sha256_hex(event.output),
        "prev_hash": event.prev_hash,
    }
    # Added in revision 0003; hashed only when set, so events written before it still verify.
    if event.actor is not None or event.auth_method is not None:
        fields["actor"] = event.actor
        fields["auth_method"] = event.auth_method
    return sha256_hex(canonical_json(fields))


def _scrub_serialized(text: bytes, identifiers: frozenset[str]) -> bytes:
    """Redact the patient identifier from serialised JSON: every JSON string equal to one of its
    forms becomes :data:`REDACTED`.

    A JSON string token is delimited by unescaped quotes, so ``"<identifier>"`` matches whole
    string values only (a key equal to an identifier is redacted too). Linear in the size."""
    redacted = orjson.dumps(REDACTED)
    for ident in sorted(identifiers, key=len, reverse=True):
        text = text.replace(orjson.dumps(ident), redacted)
    return text


def _identifier_forms(identifier: str) -> frozenset[str]:
    bare = identifier.rsplit("/", 1)[-1]
    return frozenset({identifier, bare, f"Patient/{bare}"})


@dataclass(frozen=True)
class ChainCheck:
    ok: bool
    count: int
    message: str
    bad_seq: int | None = None


def event_summary(event: AuditEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "seq": int(event.seq),
        "time": as_utc(event.time).isoformat(timespec="microseconds"),
        "service": event.service,
        "actor": event.actor,
        "auth_method": event.auth_method,
        "patient_hash": event.patient_hash,
        "knowledge_version": event.knowledge_version,
        "policy_id": event.policy_id,
        "policy_hash": event.policy_hash,
        "input_hash": event.input_hash,
        "hash": event.hash,
    }


def event_dict(event: AuditEvent) -> dict[str, Any]:
    """The full event, output parsed, for ``audit show`` and exports."""
    out = event_summary(event)
    out["patient_identifier"] = event.patient_identifier
    out["prev_hash"] = event.prev_hash
    out["output"] = json.loads(event.output)
    return out


_HEAD = cast(Table, AuditHead.__table__)
_EVENTS = cast(Table, AuditEvent.__table__)
# Built once: the three statements of an append (SQLAlchemy then reuses their compiled form).
# The UPDATE comes first: it takes the write lock before anything is read.
_CLAIM_SEQ = (
    update(_HEAD)
    .where(_HEAD.c.id == 1)
    .values(seq=_HEAD.c.seq + 1)
    .returning(_HEAD.c.seq, _HEAD.c.last_hash)
)
_INSERT_EVENT = insert(_EVENTS)
_SET_HEAD = update(_HEAD).where(_HEAD.c.id == 1).values(last_hash=bindparam("new_hash"))


class AuditLog:
    """Append, read and verify the audit log in one database."""

    def __init__(self, db: Database, key: bytes, *, store_identifiers: bool = False) -> None:
        self.db = db
        self._key = key
        self.store_identifiers = store_identifiers

    def patient_hash(self, identifier: str | None) -> str | None:
        """HMAC-SHA256 of the bare patient id (``Patient/123`` and ``123`` hash the same)."""
        if not identifier:
            return None
        bare = identifier.rsplit("/", 1)[-1]
        return hmac.new(self._key, bare.encode("utf-8"), hashlib.sha256).hexdigest()

    def record(
        self,
        *,
        service: str,
        patient_id: str | None,
        input_data: bytes | str | Any,
        knowledge_version: str,
        policy_id: str,
        policy_hash: str,
        output: dict[str, Any],
        event_id: str | None = None,
        actor: str | None = None,
        auth_method: str | None = None,
    ) -> AuditEvent:
        """Append one event and commit; returns it once the row is durable.

        ``actor`` is who asked (an account's username, stored plain, or a CDS client's ``iss``);
        ``auth_method`` how they proved it (``bearer``, ``session``, ``jwt`` or ``none``).
        """
        text = canonical_bytes(output)
        if patient_id and not self.store_identifiers:
            text = _scrub_serialized(text, _identifier_forms(patient_id))
        event = AuditEvent(
            id=event_id or str(uuid.uuid4()),
            time=utcnow(),
            service=service,
            patient_hash=self.patient_hash(patient_id),
            patient_identifier=patient_id if self.store_identifiers else None,
            input_hash=input_hash(input_data),
            knowledge_version=knowledge_version,
            policy_id=policy_id,
            policy_hash=policy_hash,
            output=text.decode("utf-8"),
            actor=actor,
            auth_method=auth_method,
        )
        with self.db.writing(), self.db.engine.begin() as conn:
            seq, last = conn.execute(_CLAIM_SEQ).one()
            event.seq = int(seq)
            event.prev_hash = last
            event.hash = event_hash(event)
            conn.execute(_INSERT_EVENT, {c.name: getattr(event, c.name) for c in _EVENTS.columns})
            conn.execute(_SET_HEAD, {"new_hash": event.hash})
        return event

    def count(self, service: str | None = None) -> int:
        stmt = select(func.count()).select_from(AuditEvent)
        if service:
            stmt = stmt.where(AuditEvent.service == service)
        with self.db.session() as session:
            return int(session.execute(stmt).scalar_one())

    def list(
        self, *, limit: int = 50, offset: int = 0, service: str | None = None
    ) -> list[AuditEvent]:
        """Newest first."""
        stmt = select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(limit).offset(offset)
        if service:
            stmt = stmt.where(AuditEvent.service == service)
        with self.db.session() as session:
            return list(session.execute(stmt).scalars())

    def get(self, ref: str) -> AuditEvent | None:
        """An event by id, or by sequence number when ``ref`` is all digits."""
        with self.db.session() as session:
            if ref.isdigit():
                return session.execute(
                    select(AuditEvent).where(AuditEvent.seq == int(ref))
                ).scalar_one_or_none()
            return session.get(AuditEvent, ref)

    def iter_all(self, batch: int = 500) -> Iterator[AuditEvent]:
        """Every event in chain order."""
        last = 0
        while True:
            with self.db.session() as session:
                rows = list(
                    session.execute(
                        select(AuditEvent)
                        .where(AuditEvent.seq > last)
                        .order_by(AuditEvent.seq)
                        .limit(batch)
                    ).scalars()
                )
            if not rows:
                return
            yield from rows
            last = int(rows[-1].seq)

    def verify(self) -> ChainCheck:
        """Recompute the chain: every hash, every link, no gaps, and the head matches."""
        prev, expected_seq, n = GENESIS, 1, 0
        for event in self.iter_all():
            if int(event.seq) != expected_seq:
                return ChainCheck(False, n, f"gap: expected seq {expected_seq}", int(event.seq))
            if event.prev_hash != prev:
                return ChainCheck(False, n, "broken link to the previous event", int(event.seq))
            if event_hash(event) != event.hash:
                return ChainCheck(False, n, "event content does not match its hash", int(event.seq))
            prev, expected_seq, n = event.hash, expected_seq + 1, n + 1
        with self.db.session() as session:
            head = session.get(AuditHead, 1)
        if head is None or int(head.seq) != n or head.last_hash != prev:
            return ChainCheck(False, n, "the chain head does not match the last event (truncated?)")
        return ChainCheck(True, n, f"{n} events, chain intact")
