"""In-process tests of the web pages: rendering, escaping, roles, CSRF, review, feedback."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from html import escape as html_escape
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from leptoguide.knowledge.loader import get_knowledge
from web_helpers import Site, build_app

INLINE_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)


def _draft_id() -> str:
    kb = get_knowledge()
    return next(
        s.id for s in sorted(kb.statements.values(), key=lambda s: s.id) if s.status == "draft"
    )


def _verified_id() -> str:
    kb = get_knowledge()
    return next(
        s.id for s in sorted(kb.statements.values(), key=lambda s: s.id) if s.status == "verified"
    )


PUBLIC = [
    "/",
    "/ask",
    "/patients",
    "/patients/what-is-lm",
    "/kb",
    "/kb/sources",
    "/kb/conflicts",
    "/kb/rules",
    "/login",
]


@pytest.mark.parametrize("url", PUBLIC)
def test_public_pages_render_with_security_headers(site: Site, url: str) -> None:
    resp = site.get(url)
    assert resp.status_code == 200, resp.text[:500]
    csp = resp.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp and "form-action 'self'" in csp
    assert resp.headers["x-content-type-options"] == "nosniff"
    assert resp.headers["referrer-policy"]
    html = resp.text
    assert 'class="skip-link" href="#main"' in html and '<main id="main"' in html
    assert not INLINE_HANDLER.search(html), "inline event handler"
    assert not INLINE_SCRIPT.search(html), "inline script"
    assert "not a medical device" in html


def test_anonymous_cookie_flags_on_loopback(site: Site) -> None:
    resp = site.client.get("/")
    cookie = resp.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
    assert "Secure" not in cookie  # plain HTTP on loopback


def test_secure_cookie_when_not_loopback(_leptoguide_home: Path) -> None:
    app = build_app(_leptoguide_home)
    web = app.state.leptoguide_web
    from dataclasses import replace

    web.settings = replace(web.settings, host="0.0.0.0")
    with TestClient(app, base_url="http://127.0.0.1") as client:
        assert "Secure" in client.get("/").headers["set-cookie"]


def test_post_without_csrf_is_refused(site: Site) -> None:
    resp = site.client.post("/ask", data={"question": "x"})
    assert resp.status_code == 403
    assert "did not come from this site" in resp.text
    resp = site.client.post("/ask", data={"question": "x", "csrf_token": "forged"})
    assert resp.status_code == 403


def test_statement_source_and_conflict_pages(site: Site) -> None:
    kb = get_knowledge()
    sid = _verified_id()
    st = kb.statements[sid]
    html = site.get(f"/kb/statements/{sid}").text
    assert st.title.replace("'", "&#39;") in html
    assert "Review history" in html
    src = st.sources[0].source
    page = site.get(f"/kb/sources/{src}")
    assert page.status_code == 200 and sid in page.text
    assert site.get("/kb/statements/no-such-thing").status_code == 404
    conflicts = site.get("/kb/conflicts").text
    pairs = [s for s in kb.statements.values() if s.conflicts_with]
    if pairs:
        assert pairs[0].title.replace("'", "&#39;") in conflicts or "Disagreement" in conflicts


def test_kb_filters(site: Site) -> None:
    draft = _draft_id()
    html = site.get("/kb?status=draft").text
    assert draft in html
    html = site.get("/kb?status=approved").text
    assert f'/kb/statements/{draft}"' not in html
    html = site.get("/kb?q=zzzznotaword").text
    assert "0 statement(s)" in html


def _visible_text(html: str) -> str:
    """What a reader sees: the page without tags, attributes and scripts."""
    html = re.sub(r"<(script|style)\b.*?</\1>", "", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


def test_patient_page_shows_patient_text_grade_and_citations(site: Site) -> None:
    kb = get_knowledge()
    html = site.get("/patients/what-is-lm").text
    st = kb.statements["patient-what-is-lm"]
    assert st.patient.split(".")[0].replace("'", "&#39;") in html
    assert "Reading grade:" in html and "Where this comes from" in html
    assert 'id="ref-1"' in html
    assert "patient-what-is-lm" not in _visible_text(html)
    assert site.get("/patients/nope").status_code == 404


def test_login_logout_and_rate_limit(site: Site, users: dict[str, str]) -> None:
    resp = site.login("reviewer1", "wrong-password-xx")
    assert resp.status_code == 401
    resp = site.login("reviewer1", users["reviewer"])
    assert resp.status_code == 303
    cookie = resp.headers["set-cookie"]
    assert "lg_session=" in cookie and "HttpOnly" in cookie
    assert "reviewer1 (reviewer)" in site.get("/").text
    resp = site.post("/logout")
    assert resp.status_code == 303
    assert "Sign in" in site.get("/").text
    for _ in range(5):
        assert site.login("admin1", "bad-password-yy").status_code == 401
    blocked = site.login("admin1", users["admin"])
    assert blocked.status_code == 429  # the right password no longer helps
    # another username from the same client is not blocked
    assert site.login("viewer1", users["viewer"]).status_code == 303


def test_session_token_stored_hashed(app: FastAPI, site: Site, users: dict[str, str]) -> None:
    site.login("viewer1", users["viewer"])
    token = site.client.cookies.get("lg_session")
    assert token
    from sqlalchemy import select

    from leptoguide.store.web_models import WebSession

    with app.state.leptoguide_web.db.session() as s:
        hashes = list(s.execute(select(WebSession.token_hash)).scalars())
    assert token not in hashes and len(hashes) == 1


def test_login_next_is_local_only(site: Site, users: dict[str, str]) -> None:
    site.get("/login")
    resp = site.post(
        "/login", {"username": "viewer1", "password": users["viewer"], "next": "//evil.example/"}
    )
    assert resp.headers["location"] == "/"


def test_review_moves_draft_and_history_shows(
    app: FastAPI, site: Site, users: dict[str, str]
) -> None:
    sid = _draft_id()
    site.login("clinician1", users["clinician"])
    resp = site.post(
        f"/kb/statements/{sid}/review",
        {"current": "draft", "to_status": "in_review", "comment": "x"},
    )
    assert resp.status_code == 403  # clinicians do not review
    site.post("/logout")
    site.login("reviewer1", users["reviewer"])
    page = site.get(f"/kb/statements/{sid}").text
    assert "Review this statement" in page
    resp = site.post(
        f"/kb/statements/{sid}/review",
        {"current": "draft", "to_status": "approved", "comment": "skip"},
    )
    assert resp.status_code == 422  # two-person rule: no one approves a draft alone
    assert "two-person rule" in resp.text
    resp = site.post(
        f"/kb/statements/{sid}/review",
        {"current": "draft", "to_status": "in_review", "comment": "Checked <b>table 2</b>"},
    )
    assert resp.status_code == 303
    resp = site.post(
        f"/kb/statements/{sid}/review",
        {"current": "in_review", "to_status": "approved", "comment": "my own"},
    )
    assert resp.status_code == 422 and "another reviewer must approve" in resp.text
    site.post("/logout")
    from leptoguide.store.accounts import add_user

    add_user(app.state.leptoguide_web.db, "reviewer2", "reviewer-password-456", "reviewer")
    site.login("reviewer2", "reviewer-password-456")
    page = site.get(f"/kb/statements/{sid}").text
    version = re.search(r'name="version" value="(\d+)"', page)
    assert version and version.group(1) == "1"
    resp = site.post(
        f"/kb/statements/{sid}/review",
        {
            "current": "in_review",
            "to_status": "approved",
            "comment": "matches the source",
            "version": "1",
        },
    )
    assert resp.status_code == 422  # approval needs the clinician's role
    resp = site.post(
        f"/kb/statements/{sid}/review",
        {
            "current": "in_review",
            "to_status": "approved",
            "comment": "matches the source",
            "clinical_role": "consultant neuro-oncologist",
        },
    )
    assert resp.status_code == 303
    page = site.get(f"/kb/statements/{sid}").text
    assert "in review → approved" in page and "draft → in review" in page
    assert "Checked &lt;b&gt;table 2&lt;/b&gt;" in page
    assert 'status-approved">approved at this site' in page
    assert "Approved by reviewer2 (consultant neuro-oncologist)" in page
    # a stale form (status changed meanwhile) is refused
    resp = site.post(
        f"/kb/statements/{sid}/review",
        {"current": "in_review", "to_status": "draft", "comment": "late", "version": "1"},
    )
    assert resp.status_code == 422 and "meanwhile" in resp.text
    assert "/kb/statements/" + sid in site.get("/kb?status=approved").text


def test_approved_only_hides_drafts(_leptoguide_home: Path) -> None:
    app = build_app(_leptoguide_home, approved_only=True)
    sid = _draft_id()
    with TestClient(app, base_url="http://127.0.0.1") as client:
        assert "Approved-only mode" in client.get("/").text
        assert f'/kb/statements/{sid}"' not in client.get("/kb").text
        assert client.get(f"/kb/statements/{sid}").status_code == 404


def test_ask_escapes_and_links_citations(
    site: Site, fake_answer: Callable[..., None], users: dict[str, str]
) -> None:
    sid = _verified_id()
    fake_answer("Answer text **bold** [1] and [7].\n\n- item one [1]", statement=sid)
    payload = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'
    resp = site.post("/ask", {"question": payload, "audience": "clinician"})
    assert resp.status_code == 200
    html = resp.text
    assert "<img src=x" not in html and "<script>window" not in html
    assert "&lt;img src=x onerror=" in html
    assert '<a class="cite" href="#ref-1"' in html
    assert "[7]" in html and 'href="#ref-7"' not in html  # unknown numbers stay text
    # citations show source and locator; the statement id stays in links, never in the text
    assert f"/kb/statements/{sid}" in html and sid not in _visible_text(html)
    assert "<strong>bold</strong>" in html and "<li>item one" in html
    conv = re.search(r'name="conversation_id" value="(web-[0-9a-f]{16})"', html)
    assert conv
    # follow-up keeps the conversation and shows the earlier question (escaped)
    resp = site.post(
        "/ask",
        {
            "question": "and then?",
            "audience": "patient",
            "conversation_id": "conv-1",
            "turn": payload,
        },
    )
    assert "Earlier in this conversation" in resp.text and "&lt;img" in resp.text
    # feedback on the answer goes beside the cited statement
    audit_id = re.search(r'name="target_id" value="([^"]+)"', resp.text)
    assert audit_id
    resp = site.post(
        "/feedback",
        {
            "target_kind": "answer",
            "target_id": audit_id.group(1),
            "helpful": "no",
            "reason": "too vague",
        },
    )
    assert resp.status_code == 200 and "feedback was recorded" in resp.text
    site.login("reviewer1", users["reviewer"])
    page = site.get(f"/kb/statements/{sid}").text
    assert "too vague" in page and "Not helpful" in page
    assert "too vague" in site.get("/review").text


def test_abstention_is_plain(site: Site, fake_answer: Callable[..., None]) -> None:
    fake_answer("", abstain=True)
    html = site.post("/ask", {"question": "what is the weather"}).text
    assert "No answer." in html and "no supporting statement" in html


def _bundle() -> bytes:
    return json.dumps(
        {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [
                {
                    "fullUrl": "urn:uuid:p1",
                    "resource": {
                        "resourceType": "Patient",
                        "id": "p1",
                        "birthDate": "1960-01-01",
                        "gender": "female",
                    },
                }
            ],
        }
    ).encode()


def test_assessment_needs_clinician_and_is_stored(
    app: FastAPI, site: Site, users: dict[str, str]
) -> None:
    resp = site.client.get("/assess", follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"].startswith("/login?next=")
    site.login("viewer1", users["viewer"])
    assert site.get("/assess").status_code == 403
    site.post("/logout")
    site.login("clinician1", users["clinician"])
    page = site.get("/assess")
    assert page.status_code == 200 and 'enctype="multipart/form-data"' in page.text
    resp = site.client.post(
        "/assess/upload",
        data={"csrf_token": site.csrf},
        files={"bundle": ("bundle.json", _bundle(), "application/json")},
        follow_redirects=False,
    )
    assert resp.status_code == 303, resp.text[:800]
    url = resp.headers["location"]
    event = app.state.leptoguide.audit.get(url.rsplit("/", 1)[-1])
    assert (event.actor, event.auth_method) == ("clinician1", "session")
    result = site.get(url)
    assert result.status_code == 200
    for heading in ("Classification and risk", "Alerts", "Missing or stale data", "Inputs used"):
        assert heading in result.text
    assert "report.pdf" in result.text
    pdf = site.client.get(url + "/report.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert site.client.get(url + "/schedule.ics").status_code == 404  # no schedule here
    assert site.get("/assess/does-not-exist").status_code == 404
    # a broken upload is reported on the form, not as a crash
    resp = site.client.post(
        "/assess/upload",
        data={"csrf_token": site.csrf},
        files={"bundle": ("bad.json", b"{not json", "application/json")},
    )
    assert resp.status_code == 422 and "could not be used" in resp.text


def test_audit_viewer_is_admin_only(
    site: Site, users: dict[str, str], fake_answer: Callable[..., None]
) -> None:
    fake_answer("text [1]", statement=_verified_id())
    site.post("/ask", {"question": "q"})
    site.login("reviewer1", users["reviewer"])
    assert site.get("/admin/audit").status_code == 403
    site.post("/logout")
    site.login("admin1", users["admin"])
    html = site.get("/admin/audit").text
    assert "ask" in html
    ref = re.search(r'href="/admin/audit/([0-9a-f-]{36})"', html)
    assert ref
    detail = site.get(f"/admin/audit/{ref.group(1)}")
    assert detail.status_code == 200 and "knowledge version" in detail.text


def test_assessment_from_the_form(site: Site, users: dict[str, str]) -> None:
    site.login("clinician1", users["clinician"])
    site.get("/assess")
    resp = site.post(
        "/assess/form",
        {
            "case_id": "form-demo",
            "sex": "female",
            "weight": "70",
            "primary": "breast-cancer",
            "her2": "positive",
            "kps": "80",
            "mri_pattern": "linear",
            "cytology": "positive",
            "symptoms.headache": "1",
            "csf_protein": "0.9",
            "csf_protein.unit": "g/L",
            "platelets": "42",
            "inr": "1.1",
            "anticoagulants.0.drug": "enoxaparin",
            "anticoagulants.0.dose": "70",
            "anticoagulants.0.last": "2026-11-20T09:00",
            "orders.lumbar-puncture": "1",
            "devices.ommaya-reservoir": "1",
        },
    )
    assert resp.status_code == 303, resp.text[:1500]
    page = site.get(resp.headers["location"])
    assert page.status_code == 200 and "Classification and risk" in page.text
    assert "Missing or stale data" in page.text


def test_form_to_casefile_shape() -> None:
    from starlette.datastructures import FormData

    from leptoguide.web.caseform import form_to_casefile

    doc = form_to_casefile(
        FormData(
            [
                ("primary", "melanoma"),
                ("kps", "70"),
                ("csf_glucose", "2,5"),
                ("csf_glucose.unit", "mmol/L"),
                ("platelets", "120"),
                ("lab_time", "2026-11-20T08:00"),
                ("symptoms.diplopia", "1"),
                ("symptoms.not-an-option", "1"),
                ("it_drug", "methotrexate"),
                ("typical_lm_signs", "no"),
                ("bogus", "x"),
            ]
        )
    )
    assert doc["cancer"] == {"primary": "melanoma"}
    assert doc["performance"] == {"kps": 70}
    assert doc["csf"] == {"glucose": {"value": 2.5, "unit": "mmol/L"}}
    assert doc["labs"] == [
        {"test": "platelets", "value": 120.0, "unit": "10*9/L", "time": "2026-11-20T08:00:00+00:00"}
    ]
    assert doc["symptoms"] == ["diplopia"]
    assert doc["orders"] == [{"drug": "methotrexate", "route": "intrathecal"}]
    assert doc["findings"] == {"typical_lm_signs": False}
    assert "bogus" not in doc and "date" in doc


def test_review_queue_filters(site: Site, users: dict[str, str]) -> None:
    from leptoguide.knowledge.loader import get_knowledge

    kb = get_knowledge()
    site.login("reviewer1", users["reviewer"])
    everything = site.get("/review").text
    rule = next(r for r in sorted(kb.rules.values(), key=lambda r: r.id) if r.cites)
    page = site.get(f"/review?rule={rule.id}").text
    listed = set(re.findall(r'href="/kb/statements/([a-z0-9-]+)#review-heading"', page))
    assert listed and listed <= set(rule.cites)
    assert len(listed) < len(re.findall(r"#review-heading", everything))
    topic = sorted({t for s in kb.statements.values() if s.status == "draft" for t in s.topics})[0]
    page = site.get(f"/review?topic={topic}&status=draft").text
    listed = set(re.findall(r'href="/kb/statements/([a-z0-9-]+)#review-heading"', page))
    assert listed and all(topic in kb.statements[s].topics for s in listed)
    assert f'<option value="{topic}" selected>' in page


def test_api_docs_are_served_offline(site: Site) -> None:
    page = site.get("/docs")
    assert page.status_code == 200
    assert "/static/swagger-ui/swagger-ui-bundle.js" in page.text
    assert "cdn" not in page.text.lower() and "https://" not in page.text
    bundle = site.get("/static/swagger-ui/swagger-ui-bundle.js")
    assert bundle.status_code == 200 and "SwaggerUIBundle" in bundle.text[:200000]
    assert site.get("/static/swagger-ui/swagger-ui.css").status_code == 200
    assert site.get("/static/js/swagger-init.js").status_code == 200
    assert site.get("/openapi.json").json()["info"]["title"] == "LeptoGuide"


def test_home_question_box_uses_the_audience_the_visitor_picked(
    site: Site, fake_answer: Any
) -> None:
    fake_answer("It is cancer in the fluid around the brain [1].", statement="patient-what-is-lm")
    home = site.get("/").text
    box = home.split('class="inline-fieldset audience-choice"', 1)[1].split("</fieldset>", 1)[0]
    assert "checked" not in box and "required" in box  # no preset: the visitor picks
    site.post("/ask", {"question": "what is it", "audience": "patient"})
    box = site.get("/").text.split("audience-choice", 1)[1].split("</fieldset>", 1)[0]
    assert 'value="patient" required checked' in box
    assert 'value="clinician" checked' not in box
    box = site.get("/?audience=clinician").text.split("audience-choice", 1)[1]
    assert 'value="clinician" checked' in box.split("</fieldset>", 1)[0]


def test_patient_pages_have_diagrams_with_text_alternatives(site: Site) -> None:
    from leptoguide.web.patient import page_definitions

    pages = {p.id: p for p in page_definitions()}
    drawn = [p for p in pages.values() if p.figures]
    assert {"what-is-lm", "tests", "ommaya"} <= {p.id for p in drawn}
    for p in drawn:
        html = site.get(f"/patients/{p.id}").text
        for f in p.figures:
            assert f'<img src="{f["src"]}" alt="{f["alt"]}"' in html and len(f["alt"]) > 30
            svg = site.get(f["src"])
            assert svg.status_code == 200 and "<title" in svg.text and "<desc" in svg.text
    index = site.get("/patients").text
    assert "reviewed statement" not in index  # the index does not claim every sentence is reviewed
    assert "draft" in index


def test_disagreements_grouped_by_topic_with_number_lines(site: Site) -> None:
    from leptoguide.knowledge.loader import get_knowledge

    kb = get_knowledge()
    html = site.get("/kb/conflicts").text
    platelet = kb.parameters["lp-platelet-min"]
    topic = kb.statements[platelet.statement or ""].topics[0]
    section = html.split(f'id="topic-{topic}"', 1)[1].split('class="conflict-topic"', 1)[0]
    assert platelet.title in section
    after = section.split(platelet.title, 1)[1]
    alt = re.search(r'<img src="data:image/svg\+xml;base64,[^"]+" alt="([^"]+)"', after)
    assert alt and f"site policy {platelet.default}" in alt.group(1)
    for a in platelet.alternatives:
        assert f"{a.value} (" in alt.group(1)
    # the platelet cut-offs come before any disagreement card on the page
    assert html.index(platelet.title) < html.index('class="conflict"')
    assert f'href="#topic-{topic}"' in html


def test_open_access_sources_link_to_their_full_text(site: Site) -> None:
    from leptoguide.knowledge.loader import get_knowledge

    kb = get_knowledge()
    st = next(
        s
        for s in sorted(kb.statements.values(), key=lambda s: s.id)
        if any((kb.sources.get(c.source) or None) and kb.sources[c.source].pmcid for c in s.sources)
    )
    src = next(
        kb.sources[c.source]
        for c in st.sources
        if c.source in kb.sources and kb.sources[c.source].pmcid
    )
    html = site.get(f"/kb/statements/{st.id}").text
    assert f'href="https://pmc.ncbi.nlm.nih.gov/articles/{src.pmcid}/"' in html


def _upload(site: Site, name: str, raw: bytes, at: str) -> str:
    resp = site.client.post(
        "/assess/upload",
        data={"csrf_token": site.csrf, "at": at},
        files={"bundle": (name, raw, "application/octet-stream")},
        follow_redirects=False,
    )
    assert resp.status_code == 303, resp.text[:800]
    return str(resp.headers["location"])


def test_assessment_page_draws_csf_patterns_and_lab_trends(
    site: Site, users: dict[str, str]
) -> None:
    site.login("clinician1", users["clinician"])
    site.get("/assess")
    root = Path(__file__).resolve().parents[2]
    tb = (root / "examples/fhir/tb-meningitis-csf.json").read_bytes()
    page = site.get(_upload(site, "tb.json", tb, "2026-11-18T12:00")).text
    figure = re.search(r'<figure class="chart" id="chart-csf-patterns">.*?</figure>', page, re.S)
    assert figure, "CSF picture missing"
    assert re.search(
        r'<img src="data:image/svg\+xml;base64,[^"]+" alt="CSF values[^"]+">', figure[0]
    )
    assert "Closest pattern: tuberculous (TB)." in figure[0]
    assert "Lab trends" not in page  # one value of each lab: nothing to trend
    case = {
        "date": "2026-11-20T06:10:00Z",
        "labs": [
            {"test": "platelets", "value": 120, "unit": "10*9/L", "time": "2026-11-14T07:00:00Z"},
            {"test": "platelets", "value": 42, "unit": "10*9/L", "time": "2026-11-20T05:00:00Z"},
            {"test": "INR", "value": 1.0, "time": "2026-11-15T07:00:00Z"},
            {"test": "INR", "value": 1.3, "time": "2026-11-19T07:00:00Z"},
        ],
        "orders": [{"type": "lumbar-puncture"}],
    }
    site.get("/assess")
    url = _upload(site, "case.json", json.dumps(case).encode(), "2026-11-20T06:10")
    page = site.get(url).text
    assert '<h2 id="trends-heading">Lab trends</h2>' in page
    for fact in ("platelets", "inr"):
        figure = re.search(
            rf'<figure class="chart" id="chart-trend-{fact}">.*?</figure>', page, re.S
        )
        assert figure and 'alt="Trend of ' in figure[0] and "site policy" in figure[0]
    assert "chart-csf-patterns" not in page


def _main(html: str) -> str:
    m = re.search(r"<main[^>]*>(.*)</main>", html, re.S)
    assert m
    return m.group(1)


def test_patient_pages_answer_from_cited_statements_only(site: Site) -> None:
    """Every paragraph of a patient page's answer is a statement's patient text with its
    citation marks; the page says truthfully how many answers are verified or draft."""
    from leptoguide.web.patient import page_definitions, page_parts

    kb = get_knowledge()
    for p in page_definitions():
        html = site.get(f"/patients/{p.id}").text
        main = _main(html)
        parts = page_parts(p, kb)
        assert parts.main, p.id
        for para in re.findall(r'<section class="patient-item"[^>]*>.*?<p>(.*?)</p>', main, re.S):
            assert 'class="cite"' in para, (p.id, para[:80])
        shown = parts.all()
        for st in shown:
            text = st.patient.replace("'", "&#39;").replace('"', "&#34;")
            assert text in main, (p.id, st.id)
        statuses = [st.status for st in shown]
        summary = re.search(r'<p class="status-summary">(.*?)</p>', main, re.S)
        assert summary, p.id
        for status in ("verified", "draft"):
            n = statuses.count(status)
            assert (f"{n} {status} (" in summary.group(1)) == (n > 0), (p.id, summary.group(1))
        assert "Not all are approved by a doctor at this hospital." in summary.group(1)
        drafts = [st for st in shown if st.status == "draft"]
        assert main.count("status-draft") >= len(drafts)
        for f in p.figures:  # a diagram is backed by a statement on the page, and cites it
            assert f["statement"] in {st.id for st in shown}, (p.id, f["src"])
            caption = re.search(
                rf'<img src="{re.escape(f["src"])}"[^>]*><figcaption>(.*?)</figcaption>', main, re.S
            )
            assert caption and 'class="cite"' in caption.group(1), (p.id, f["src"])
        if p.urgent:
            urgent = re.search(r'<aside class="notice urgent"[^>]*>(.*?)</aside>', main, re.S)
            assert urgent and 'class="cite"' in urgent.group(1)
    index = _main(site.get("/patients").text)
    assert "emergency number" not in index  # no uncited advice: the index links to the page


def test_topic_currency_on_clinician_and_patient_pages(site: Site) -> None:
    kb = get_knowledge()
    csf = kb.topics["csf"]
    lit = f"{csf.literature_reviewed_through.day} {csf.literature_reviewed_through:%b %Y}"
    upd = f"{csf.last_updated.day} {csf.last_updated:%b %Y}"

    def currency(html: str) -> str:
        m = re.search(r'<div class="currency meta" role="note">(.*?)</div>', html, re.S)
        assert m, "no currency line"
        text = re.sub(r"<[^>]+>", "", m.group(1))
        assert f"Literature reviewed through {lit}" in text and f"last updated {upd}" in text
        return text

    assert "CSF" in currency(site.get("/kb?topic=csf").text)
    assert "CSF" in currency(site.get("/kb/statements/csf-profile-bacterial").text)
    currency(site.get("/patients/tests").text)
    currency(site.get("/kb/conflicts").text)  # each disagreement topic too
    assert '<div class="currency' not in site.get("/kb").text  # no topic chosen, no date claimed


def test_full_text_sources_without_pmc_link_to_their_text(site: Site) -> None:
    """A source read in full at a public address (no PubMed Central id) is linked from each
    statement that cites it, with the locator to look for, and from its source page."""
    kb = get_knowledge()

    def cites(pred: Callable[[Any], bool]) -> tuple[str, Any]:
        for s in sorted(kb.statements.values(), key=lambda s: s.id):
            for c in s.sources:
                src = kb.sources.get(c.source)
                if src is not None and pred(src):
                    return s.id, src
        raise AssertionError("no such source in the knowledge base")

    sid, src = cites(
        lambda x: x.access == "full-text" and not x.pmcid and (x.url or "").startswith("https://")
    )
    html = site.get(f"/kb/statements/{sid}").text
    href = re.escape(html_escape(src.url))
    link = re.search(rf'<a href="{href}" rel="noopener" class="full-text">([^<]+)</a>', html)
    assert link and link.group(1).startswith("Full text online")
    page = site.get(f"/kb/sources/{src.id}").text
    assert f'<a href="{html_escape(src.url)}" rel="noopener">' in page


def _two_patient_searchset() -> bytes:
    def patient(pid: str) -> dict[str, Any]:
        return {"resourceType": "Patient", "id": pid, "birthDate": "1970-01-01", "gender": "male"}

    return json.dumps(
        {
            "resourceType": "Bundle",
            "type": "searchset",
            "entry": [{"resource": patient("pa")}, {"resource": patient("pb")}],
        }
    ).encode()


def test_upload_patient_field_chooses_the_patient(
    app: FastAPI, site: Site, users: dict[str, str]
) -> None:
    site.login("clinician1", users["clinician"])
    page = site.get("/assess")
    assert 'name="patient"' in page.text
    resp = site.client.post(
        "/assess/upload",
        data={"csrf_token": site.csrf, "patient": "pb"},
        files={"bundle": ("two.json", _two_patient_searchset(), "application/json")},
        follow_redirects=False,
    )
    assert resp.status_code == 303, resp.text[:800]
    event = app.state.leptoguide.audit.get(resp.headers["location"].rsplit("/", 1)[-1])
    audit = app.state.leptoguide.audit
    assert (
        event.patient_hash == audit.patient_hash("Patient/pb") != audit.patient_hash("Patient/pa")
    )
    resp = site.client.post(
        "/assess/upload",
        data={"csrf_token": site.csrf, "patient": "nobody"},
        files={"bundle": ("two.json", _two_patient_searchset(), "application/json")},
    )
    assert resp.status_code == 422
    assert "no patient" in resp.text and "nobody" in resp.text
