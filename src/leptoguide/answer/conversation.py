"""Conversations: follow-up questions keep the context of the turns before them.

"And for a child?" after an adult ceftriaxone question becomes a question about the ceftriaxone dose
for children: the earlier query is carried over, minus its population words when the follow-up names
another population. Turns are stored through the small :class:`ConversationStore` protocol; the CLI
uses SQLite in the state directory, the service can plug in its own database.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from leptoguide.answer.text import content_tokens, raw_tokens, tokens
from leptoguide.errors import InputError
from leptoguide.settings import home_dir

ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")

_FOLLOW_UP_START = re.compile(
    r"^\s*(and|but|also|what about|how about|what if|same|then|so|or|in|for|with|without|if)\b",
    re.IGNORECASE,
)
_PRONOUNS = frozenset(
    ["it", "its", "that", "this", "they", "them", "those", "these", "there", "such"]
)


@dataclass(frozen=True)
class Turn:
    question: str
    query: str
    audience: str
    abstained: bool
    statements: tuple[str, ...] = ()
    at: str = ""


class ConversationStore(Protocol):
    """Where conversation turns live. The service may implement this over its own database."""

    def history(self, conversation_id: str, limit: int = 5) -> list[Turn]:
        """The last ``limit`` turns, oldest first."""
        ...

    def append(self, conversation_id: str, turn: Turn) -> None: ...


class SQLiteConversationStore:
    """Conversation turns in ``<state>/conversations.sqlite``."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or home_dir() / "conversations.sqlite"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(self.path, check_same_thread=False)
        self.conn.execute(
            "CREATE TABLE IF NOT EXISTS turns(id INTEGER PRIMARY KEY, conversation TEXT NOT NULL, "
            "at TEXT, question TEXT, query TEXT, audience TEXT, abstained INTEGER, statements TEXT)"
        )
        self.conn.execute("CREATE INDEX IF NOT EXISTS turns_conv ON turns(conversation, id)")
        self.conn.commit()

    def history(self, conversation_id: str, limit: int = 5) -> list[Turn]:
        rows = self.conn.execute(
            "SELECT question, query, audience, abstained, statements, at FROM turns "
            "WHERE conversation = ? ORDER BY id DESC LIMIT ?",
            (conversation_id, limit),
        ).fetchall()
        return [
            Turn(r[0], r[1], r[2], bool(r[3]), tuple(json.loads(r[4] or "[]")), r[5])
            for r in reversed(rows)
        ]

    def append(self, conversation_id: str, turn: Turn) -> None:
        with self.conn:
            self.conn.execute(
                "INSERT INTO turns(conversation, at, question, query, audience, abstained, "
                "statements) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    conversation_id,
                    turn.at or dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                    turn.question,
                    turn.query,
                    turn.audience,
                    int(turn.abstained),
                    json.dumps(list(turn.statements)),
                ),
            )


class MemoryConversationStore:
    """In-process store (tests, embedding)."""

    def __init__(self) -> None:
        self.turns: dict[str, list[Turn]] = {}

    def history(self, conversation_id: str, limit: int = 5) -> list[Turn]:
        return self.turns.get(conversation_id, [])[-limit:]

    def append(self, conversation_id: str, turn: Turn) -> None:
        self.turns.setdefault(conversation_id, []).append(turn)


def check_id(conversation_id: str) -> str:
    if not ID_PATTERN.match(conversation_id):
        raise InputError(
            "conversation",
            "a conversation id is 1-64 letters, digits, '.', '_' or '-', starting with a letter "
            "or digit",
            "conversation",
        )
    return conversation_id


def is_follow_up(question: str, in_scope: bool) -> bool:
    """A question that leans on what came before: short and starting like a follow-up ("and for
    a child?"), or starting like one and naming nothing of the domain itself ("and in a
    6-month-old, do the two still need to be 48 h apart?"), or short and out of the domain on its
    own ("doses?"), or very short with a pronoun ("how long for it?")."""
    words = content_tokens(question)
    if _FOLLOW_UP_START.match(question) and (len(words) <= 6 or not in_scope):
        return True
    if not in_scope and len(words) <= 6:
        return True
    # ("IT" in capitals is intrathecal, not a pronoun: "IT MTX dose?" stands on its own)
    written = {t.lower() for t in raw_tokens(question) if not (len(t) > 1 and t.isupper())}
    return len(words) <= 4 and bool(_PRONOUNS & written)


Slot = frozenset[tuple[str, ...]]
"""Interchangeable names that fill one place of a question (an organism, a drug): lower-case
token sequences."""


def _find(words: list[str], phrase: tuple[str, ...]) -> int:
    n = len(phrase)
    return next((i for i in range(len(words) - n + 1) if tuple(words[i : i + n]) == phrase), -1)


def _without(words: list[str], slot: Slot) -> list[str]:
    """``words`` with every occurrence of the slot's names taken out (longest names first)."""
    out = list(words)
    for phrase in sorted(slot, key=len, reverse=True):
        while (i := _find(out, phrase)) >= 0:
            del out[i : i + len(phrase)]
    return out


class Asking(Protocol):
    """What a question asks for (a dose, a schedule, a duration: English cue words), and the
    question without the cue words of some of them."""

    def asks(self, text: str) -> frozenset[str]: ...

    def without(self, text: str, names: frozenset[str]) -> str: ...


def contextualize(
    question: str,
    history: list[Turn],
    in_scope: bool,
    slots: tuple[Slot, ...] = (),
    asking: Asking | None = None,
    written: str | None = None,
    population: frozenset[str] = frozenset(),
) -> str:
    """The retrieval query for ``question`` given earlier turns (the question itself if standalone).

    The earlier query is carried over. What the follow-up names replaces what the earlier query
    named in the same place: another population ("and for a child?"), and, in a follow-up that
    starts like one ("what about Listeria?", "and for TB?", "and thiotepa?"), another name of the
    same ``slots`` (organism or cause, drug). What the follow-up asks for replaces what the
    earlier question asked for when the two differ ("and how often?" after a dose question asks
    for the schedule, not the dose: ``asking``). What the follow-up does not replace is kept.
    ``written`` is the question as the user wrote it, when ``question`` adds what its shorthand
    means; ``population`` the words naming who a question is about (vocabulary role
    'population')."""
    previous = next((t for t in reversed(history) if not t.abstained), None)
    # (whether it is short is judged on the question as written, ``written``, not with the
    # meanings its shorthand adds: "and if it grows E. coli?")
    if previous is None or not is_follow_up(written or question, in_scope):
        return question
    own = tokens(question)
    carried = tokens(previous.query)
    if set(own) & population:
        carried = [w for w in carried if w not in population]
    if _FOLLOW_UP_START.match(question):
        for slot in slots:
            named = [p for p in slot if _find(own, p) >= 0]
            if named and not all(_find(carried, p) >= 0 for p in named):
                carried = _without(carried, slot)
    text = " ".join(carried)
    if asking is not None:
        now, before = asking.asks(question), asking.asks(text)
        if now and before and not now & before:
            text = asking.without(text, before)
    return text + " " + question
