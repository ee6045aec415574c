"""Browser tests: Debian's Chromium via Playwright against a real ``leptoguide serve`` process.

No browser is downloaded: Playwright launches /usr/bin/chromium. axe-core (fetched by ``make setup``
into .cache/axe) is injected into every page checked; serious or critical violations fail the test.
Screenshots of the key pages go to test-artifacts/screenshots/.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.server]

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
AXE = ROOT / ".cache" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = ROOT / "test-artifacts" / "screenshots"
EXAMPLES = ROOT / "examples" / "fhir"
ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
]
PASSWORDS = {
    "clinician": "clinician-pass-123",
    "reviewer": "reviewer-pass-123",
    "admin": "admin-pass-12345",
}

if not CHROMIUM.exists():  # pragma: no cover - depends on the machine
    pytest.skip(
        "Chromium not installed (apt-get install chromium; .ci/system-packages.sh does it)",
        allow_module_level=True,
    )


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM), "args": ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    # axe-core is injected as a script, which the pages' CSP would refuse. Bypassing CSP in the
    # test browser also means the XSS test proves the escaping alone keeps injected markup inert.
    return {**browser_context_args, "bypass_csp": True}


@pytest.fixture(scope="session")
def _shared_page(browser: Any, browser_context_args: dict[str, Any]) -> Iterator[Any]:
    context = browser.new_context(**browser_context_args)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def page(_shared_page: Any) -> Any:
    """One browser page for the tests that need no browser settings of their own (a test that
    does, such as a time zone, a phone screen, no script or an init script, opens its own
    context): each test starts on a blank page with no cookies, so signed out. A new context and
    page per test cost about half a second each."""
    _shared_page.context.clear_cookies()
    _shared_page.goto("about:blank")
    return _shared_page


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def server(
    tmp_path_factory: pytest.TempPathFactory,
    migrated_sqlite: Path,
    _statement_index: Path,
    production_password_hasher: Any,
) -> Iterator[str]:
    """A real ``leptoguide serve`` on a free loopback port with its own LEPTOGUIDE_HOME.

    Its database starts as a copy of the session's migrated one, with the accounts added in this
    process with the production argon2 parameters (what ``users add`` does: test_cli_users.py
    runs that command), and its home holds the session's statement index, as ``make setup``
    leaves one; the server still migrates and checks the index itself on start.
    """
    from leptoguide.store import accounts
    from leptoguide.store.db import Database

    home = tmp_path_factory.mktemp("web-home")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEPTOGUIDE_")}
    env["LEPTOGUIDE_HOME"] = str(home)
    cli = [sys.executable, "-m", "leptoguide"]
    database = home / "leptoguide.sqlite3"
    shutil.copyfile(migrated_sqlite, database)
    (home / "index").mkdir()
    os.link(_statement_index, home / "index" / _statement_index.name)
    db = Database(f"sqlite:///{database}")
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(accounts, "_hasher", production_password_hasher)
            for name, role in [(f"{role}1", role) for role in PASSWORDS] + [
                ("reviewer2", "reviewer")
            ]:
                accounts.add_user(db, name, PASSWORDS[role], role)
    finally:
        db.dispose()
    port = _free_port()
    log = (home / "serve.log").open("w")
    serve = ["serve", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    proc = subprocess.Popen(
        [*cli, *serve, "--database", f"sqlite:///{database}"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=2) as resp:
                if resp.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("server did not start:\n" + (home / "serve.log").read_text())
        time.sleep(0.05)
    try:
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def check_a11y(page: Any) -> None:
    """Run axe-core in the page; fail on serious or critical violations."""
    if not AXE.exists():
        if shutil.which("npm") is None:
            pytest.skip("axe-core unavailable: npm is not installed (make setup fetches axe-core)")
        raise AssertionError("axe-core missing: run `make setup` (npm install --prefix .cache/axe)")
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    bad = [v for v in result["violations"] if v["impact"] in ("serious", "critical")]
    detail = [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"][:5]]}
        for v in bad
    ]
    assert not bad, f"{page.url}: {json.dumps(detail, indent=1)}"


# (server, account) -> the cookies of that account's first sign-in through the login form
SIGNED_IN: dict[tuple[str, str], list[Any]] = {}


def login(page: Any, base: str, role: str, name: str | None = None) -> None:
    """Sign in: through the login form the first time for each account, afterwards by handing
    the page's browser context the cookies of that sign-in (a session the server still checks on
    every page: a signed-out or expired one sends the test to the login page and fails it). The one
    account that signs out, reviewer1, is used by no other test."""
    name = name or f"{role}1"
    if (base, name) in SIGNED_IN:
        page.context.add_cookies(SIGNED_IN[base, name])
        return
    page.goto(f"{base}/login")
    page.fill("#username", name)
    page.fill("#password", PASSWORDS[role])
    page.click("form.narrow button[type=submit]")
    page.wait_for_selector(f"text={name} ({role})")
    SIGNED_IN[base, name] = page.context.cookies()


def test_assessment_from_uploaded_bundle(page: Any, server: str) -> None:
    bundles = sorted(EXAMPLES.glob("*.json"))
    assert bundles, "examples/fhir/ has no bundles"
    example = next((b for b in bundles if "her2" in b.name), bundles[0])
    login(page, server, "clinician")
    page.goto(f"{server}/assess")
    check_a11y(page)
    shot(page, "assess-form")
    page.set_input_files("#bundle", str(example))
    page.click("text=Assess the file")
    page.wait_for_selector("h2#summary-heading")
    assert "/assess/" in page.url
    for heading in ("Alerts", "Missing or stale data", "Inputs used", "References"):
        assert page.locator(f"h2:text-is('{heading}')").count() == 1
    shot(page, "assess-result")
    check_a11y(page)
    # The stored result is reachable again by its id (the CDS card link)
    url = page.url
    page.goto(url)
    assert page.locator("h2#summary-heading").count() == 1
    with page.expect_download() as dl:
        page.click("text=Download PDF")
    assert dl.value.suggested_filename.endswith(".pdf")


def test_assessment_from_form(page: Any, server: str) -> None:
    login(page, server, "clinician")
    page.goto(f"{server}/assess")
    page.select_option("#f-primary", "breast-cancer")
    page.fill("#f-kps", "80")
    page.select_option("#f-mri_pattern", "linear")
    page.select_option("#f-cytology", "positive")
    page.fill("#f-platelets", "42")
    page.select_option("#f-anticoagulants-0-drug", "enoxaparin")
    page.fill("#f-anticoagulants-0-dose", "70")
    page.fill("#f-anticoagulants-0-last", "2026-11-20T09:00")
    page.check("input[name='orders.lumbar-puncture']")
    page.click("form.case-form button[type=submit]")
    page.wait_for_selector("h2#summary-heading")
    shot(page, "assess-form-result")


def test_question_with_citations_and_follow_up(page: Any, server: str) -> None:
    page.goto(f"{server}/ask")
    check_a11y(page)
    page.fill("#question", "What is leptomeningeal metastasis?")
    page.click("form.ask-form button[type=submit]")
    page.wait_for_selector("h2#answer-heading")
    assert page.locator("ol.refs > li").count() >= 1
    assert page.locator(".answer-body a.cite").count() >= 1
    page.locator("ol.refs > li summary").first.click()
    assert page.locator("ol.refs > li .ref-source").first.is_visible()
    # following a citation marker opens its source row and the statement it belongs to
    cite = page.locator(".answer-body a.cite").last
    target = page.locator("#" + cite.get_attribute("href")[1:])
    cite.click()
    assert target.locator(".ref-source").is_visible()
    group = page.locator(".ref-group", has=target)
    assert group.locator(".ref-statement-text").is_visible()
    assert ">" not in page.locator(".answer-body").inner_text().replace("->", "")
    shot(page, "ask-answer")
    check_a11y(page)
    page.fill("#question", "How is it diagnosed?")
    page.click("form.ask-form button[type=submit]")
    page.wait_for_selector("h2#conv-heading")
    assert "What is leptomeningeal metastasis?" in page.locator("ol.turns").inner_text()
    assert page.locator("input[name=conversation_id]").count() == 1
    # feedback on the answer
    page.check("input[name=helpful][value=yes]")
    page.fill("textarea[name=reason]", "clear")
    page.click("text=Send feedback")
    page.wait_for_selector("text=Your feedback was recorded")


def test_print_hides_controls_and_expands_references(browser: Any, server: str) -> None:
    # No script: the print stylesheet alone must open every reference.
    context = browser.new_context(java_script_enabled=False, bypass_csp=True)
    page = context.new_page()
    try:
        page.goto(f"{server}/patients/what-is-lm")
        page.emulate_media(media="print")
        for hidden in (".site-header", ".subnav", ".breadcrumb", ".print-button"):
            assert not page.locator(hidden).first.is_visible(), hidden
        sources = page.locator("ol.refs .ref-source")
        assert sources.count() >= 1
        assert all(sources.nth(i).is_visible() for i in range(sources.count()))
        assert page.locator(".ref-statement-text").count() == 0  # the page text is the wording
        more = page.locator(".more-about .patient-item p")
        assert more.count() >= 1 and more.first.is_visible()  # folded answers print open
        page.screenshot(path=str(SHOTS / "patient-page-print.png"), full_page=True)
        page.emulate_media(media="screen")
        assert not sources.first.is_visible()  # closed on screen until opened
        page.emulate_media(media="screen")
        page.goto(f"{server}/ask")
        page.fill("#question", "What is leptomeningeal metastasis?")
        page.click("form.ask-form button[type=submit]")
        page.wait_for_selector("h2#answer-heading")
        page.emulate_media(media="print")
        for hidden in (".feedback", ".ask-panel", "nav[aria-label=Main]"):
            assert not page.locator(hidden).first.is_visible(), hidden
        assert page.locator("ol.refs .ref-source").first.is_visible()
        texts = page.locator(".ref-statement-text")
        assert texts.count() >= 1
        assert all(texts.nth(i).is_visible() for i in range(texts.count()))
        assert page.locator(".site-footer .versions").is_visible()  # versions stay on paper
        page.screenshot(path=str(SHOTS / "ask-answer-print.png"), full_page=True)
    finally:
        context.close()


def test_xss_in_question_is_inert(browser: Any, server: str) -> None:
    context = browser.new_context(bypass_csp=True)  # its own: the init script stays with a page
    page = context.new_page()
    try:
        page.add_init_script("window.__xss = 0;")
        page.goto(f"{server}/ask")
        payload = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'
        page.fill("#question", payload)
        page.click("form.ask-form button[type=submit]")
        page.wait_for_selector("h2#answer-heading")
        assert page.evaluate("window.__xss") == 0
        assert page.locator("q.asked").inner_text() == payload  # shown as text
        assert page.locator(".answer img").count() == 0
    finally:
        context.close()


def test_keyboard_only_question(page: Any, server: str) -> None:
    page.goto(f"{server}/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    for _ in range(40):
        if page.evaluate("document.activeElement.id") == "question":
            break
        page.keyboard.press("Tab")
    else:
        raise AssertionError("the question box cannot be reached with Tab")
    page.keyboard.type("What symptoms does leptomeningeal metastasis cause?")
    page.keyboard.press("Tab")  # the audience has no preset: the visitor picks it
    page.keyboard.press("Space")
    assert page.is_checked("input[name=audience][value=patient]")
    page.keyboard.press("Enter")
    page.wait_for_selector("h2#answer-heading")


def test_patient_page(page: Any, server: str) -> None:
    page.goto(f"{server}/patients")
    check_a11y(page)
    page.click("text=What is leptomeningeal disease?")
    page.wait_for_selector("h1:text('What is leptomeningeal disease?')")
    assert "Reading grade:" in page.locator("main").inner_text()
    assert page.locator("ol.refs > li").count() >= 1
    assert page.locator(".print-button").is_visible()  # shown by the script, which runs here
    shot(page, "patient-page")
    check_a11y(page)


def test_reviewer_approves_a_draft(page: Any, server: str) -> None:
    from leptoguide.knowledge.loader import get_knowledge

    kb = get_knowledge()
    draft = next(
        s for s in sorted(kb.statements.values(), key=lambda s: s.id) if s.status == "draft"
    )
    login(page, server, "reviewer")
    page.goto(f"{server}/review")
    check_a11y(page)
    page.goto(f"{server}/kb/statements/{draft.id}")
    page.check("input[name=to_status][value=in_review]")
    page.fill("#comment", "Locator checked against the source table.")
    page.click("text=Record review")
    page.wait_for_selector("#history")
    # two-person rule: the reviewer who submitted it cannot approve it
    page.check("input[name=to_status][value=approved]")
    page.fill("#comment", "My own check.")
    page.click("text=Record review")
    page.wait_for_selector("text=another reviewer must approve")
    page.click("button:text('Sign out')")
    login(page, server, "reviewer", "reviewer2")
    page.goto(f"{server}/kb/statements/{draft.id}")
    page.check("input[name=to_status][value=approved]")
    page.fill("#clinical_role", "consultant neuro-oncologist")
    page.fill("#comment", "Numbers match the primary source.")
    page.click("text=Record review")
    page.wait_for_selector("text=in review → approved")
    history = page.locator("section.history").inner_text()
    assert "draft → in review" in history and "reviewer1" in history and "reviewer2" in history
    assert "Numbers match the primary source." in history
    shot(page, "statement-history")
    check_a11y(page)


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/kb",
        "/kb?topic=csf",
        "/kb/statements/csf-profile-bacterial",
        "/kb/sources",
        "/kb/conflicts",
        "/kb/rules",
        "/login",
        "/admin/audit",
    ],
)
def test_pages_have_no_serious_a11y_violations(page: Any, server: str, path: str) -> None:
    if path.startswith("/admin"):
        login(page, server, "admin")
    page.goto(server + path)
    check_a11y(page)
    if path == "/":
        shot(page, "home")
    if path == "/kb":
        first = page.locator("ul.results a").first
        first.click()
        page.wait_for_selector("h2#clin-heading")
        check_a11y(page)
        page.locator("ol.refs summary").first.click()  # citations expand to show the source
        page.locator("ol.refs a[href^='/kb/sources/']").first.click()
        page.wait_for_selector("h2#citing-heading")
        check_a11y(page)


# --- Safe inputs and the bottom line first (issue: silent all-clears from input handling) ---

CHICAGO_TZ = "America/Chicago"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}


def _ward_page(browser: Any, server: str, viewport: dict[str, int] | None = None) -> Any:
    """A clinician's page in a browser whose clock is on Chicago time."""
    context = browser.new_context(
        timezone_id=CHICAGO_TZ, bypass_csp=True, viewport=viewport or DESKTOP
    )
    page = context.new_page()
    login(page, server, "clinician")
    page.goto(f"{server}/assess")
    return page


