"""Shared helpers for the batch tests: run the SQL audit and the single-chart engine replay."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from leptoguide.batch.engine import Engine
from leptoguide.batch.replay import charts, read_chart, replay
from leptoguide.batch.run import Options, Result, run
from leptoguide.batch.viewdef import load_views
from leptoguide.knowledge.loader import KnowledgeBase
from leptoguide.policy import Policy

LP_RULES = ("lp-platelets-low", "lp-inr-high", "lp-anticoagulant-timing")


def sql_lp(engine: Engine, kb: KnowledgeBase, policy: Policy, export: Path) -> Result:
    return run(engine, kb, policy, Options(export, export.parent / "out", audits=["lp-safety"]))


def engine_lp(
    engine: Engine, kb: KnowledgeBase, policy: Policy
) -> tuple[set[tuple[str, str]], int]:
    """(event reference, rule) pairs the single-chart engine fires, replaying every dated LP
    (read from the lp_events table the SQL run left behind)."""
    events = engine.rows("SELECT patient, event_ref, t FROM lp_events WHERE t IS NOT NULL")
    by_patient: dict[str, list[tuple[str, dt.datetime]]] = {}
    for pid, ref, t in events:
        by_patient.setdefault(str(pid), []).append((str(ref), t))
    fired: set[tuple[str, str]] = set()
    for pid, resources in charts(
        engine,
        list(load_views()),
        sorted(by_patient),
    ):
        case, _ = read_chart(resources, f"Patient/{pid}", kb)
        for ref, t in by_patient[pid]:
            at = t if t.tzinfo else t.replace(tzinfo=dt.UTC)
            a = replay(case, at=at, kb=kb, policy=policy, order="lumbar-puncture", order_ref=ref)
            fired.update((ref, f.rule) for f in a.findings if f.rule in LP_RULES)
    return fired, len(events)


def pairs(findings: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(f["event_reference"], f["rule"]) for f in findings}
