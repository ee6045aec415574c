"""Review status of knowledge: what each status means, which is weaker, what a page may show.

- ``draft``: written, not checked against the cited passage.
- ``verified``: a content editor checked it against the cited passage (who, when, exact locator).
- ``in_review``: a deployment's clinician reviewer has it open (review workflow only).
- ``approved``: a named clinician signed it off in this deployment's review workflow (role, date).
- ``retired``: withdrawn; kept for history.

Shipped knowledge files hold at most ``verified``; ``in_review`` and ``approved`` exist only as
decisions recorded by a deployment's review workflow. Anything built on several records (a rule, a
regimen, a finding) has the weakest status of what it rests on.
"""

from __future__ import annotations

from collections.abc import Iterable

STATUSES = ("draft", "verified", "in_review", "approved", "retired")
"""Every status a statement can have (files, plus the review workflow)."""

RANK: dict[str, int] = {"retired": -1, "draft": 0, "in_review": 0, "verified": 1, "approved": 2}
"""Strength order. ``in_review`` ranks with draft: it may have been draft when opened."""

LABELS: dict[str, str] = {
    "draft": "DRAFT, not checked against its source",
    "verified": "verified against its source, not yet approved at this site",
    "in_review": "in clinical review at this site, not yet approved",
    "approved": "approved at this site",
    "retired": "retired",
    "unreviewed": "unreviewed document",
}
"""Plain labels for badges and notes."""


def weakest(statuses: Iterable[str]) -> str:
    """The weakest of the given statuses (``draft`` if there are none: missing is not checked)."""
    found = list(statuses)
    if not found:
        return "draft"
    return min(found, key=lambda s: RANK.get(s, 0))


def is_approved(status: str) -> bool:
    return status == "approved"


def checked(status: str) -> bool:
    """True when the content was at least checked against its cited passage."""
    return RANK.get(status, 0) >= RANK["verified"]


def status_label(status: str) -> str:
    return LABELS.get(status, status)