def _chicago_now() -> Any:
    import datetime as dt
    from zoneinfo import ZoneInfo

    return dt.datetime.now(ZoneInfo(CHICAGO_TZ)).replace(second=0, microsecond=0)


def _local(value: Any) -> str:
    return str(value.strftime("%Y-%m-%dT%H:%M"))


def _lp_with_enoxaparin(page: Any, dose: str, frequency: str, hours_ago: int) -> None:
    import datetime as dt

    now = _chicago_now()
    page.fill("#f-lab_time", _local(now - dt.timedelta(hours=1)))
    page.fill("#f-platelets", "150")
    page.fill("#f-inr", "1.0")
    page.select_option("#f-anticoagulants-0-drug", "enoxaparin")
    page.fill("#f-anticoagulants-0-dose", dose)
    if frequency:
        page.select_option("#f-anticoagulants-0-frequency", frequency)
    page.select_option("#f-anticoagulants-0-route", "subcutaneous")
    page.fill("#f-anticoagulants-0-last", _local(now - dt.timedelta(hours=hours_ago)))
    page.check("input[name='orders.lumbar-puncture']")


def _lp_line(page: Any) -> str:
    page.wait_for_selector("h2#verdict-heading")
    line = page.locator(".verdict-line", has_text="LP:")
    assert line.count() == 1, page.locator(".verdicts").inner_text()
    return str(line.inner_text())


