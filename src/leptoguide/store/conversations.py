"""A database-backed conversation store for the answer engine, shared by every server process.

Implements ``leptoguide.answer.conversation.ConversationStore``: one row per turn, so concurrent
appends from several processes never overwrite each other.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from sqlalchemy import select

from leptoguide.store.db import Database, as_utc, utcnow
from leptoguide.store.models import ConversationTurn

if TYPE_CHECKING:
    from leptoguide.answer.conversation import Turn


class DbConversationStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def history(self, conversation_id: str, limit: int = 5) -> list[Turn]:
        """The last ``limit`` turns, oldest first."""
        from leptoguide.answer.conversation import Turn

        stmt = (
            select(ConversationTurn)
            .where(ConversationTurn.conversation_id == conversation_id)
            .order_by(ConversationTurn.id.desc())
            .limit(limit)
        )
        with self.db.session() as session:
            rows = list(session.execute(stmt).scalars())
        return [
            Turn(
                question=r.question,
                query=r.query,
                audience=r.audience,
                abstained=r.abstained,
                statements=tuple(json.loads(r.statements)),
                at=as_utc(r.at).isoformat(timespec="seconds"),
            )
            for r in reversed(rows)
        ]

    def append(self, conversation_id: str, turn: Turn) -> None:
        row = ConversationTurn(
            conversation_id=conversation_id,
            at=utcnow(),
            question=turn.question,
            query=turn.query,
            audience=turn.audience,
            abstained=turn.abstained,
            statements=json.dumps(list(turn.statements)),
        )
        with self.db.writing(), self.db.session() as session, session.begin():
            session.add(row)
