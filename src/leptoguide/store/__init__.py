"""Storage: SQLAlchemy 2 models, engine/session set-up, Alembic migrations and the audit log."""
