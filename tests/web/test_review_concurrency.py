"""Review transitions under concurrency (optimistic, version per statement) and the two-person rule,
on SQLite and PostgreSQL (``db_url`` is parametrised over both)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from leptoguide.errors import InputError
from leptoguide.store import reviews
from leptoguide.store.db import Database, alembic_config, migrate


def _move(db: Database, who: str, current: str, to: str, version: int | None, **kw: bool) -> object:
    return reviews.record_review(
        db,
        statement_id="s",
        current=current,
        to_status=to,
        reviewer=who,
        comment=f"{who}: checked",
        knowledge_version="1",
        expected_version=version,
        clinical_role="consultant neurologist",
        **kw,
    )


def test_two_reviewers_from_the_same_version_one_wins(db_url: str) -> None:
    db = Database(db_url)
    _move(db, "ann", "draft", "in_review", 0)
    assert reviews.current_version(db, "s") == 1
    barrier = threading.Barrier(8)
    outcomes: list[str] = []
    lock = threading.Lock()

    def worker(i: int) -> None:
        barrier.wait()
        try:
            _move(db, f"rev{i}", "in_review", "approved", 1)
            result = "ok"
        except InputError as exc:
            result = str(exc)
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("ok") == 1, outcomes
    assert all("meanwhile" in o for o in outcomes if o != "ok")
    hist = reviews.history(db, "s")
    assert [(h.version, h.to_status) for h in hist] == [(2, "approved"), (1, "in_review")]


def test_a_stale_form_is_refused(db_url: str) -> None:
    db = Database(db_url)
    _move(db, "ann", "draft", "in_review", 0)
    _move(db, "bob", "in_review", "draft", 1)
    _move(db, "ann", "draft", "in_review", 2)
    with pytest.raises(InputError, match="changed meanwhile"):
        _move(db, "cat", "in_review", "approved", 1)  # the form was loaded at version 1
    assert reviews.latest_statuses(db) == {"s": "in_review"}


def test_two_person_rule(db_url: str) -> None:
    db = Database(db_url)
    with pytest.raises(InputError, match="two-person rule: submit it for review first"):
        _move(db, "ann", "draft", "approved", 0, two_person=True)
    _move(db, "ann", "draft", "in_review", 0, two_person=True)
    with pytest.raises(InputError, match="another reviewer must approve"):
        _move(db, "ann", "in_review", "approved", 1, two_person=True)
    _move(db, "bob", "in_review", "approved", 1, two_person=True)
    assert reviews.latest_statuses(db) == {"s": "approved"}
    # without the rule a single reviewer may approve a draft in one step
    db2 = (
        Database(db_url.replace("test.sqlite3", "one-step.sqlite3")) if "sqlite" in db_url else None
    )
    if db2 is not None:
        _move(db2, "ann", "draft", "approved", 0)
        assert reviews.latest_statuses(db2) == {"s": "approved"}


def test_revision_0004_numbers_existing_history(tmp_path: Path) -> None:
    from alembic import command

    db = Database(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    cfg = alembic_config(db.engine)
    with db.engine.connect() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0003")
        conn.commit()
    with db.engine.begin() as conn:
        for i, (sid, frm, to) in enumerate(
            [
                ("a", "draft", "in_review"),
                ("b", "draft", "in_review"),
                ("a", "in_review", "approved"),
            ]
        ):
            conn.execute(
                text(
                    "INSERT INTO statement_reviews (statement_id, from_status, to_status, reviewer,"
                    " comment, time, knowledge_version) VALUES (:s, :f, :t, 'ann', 'c', :time, '1')"
                ),
                {"s": sid, "f": frm, "t": to, "time": f"2026-11-2{i}T10:00:00+00:00"},
            )
    migrate(db.engine)
    assert reviews.current_version(db, "a") == 2 and reviews.current_version(db, "b") == 1
    assert [h.version for h in reviews.history(db, "a")] == [2, 1]
