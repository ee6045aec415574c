"""Engine and session set-up; migrations run programmatically (``upgrade head``) at start-up.

SQLite gets WAL, foreign keys, ``synchronous=NORMAL`` and a busy timeout; PostgreSQL runs the
migration under an advisory lock so several processes can start at once.
"""

from __future__ import annotations

import datetime as dt
import threading
from contextlib import AbstractContextManager, nullcontext
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from leptoguide.errors import InputError

MIGRATION_LOCK_ID = 0x1E7706D  # PostgreSQL advisory lock id for migrations


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def as_utc(value: dt.datetime) -> dt.datetime:
    """SQLite returns naive datetimes; every stored time is UTC."""
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def make_engine(url: str) -> Engine:
    """An engine for ``url`` (``sqlite:///path`` or ``postgresql+psycopg://...``)."""
    try:
        parsed = make_url(url)
    except Exception as exc:
        raise InputError(
            "database URL", f"not a valid SQLAlchemy URL: {url!r}", "database"
        ) from exc
    backend = parsed.get_backend_name()
    # A server restart drops PostgreSQL connections: test each one as it leaves the pool. A SQLite
    # file has no server to lose, so the extra round trip per transaction is skipped.
    kwargs: dict[str, Any] = {"pool_pre_ping": backend != "sqlite"}
    if backend == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
    elif backend == "postgresql":
        kwargs.update(pool_size=10, max_overflow=20)
    else:
        raise InputError("database URL", f"unsupported database {backend!r}", "database")
    try:
        engine = create_engine(url, **kwargs)
    except ModuleNotFoundError as exc:
        raise InputError(
            "database URL", f"driver missing ({exc.name}); install leptoguide[pg]", "database"
        ) from exc
    if backend == "sqlite":

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

    return engine


def migrations_dir() -> str:
    return str(resources.files("leptoguide.store").joinpath("migrations"))


def alembic_config(engine: Engine) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", migrations_dir())
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return cfg


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (default: the newest)."""
    from alembic import command

    cfg = alembic_config(engine)
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK_ID})
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
        conn.commit()


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


class Database:
    """An engine plus its session factory; the one object the service passes around."""

    def __init__(self, url: str, *, run_migrations: bool = True) -> None:
        self.url = url
        self.engine = make_engine(url)
        if run_migrations:
            migrate(self.engine)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        # SQLite has one writer; threads waiting in its busy handler back off in sleeps of up to
        # 100 ms. Queueing writers of this process on a lock instead keeps the latency tail short
        # (other processes still meet the busy timeout). PostgreSQL needs no lock.
        self._write_lock: AbstractContextManager[Any] = (
            threading.Lock() if self.dialect == "sqlite" else nullcontext()
        )

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def session(self) -> Session:
        return self.sessions()

    def writing(self) -> AbstractContextManager[Any]:
        """Hold while running a write transaction (serialises SQLite writers in this process)."""
        return self._write_lock

    def ping(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    def dispose(self) -> None:
        self.engine.dispose()