def test_ward_clock_time_zone_catches_a_recent_dose(browser: Any, server: str) -> None:
    """Treatment-dose enoxaparin 22 h ago by the Chicago ward clock: within the 24 h hold."""
    page = _ward_page(browser, server)
    try:
        assert page.input_value("#f-tz") == CHICAGO_TZ  # taken from the browser
        assert (
            f"({CHICAGO_TZ} time)"
            in page.locator("label[for='f-anticoagulants-0-last']").inner_text()
        )
        _lp_with_enoxaparin(page, "80", "BID", 22)
        page.click("form.case-form button[type=submit]")
        line = _lp_line(page)
        assert line.startswith("LP: not now") and "enoxaparin 80 mg given 22 h" in line, line
        assert "CST" in line or "CDT" in line  # the hold ends in the ward's local time
        assert f"Times shown in {CHICAGO_TZ}" in page.locator(".verdict").inner_text()
    finally:
        page.context.close()


def test_once_daily_prophylaxis_is_not_held_as_a_treatment_dose(browser: Any, server: str) -> None:
    """40 mg once daily 14 h ago is prophylactic (12 h hold): the frequency field decides."""
    page = _ward_page(browser, server)
    try:
        _lp_with_enoxaparin(page, "40", "QD", 14)
        page.click("form.case-form button[type=submit]")
        line = _lp_line(page)
        assert "enoxaparin" not in line, line
        page.goto(f"{server}/assess")
        _lp_with_enoxaparin(page, "40", "", 14)  # without a frequency: the longer hold
        page.click("form.case-form button[type=submit]")
        assert "enoxaparin 40 mg" in _lp_line(page)
    finally:
        page.context.close()


