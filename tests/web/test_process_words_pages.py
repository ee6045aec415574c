"""Every web page speaks of medicine and of the product, never of how the content was made.

Public pages (home, patient pages, the knowledge browser with every statement, source and rule),
the clinician's assessment form and results, the reviewer's queue, the admin audit view and answers
asked through the web form are rendered in process and searched for process words, local paths and
internal file names (``tests/process_words.py``).
"""

from __future__ import annotations

from pathlib import Path

from leptoguide.knowledge.loader import get_knowledge
from leptoguide.web.patient import page_definitions
from process_words import find_process_words
from web_helpers import Site

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
BUNDLES = (
    SCENARIOS / "bundles" / "01-lm-probable-her2-good-risk.json",
    SCENARIOS / "bundles" / "04-lm-suspected-lp-planned-no-mri.json",
    SCENARIOS / "bundles" / "03-sclc-poor-risk-chemosensitive.json",
    SCENARIOS / "charts" / "bundles" / "flow-epic-blocked.json",
)
QUESTIONS = (
    ("clinician", "What is the recommended treatment for a leptomeningeal infection of the spine?"),
    ("clinician", "What KPS makes a patient with LM good risk?"),
    ("clinician", "Can I give intrathecal chemotherapy through a CSF flow block?"),
    ("patient", "What is leptomeningeal disease?"),
    ("patient", "How long do I stop apixaban before a spinal tap?"),
)


def _check(site: Site, urls: list[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for url in urls:
        resp = site.get(url)
        assert resp.status_code == 200, (url, resp.status_code)
        hits = find_process_words(resp.text)
        if hits:
            found[url] = hits
    return found


def test_public_pages_carry_no_process_words(site: Site) -> None:
    kb = get_knowledge()
    urls = ["/", "/?audience=patient", "/patients", "/login", "/ask", "/ask?audience=patient"]
    urls += [f"/patients/{page.id}" for page in page_definitions()]
    urls += ["/kb", "/kb?status=draft", "/kb?status=verified", "/kb/sources", "/kb/conflicts"]
    urls += ["/kb/rules"]
    urls += [f"/kb/statements/{sid}" for sid in sorted(kb.statements)]
    urls += [f"/kb/sources/{sid}" for sid in sorted(kb.sources)]
    urls += [f"/kb/rules/{rid}" for rid in sorted(kb.rules)]
    found = _check(site, urls)
    assert not found, found


def test_signed_in_pages_carry_no_process_words(site: Site, users: dict[str, str]) -> None:
    site.login("reviewer1", users["reviewer"])
    found = _check(site, ["/review", "/review?status=draft", "/kb?status=draft"])
    site.post("/logout")
    site.login("clinician1", users["clinician"])
    found.update(_check(site, ["/assess"]))
    for bundle in BUNDLES:
        resp = site.client.post(
            "/assess/upload",
            data={"csrf_token": site.csrf},
            files={"bundle": (bundle.name, bundle.read_bytes(), "application/json")},
            follow_redirects=False,
        )
        assert resp.status_code == 303, (bundle.name, resp.text[:400])
        found.update(_check(site, [resp.headers["location"]]))
    site.post("/logout")
    site.login("admin1", users["admin"])
    found.update(_check(site, ["/admin/audit"]))
    assert not found, found


def test_answers_in_the_web_app_carry_no_process_words(site: Site) -> None:
    site.get("/ask")
    found: dict[str, list[str]] = {}
    for audience, question in QUESTIONS:
        resp = site.post("/ask", {"question": question, "audience": audience})
        assert resp.status_code == 200, (question, resp.status_code)
        hits = find_process_words(resp.text)
        if hits:
            found[question] = hits
    assert not found, found
