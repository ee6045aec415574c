"""CDS Hooks state: feedback on cards and JWT ids seen (replay protection)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, insert, select
from sqlalchemy.exc import IntegrityError

from leptoguide.store.db import Database, as_utc, utcnow
from leptoguide.store.models import CdsFeedback, JwtJti


def store_feedback(db: Database, service_id: str, items: list[dict[str, Any]]) -> list[int]:
    """Store validated feedback items in one transaction; returns their row ids."""
    rows = [
        CdsFeedback(
            service_id=service_id,
            card_uuid=item["card"],
            outcome=item["outcome"],
            accepted_suggestions=json.dumps(item.get("acceptedSuggestions") or []),
            override_reason=(
                json.dumps(item["overrideReason"]) if item.get("overrideReason") else None
            ),
            outcome_timestamp=item["outcomeTimestamp"],
            received_at=utcnow(),
        )
        for item in items
    ]
    with db.writing(), db.session() as session, session.begin():
        session.add_all(rows)
        session.flush()
        return [r.id for r in rows]


def list_feedback(db: Database, card_uuid: str | None = None) -> list[dict[str, Any]]:
    stmt = select(CdsFeedback).order_by(CdsFeedback.id)
    if card_uuid:
        stmt = stmt.where(CdsFeedback.card_uuid == card_uuid)
    with db.session() as session:
        return [
            {
                "id": r.id,
                "service": r.service_id,
                "card": r.card_uuid,
                "outcome": r.outcome,
                "acceptedSuggestions": json.loads(r.accepted_suggestions),
                "overrideReason": json.loads(r.override_reason) if r.override_reason else None,
                "outcomeTimestamp": as_utc(r.outcome_timestamp).isoformat(),
                "receivedAt": as_utc(r.received_at).isoformat(),
            }
            for r in session.execute(stmt).scalars()
        ]


_JTI = cast(Table, JwtJti.__table__)
# Built once (one per hook call; SQLAlchemy reuses the compiled statements).
_PURGE_JTI = delete(_JTI).where(_JTI.c.expires_at < bindparam("now"))
_CLAIM_JTI = insert(_JTI)


def claim_jti(db: Database, iss: str, jti: str, expires_at: dt.datetime) -> bool:
    """Record a JWT id; False if the same issuer already used it (a replay). Expired ids are
    purged in the same transaction."""
    key = hashlib.sha256(f"{iss}\x00{jti}".encode()).hexdigest()
    try:
        with db.writing(), db.engine.begin() as conn:
            conn.execute(_PURGE_JTI, {"now": utcnow()})
            conn.execute(_CLAIM_JTI, {"key": key, "iss": iss[:512], "expires_at": expires_at})
    except IntegrityError:
        return False
    return True


def override_analytics(db: Database, topic_of: Callable[[str], str | None]) -> list[dict[str, Any]]:
    """Feedback counted per rule: accepted, overridden, and the coded override reasons.

    ``topic_of`` maps a card uuid to the rule (or other card topic) it was about; cards it cannot
    map are counted under ``null``. Reasons are keyed ``system|code`` as the client sent them
    (clients may add their own to the service's list)."""
    per: dict[str | None, dict[str, Any]] = {}
    with db.session() as session:
        rows = session.execute(
            select(CdsFeedback.card_uuid, CdsFeedback.outcome, CdsFeedback.override_reason)
        ).all()
    for card, outcome, reason_json in rows:
        topic = topic_of(card)
        item = per.setdefault(
            topic,
            {"rule": topic, "accepted": 0, "overridden": 0, "reasons": {}, "comments": 0},
        )
        item[outcome] = item.get(outcome, 0) + 1
        if outcome != "overridden" or not reason_json:
            continue
        reason = json.loads(reason_json)
        coding = reason.get("reason") or {}
        key = f"{coding.get('system') or ''}|{coding.get('code') or ''}" if coding else "uncoded"
        entry = item["reasons"].setdefault(key, {"count": 0, "display": coding.get("display")})
        entry["count"] += 1
        if reason.get("userComment"):
            item["comments"] += 1
    out = []
    for item in per.values():
        total = item["accepted"] + item["overridden"]
        item["override_rate"] = round(item["overridden"] / total, 3) if total else None
        item["reasons"] = [
            {"reason": k, "display": v["display"], "count": v["count"]}
            for k, v in sorted(item["reasons"].items(), key=lambda kv: -kv[1]["count"])
        ]
        out.append(item)
    return sorted(out, key=lambda i: (-(i["accepted"] + i["overridden"]), str(i["rule"])))