def test_unit_slips_are_refused_and_every_value_is_kept(browser: Any, server: str) -> None:
    page = _ward_page(browser, server)
    try:
        now = _chicago_now()
        page.fill("#f-weight", "1000")
        page.fill("#f-platelets", "45000")  # typed per µL, unit left at x10^9/L
        page.fill("#f-lab_time", _local(now))
        page.select_option("#f-primary", "breast-cancer")
        page.check("input[name='symptoms.headache']")
        page.select_option("#f-anticoagulants-0-drug", "enoxaparin")
        page.select_option("#f-anticoagulants-0-frequency", "QD")
        page.check("input[name='orders.lumbar-puncture']")
        page.click("form.case-form button[type=submit]")
        page.wait_for_selector(".field-error")
        assert "is not possible" in page.locator("#f-weight-err").inner_text()
        assert "as 45000 /µL it would be 45 ×10⁹/L" in page.locator("#f-platelets-err").inner_text()
        # every value survived the error
        assert page.input_value("#f-weight") == "1000"
        assert page.input_value("#f-platelets") == "45000"
        assert page.input_value("#f-lab_time") == _local(now)
        assert page.input_value("#f-primary") == "breast-cancer"
        assert page.input_value("#f-anticoagulants-0-frequency") == "QD"
        assert page.is_checked("input[name='symptoms.headache']")
        assert page.is_checked("input[name='orders.lumbar-puncture']")
        assert page.input_value("#f-tz") == CHICAGO_TZ
        shot(page, "assess-form-errors")
        check_a11y(page)
        page.fill("#f-weight", "70")
        page.select_option("#f-platelets-unit", "/uL")
        page.click("form.case-form button[type=submit]")
        line = _lp_line(page)
        assert line.startswith("LP: not now") and "Platelets 45 x10^9/L" in line, line
    finally:
        page.context.close()


