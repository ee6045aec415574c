"""Rendered answers and findings speak of medicine, never of how the content was made.

``leptoguide ask`` is run for a spread of the gold questions (clinician and patient, JSON and text),
and every scenario chart under tests/scenarios is assessed and rendered as JSON, text and HTML for
both audiences; CDS Hooks cards, the reviewers' sign-off packet and the site-policy listing are
checked too. Nothing a reader sees may contain a process word, a local path or an internal file
name (``tests/process_words.py``; the web pages are covered in tests/web).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml

from cli_inprocess import run_cli
from leptoguide.engine import assess
from leptoguide.errors import LeptoGuideError
from leptoguide.intake import read_input
from leptoguide.knowledge.loader import get_knowledge
from leptoguide.policy import load_policy
from leptoguide.render.html import render_html
from leptoguide.render.json import render_json
from leptoguide.render.text import render_text
from process_words import find_process_words

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "tests" / "scenarios"
CHARTS = sorted((SCENARIOS / "bundles").glob("*.json")) + sorted(
    (SCENARIOS / "charts" / "bundles").glob("*.json")
)
AT = dt.datetime(2026, 11, 21, 12, tzinfo=dt.UTC)


def _question_spread() -> list[dict[str, Any]]:
    """Every 12th gold question plus the public AI answer page's own question: both audiences."""
    questions: list[dict[str, Any]] = yaml.safe_load(
        (ROOT / "eval" / "questions.yaml").read_text(encoding="utf-8")
    )["questions"]
    spread = questions[::12]
    spread += [q for q in questions if q["id"] == "spine-infection-ai-answer" and q not in spread]
    return spread


QUESTIONS = _question_spread()


def test_the_spread_covers_both_audiences() -> None:
    audiences = {q.get("audience", "clinician") for q in QUESTIONS}
    assert audiences == {"clinician", "patient"}, audiences
    assert len(QUESTIONS) >= 15


def test_the_pattern_finds_process_words_and_spares_clinical_text() -> None:
    assert find_process_words("wording seen only via pathway.md digest")
    assert find_process_words("the seed page's 2 g once daily is below this")
    assert find_process_words("as the clinical brief says")
    assert find_process_words("read from /work/shared/notes")
    assert find_process_words("Every S4 claim was checked")
    assert not find_process_words("German S1 guideline, Table 2: platelets above 50,000/uL")
    assert not find_process_words("Withhold IT chemotherapy while CSF flow is blocked.")
    assert not find_process_words(
        "CD3+CD4+ (T4 helper) cells in blood; helper T cells; T helper cells"
    )
    assert find_process_words("the helper wrote this statement")


@pytest.mark.parametrize("question", QUESTIONS, ids=[q["id"] for q in QUESTIONS])
def test_answers_carry_no_process_words(question: dict[str, Any]) -> None:
    audience = question.get("audience", "clinician")
    for fmt in ("json", "text"):
        out = run_cli(
            "ask", question["question"], "--audience", audience, "--format", fmt,
            env={"COLUMNS": "200"},
        )  # fmt: skip
        assert out.returncode == 0, out.stderr
        assert not find_process_words(out.stdout), (fmt, find_process_words(out.stdout))


def test_findings_of_every_scenario_chart_carry_no_process_words() -> None:
    kb = get_knowledge()
    policy = load_policy(kb, None)
    assert len(CHARTS) >= 120
    found: dict[str, list[str]] = {}
    rendered = 0
    for chart in CHARTS:
        # named as a user would name an upload, so the warnings' "where" shows no local path
        name = f"scenarios/{chart.parent.name}/{chart.name}"
        try:
            case = read_input(chart.read_bytes(), name=name, kb=kb)
        except LeptoGuideError as exc:  # a deliberately broken chart: its error is shown instead
            found[name] = find_process_words(str(exc))
            continue
        for audience in ("clinician", "patient"):
            data = assess(case, kb=kb, policy=policy, at=AT, audience=audience)
            for fmt, text in (
                ("json", render_json(data)),
                ("text", render_text(data, kb)),
                ("html", render_html(data, kb)),
            ):
                rendered += 1
                hits = find_process_words(text)
                if hits:
                    found[f"{chart.name} {audience} {fmt}"] = hits
    assert rendered >= 6 * 120
    assert not {k: v for k, v in found.items() if v}, found


def test_review_packet_and_policy_listing_carry_no_process_words() -> None:
    """The sign-off packet hospital reviewers print, and the site-policy listing, speak clinically."""
    from leptoguide.render.review_report import render_review_report

    packet = render_review_report(get_knowledge())
    assert not find_process_words(packet), find_process_words(packet)[:10]
    listing = run_cli("kb", "policy", env={"COLUMNS": "200"})
    assert listing.returncode == 0, listing.stderr
    assert "lp-hold-hours-doac-xa" in listing.stdout
    assert not find_process_words(listing.stdout), find_process_words(listing.stdout)


def test_cds_hooks_cards_carry_no_process_words(tmp_path: Path) -> None:
    """Cards an EHR shows at order-sign and patient-view: summaries, details, sources, suggestions."""
    import json

    from fastapi.testclient import TestClient

    from leptoguide.api.app import create_app
    from leptoguide.settings import Settings
    from service_cases import (
        hook_request,
        it_mtx_flow_block,
        lp_low_platelets,
        realistic_order_sign,
    )

    app = create_app(Settings.from_env(database_url=f"sqlite:///{tmp_path / 'cards.sqlite3'}"))
    cards = 0
    with TestClient(app) as client:
        for pid, (chart, drafts) in (
            ("p-lp", lp_low_platelets()),
            ("p-it", it_mtx_flow_block()),
            ("p-real", realistic_order_sign()),
        ):
            for hook in ("order-sign", "patient-view"):
                resp = client.post(
                    f"/cds-services/leptoguide-{hook}", json=hook_request(hook, pid, chart, drafts)
                )
                assert resp.status_code == 200, resp.text[:400]
                body = resp.json()
                cards += len(body["cards"])
                text = json.dumps(body, ensure_ascii=False)
                assert not find_process_words(text), (pid, hook, find_process_words(text))
    app.state.leptoguide.db.dispose()
    assert cards >= 3
