"""Web test fixtures (helpers live in web_helpers.py)."""

from web_helpers import app, fake_answer, site, users

__all__ = ["app", "fake_answer", "site", "users"]