def test_no_calendar_link_under_a_blocking_alert(page: Any, server: str) -> None:
    login(page, server, "clinician")
    page.goto(f"{server}/assess")
    page.set_input_files(
        "#bundle", str(ROOT / "examples" / "cases" / "it-methotrexate-blocked-flow.yaml")
    )
    page.click("text=Assess the file")
    page.wait_for_selector("h2#verdict-heading")
    assert "Intrathecal chemotherapy: do not give now" in page.locator(".verdicts").inner_text()
    assert page.locator("a[href$='schedule.ics']").count() == 0
    assert page.locator(".schedule-blocked").is_visible()


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone-390x844", "desktop-1366x900"])
def test_bottom_line_is_in_the_first_screen(
    browser: Any, server: str, viewport: dict[str, int]
) -> None:
    page = _ward_page(browser, server, viewport)
    try:
        page.fill("#f-platelets", "45")
        page.fill("#f-lab_time", _local(_chicago_now()))
        page.select_option("#f-primary", "breast-cancer")
        page.select_option("#f-anticoagulants-0-drug", "enoxaparin")
        page.fill("#f-anticoagulants-0-dose", "40")
        page.select_option("#f-anticoagulants-0-frequency", "QD")
        import datetime as dt

        page.fill("#f-anticoagulants-0-last", _local(_chicago_now() - dt.timedelta(hours=10)))
        page.check("input[name='orders.lumbar-puncture']")
        page.click("form.case-form button[type=submit]")
        _lp_line(page)
        box = page.locator(".verdict").bounding_box()
        assert box is not None and box["y"] >= 0
        assert box["y"] + box["height"] <= viewport["height"], (box, viewport)
        # no horizontal overflow on the result page
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
        name = f"assess-verdict-{viewport['width']}x{viewport['height']}"
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}.png"))  # the first screen only
        check_a11y(page)
    finally:
        page.context.close()


def test_api_docs_render_without_internet(browser: Any, server: str) -> None:
    """Every request the /docs page makes stays on this server (no CDN), and Swagger UI renders."""
    context = browser.new_context(bypass_csp=False)
    page = context.new_page()
    outside: list[str] = []
    page.on(
        "request",
        lambda req: (
            outside.append(req.url)
            if not req.url.startswith(server) and not req.url.startswith("data:")
            else None
        ),
    )
    try:
        page.goto(f"{server}/docs")
        page.wait_for_selector(".swagger-ui .info .title", timeout=30000)
        assert "LeptoGuide" in page.locator(".swagger-ui .info .title").inner_text()
        assert not outside, outside
    finally:
        context.close()


PHONE_PAGES = [
    "/",
    "/ask",
    "/assess",
    "/patients",
    "/patients/tests",
    "/patients/ommaya",
    "/kb",
    "/kb/sources",
    "/kb/conflicts",
    "/kb/rules",
    "/review",
    "/admin/audit",
]


def test_phone_layout_fits_and_targets_are_large(browser: Any, server: str) -> None:
    """At 390 px: no horizontal overflow, and every control and navigation link is >= 44 px high."""
    context = browser.new_context(viewport=PHONE, bypass_csp=True)
    page = context.new_page()
    try:
        login(page, server, "admin")
        problems: list[str] = []
        for path in PHONE_PAGES:
            page.goto(server + path)
            width = page.evaluate("document.documentElement.scrollWidth")
            if width > PHONE["width"]:
                problems.append(f"{path}: page is {width} px wide")
            small = page.evaluate(
                """() => Array.from(document.querySelectorAll(
                    'main button, main select, main input[type=text], main input[type=search],'
                    + ' main input[type=password], main input[type=datetime-local], nav a, .actions a'))
                  .filter(e => e.offsetParent !== null)
                  .map(e => [e.tagName + (e.id ? '#' + e.id : '') + ' ' + (e.textContent || '').trim().slice(0, 20),
                             e.getBoundingClientRect().height])
                  .filter(p => p[1] < 44)"""
            )
            problems += [f"{path}: {name} is {h:.0f} px high" for name, h in small[:5]]
        assert not problems, "\n".join(problems)
        shot(page, "phone-admin-audit")
    finally:
        context.close()


def test_patient_pages_fit_three_phone_screens(browser: Any, server: str) -> None:
    """Each patient page (short answer, pictures, folded extras and sources) is at most three
    screens of a 390x844 phone, does not scroll sideways, and passes axe."""
    from leptoguide.web.patient import page_definitions

    context = browser.new_context(viewport=PHONE, bypass_csp=True, device_scale_factor=1)
    page = context.new_page()
    heights: dict[str, int] = {}
    try:
        for p in page_definitions():
            page.goto(f"{server}/patients/{p.id}")
            heights[p.id] = int(page.evaluate("document.documentElement.scrollHeight"))
            assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], p.id
            assert page.locator("main p").count() >= 2
            check_a11y(page)
            shot(page, f"patient-{p.id}-phone")
        SHOTS.mkdir(parents=True, exist_ok=True)
        (SHOTS / "patient-page-heights.json").write_text(json.dumps(heights, indent=1))
        too_long = {
            k: round(v / PHONE["height"], 2) for k, v in heights.items() if v > 3 * PHONE["height"]
        }
        assert not too_long, f"pages longer than three phone screens (in screens): {too_long}"
    finally:
        context.close()


def test_csf_picture_and_lab_trends_on_the_assessment_page(
    page: Any, server: str, tmp_path: Path
) -> None:
    """The CSF pattern picture and the lab trends are drawn, each with a text alternative and a
    caption that says the same in words, and the page stays free of serious axe violations."""
    login(page, server, "clinician")
    page.goto(f"{server}/assess")
    page.set_input_files("#bundle", str(EXAMPLES / "tb-meningitis-csf.json"))
    page.click("text=Assess the file")
    page.wait_for_selector("h2#summary-heading")
    csf = page.locator("#chart-csf-patterns")
    assert csf.is_visible()
    assert csf.locator("img").get_attribute("alt").startswith("CSF values against the typical")
    assert "Closest pattern: tuberculous (TB)." in csf.locator("figcaption").inner_text()
    assert csf.locator("img").evaluate("i => i.naturalWidth > 0")  # the SVG decodes
    shot(page, "assess-csf-patterns")
    check_a11y(page)
    case = tmp_path / "trend.json"
    case.write_text(
        json.dumps(
            {
                "date": "2026-11-20T06:10:00Z",
                "labs": [
                    {"test": "platelets", "value": v, "unit": "10*9/L", "time": t}
                    for v, t in (
                        (120, "2026-11-14T07:00:00Z"),
                        (62, "2026-11-18T07:00:00Z"),
                        (42, "2026-11-20T05:00:00Z"),
                    )
                ]
                + [
                    {"test": "INR", "value": 1.0, "time": "2026-11-15T07:00:00Z"},
                    {"test": "INR", "value": 1.3, "time": "2026-11-19T07:00:00Z"},
                ],
                "orders": [{"type": "lumbar-puncture"}],
            }
        )
    )
    page.goto(f"{server}/assess")
    page.fill("#at-upload", "2026-11-20T06:10")
    page.set_input_files("#bundle", str(case))
    page.click("text=Assess the file")
    page.wait_for_selector("h2#trends-heading")
    for fact in ("platelets", "inr"):
        fig = page.locator(f"#chart-trend-{fact}")
        assert fig.is_visible()
        assert fig.locator("img").get_attribute("alt").startswith("Trend of ")
        assert "site policy" in fig.locator("figcaption").inner_text()
        assert fig.locator("img").evaluate("i => i.naturalWidth > 0")
    shot(page, "assess-lab-trends")
    check_a11y(page)
