"""Presentation checks on the pages clinicians and patients read: references, notes, values, risk."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from web_helpers import Site

ROOT = Path(__file__).resolve().parents[2]
HER2 = ROOT / "examples" / "fhir" / "her2-breast-confirmed-lm-ommaya.json"


class _Refs(HTMLParser):
    """Collects citation targets, reference rows and their text, and statement group titles."""

    def __init__(self) -> None:
        super().__init__()
        self.cites: list[str] = []
        self.rows: dict[str, str] = {}
        self.group_titles: list[str] = []
        self._row: str | None = None
        self._row_depth = 0
        self._in_group_title = 0
        self._title = ""
        self._depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self._depth += 1
        href = a.get("href") or ""
        if tag == "a" and "cite" in (a.get("class") or "") and href.startswith("#"):
            self.cites.append(href[1:])
        if tag == "li" and (a.get("id") or "").startswith("ref-") and self._row is None:
            self._row = str(a["id"])
            self._row_depth = self._depth
            self.rows[self._row] = ""
        if "ref-group-title" in (a.get("class") or "").split():
            self._in_group_title = self._depth
            self._title = ""

    def handle_endtag(self, tag: str) -> None:
        if self._row is not None and self._depth == self._row_depth:
            self._row = None
        if self._in_group_title and self._depth == self._in_group_title:
            self.group_titles.append(" ".join(self._title.split()))
            self._in_group_title = 0
        self._depth -= 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        self._depth -= 1

    def handle_data(self, data: str) -> None:
        if self._row is not None:
            self.rows[self._row] += data
        if self._in_group_title:
            self._title += data


VOID = re.compile(r"<(br|input|meta|link|img|hr)\b([^>]*?)/?>", re.I)


def refs_of(html: str) -> _Refs:
    parser = _Refs()
    parser.feed(VOID.sub(r"<\1\2/>", html))
    return parser


def _upload(site: Site, users: dict[str, str], raw: bytes) -> str:
    site.login("clinician1", users["clinician"])
    site.get("/assess")
    resp = site.client.post(
        "/assess/upload",
        data={"csrf_token": site.csrf, "at": "2026-11-21T10:00"},
        files={"bundle": ("bundle.json", raw, "application/json")},
        follow_redirects=False,
    )
    assert resp.status_code == 303, resp.text[:800]
    return str(resp.headers["location"])


@pytest.fixture
def her2_page(site: Site, users: dict[str, str]) -> tuple[str, str]:
    url = _upload(site, users, HER2.read_bytes())
    return url, site.get(url).text


def _stored(app: FastAPI, url: str) -> dict[str, Any]:
    web = app.state.leptoguide_web
    event = web.service.audit.get(url.rsplit("/", 1)[1])
    data: dict[str, Any] = json.loads(event.output)
    return data


def _record(app: FastAPI, data: dict[str, Any]) -> str:
    web = app.state.leptoguide_web
    return str(web.record(service="assess", patient_id=None, input_data={}, output=data))


# 1. references name their source and group by statement


def test_assessment_references_name_each_source_once_per_statement(
    app: FastAPI, her2_page: tuple[str, str]
) -> None:
    from leptoguide.knowledge.loader import get_knowledge

    kb = get_knowledge()
    url, html = her2_page
    parsed = refs_of(html)
    assert parsed.cites, "the findings cite nothing"
    assert set(parsed.cites) <= set(parsed.rows), "a [n] marker points at no reference"
    # every statement title appears once, as the heading of its group
    assert parsed.group_titles and len(parsed.group_titles) == len(set(parsed.group_titles))
    # each row names its source (title and year) and locator
    data = _stored(app, url)
    keys = []
    for f in data["findings"]:
        for c in f.get("citations") or []:
            key = (c["statement"], c["source"], c["locator"])
            if key not in keys:
                keys.append(key)
    assert len(parsed.rows) == len(keys)
    for _sid, source_id, locator in keys:
        src = kb.sources[source_id]
        row = next(
            text
            for text in parsed.rows.values()
            if " ".join(src.title.split()) in " ".join(text.split())
            and " ".join(locator.split()) in " ".join(text.split())
        )
        if src.year:
            assert f"({src.year})" in row
    # numbers in a statement group follow each other: text markers and list agree
    numbers = [int(r.split("-")[1]) for r in parsed.rows]
    assert numbers == list(range(1, len(numbers) + 1))


def test_answer_references_group_sources_of_one_statement(
    site: Site, fake_answer: Callable[..., None]
) -> None:
    from leptoguide.knowledge.loader import get_knowledge

    kb = get_knowledge()
    st = next(s for s in sorted(kb.statements.values(), key=lambda s: s.id) if len(s.sources) >= 2)
    cits = [
        {"n": i + 1, "source": c.source, "statement": st.id, "locator": c.locator, "status": "x"}
        for i, c in enumerate(st.sources[:2])
    ]
    fake_answer("Text [1][2].", citations=cits)
    html = site.post("/ask", {"question": "q"}).text
    parsed = refs_of(html)
    assert parsed.group_titles == [st.title]
    assert set(parsed.rows) == {"ref-1", "ref-2"}
    for c, row in zip(cits, (parsed.rows["ref-1"], parsed.rows["ref-2"]), strict=True):
        assert kb.sources[str(c["source"])].title.split(":")[0] in row
        assert str(c["locator"]) in row


def test_patient_page_references_group_by_statement(site: Site) -> None:
    html = site.get("/patients/what-is-lm").text
    parsed = refs_of(html)
    assert parsed.rows and set(parsed.cites) <= set(parsed.rows)
    assert parsed.group_titles
    assert len(parsed.group_titles) == len(set(parsed.group_titles))
    assert len(parsed.group_titles) < len(parsed.rows)


# 2. answer notes: blockquotes render once, as a note, without raw '>'


def test_answer_blockquote_is_one_note_not_raw_text(
    site: Site, fake_answer: Callable[..., None]
) -> None:
    text = (
        "Some text [1].\n\n"
        "> Source eano-esmo-2017 [1]: superseded by eano-esmo-2023.\n"
        "> Statements marked draft <b>have</b> not been reviewed."
    )
    fake_answer(
        text,
        statement=None,
        warnings=["source eano-esmo-2017: superseded by eano-esmo-2023", "other warning"],
    )
    html = site.post("/ask", {"question": "q"}).text
    body = html.split('class="answer-body"', 1)[1].split("</article>", 1)[0]
    assert "&gt; Source" not in body and "> Source" not in body
    assert body.count("superseded by") == 1
    assert 'href="/kb/sources/eano-esmo-2023"' in body  # source ids in notes link to the source
    assert len(re.findall(r'<div class="answer-note"', body)) == 2  # the text's note + the rest
    assert "&lt;b&gt;have&lt;/b&gt;" in body and "<b>have" not in body
    assert 'href="#ref-1"' in body.split('class="answer-note"', 1)[1]
    assert "other warning" in body  # warnings not in the text are still shown


# 3. inputs used: integers as integers, units, readable dates with ISO in a title


def test_inputs_used_are_formatted(her2_page: tuple[str, str]) -> None:
    _url, html = her2_page
    table = html.split('id="inputs-heading"', 1)[1].split("</table>", 1)[0]
    rows = {
        re.sub(r"<[^>]+>", "", m.group(1)).strip(): m.group(2)
        for m in re.finditer(r"<tr><t[dh][^>]*>(.*?)</t[dh]>(.*?)</tr>", table, re.S)
    }
    ecog = next(v for k, v in rows.items() if k.startswith("ECOG"))
    kps = next(v for k, v in rows.items() if k.startswith("Karnofsky"))
    weight = next(v for k, v in rows.items() if k.lower().startswith("body weight"))
    assert re.search(r"<td[^>]*>1</td>", ecog) and "1.0" not in ecog
    assert re.search(r"<td[^>]*>80</td>", kps) and "80.0" not in kps
    assert "61.5 kg" in weight
    assert '<time datetime="2026-11-18T00:00:00Z" title="2026-11-18T00:00:00Z">18 Nov 2026' in kps
    assert "[&#39;breast-cancer&#39;]" not in table and "Breast cancer" in table
    assert ">True<" not in table


# 4. unknown risk and "no alerts" say why


def test_unknown_risk_and_no_alerts_point_to_missing_data(
    app: FastAPI, site: Site, users: dict[str, str], her2_page: tuple[str, str]
) -> None:
    url, _ = her2_page
    data = _stored(app, url)
    # a risk group left unknown for want of recorded items (the engine may give a provisional
    # group for this chart; the page must say why whenever the group is unknown)
    data["risk"] = {
        "group": "unknown",
        "reasons": ["not known: encephalopathy not recorded", "not known: KPS not recorded"],
    }
    assert data["missing"]
    html = site.get(f"/assess/{_record(app, data)}").text
    summary = html.split('id="summary-heading"', 1)[1].split("</section>", 1)[0]
    assert "unknown" in summary and "missing" in summary
    assert 'href="#missing-heading"' in summary
    alerts = html.split('id="alerts-heading"', 1)[1].split("</section>", 1)[0]
    if not [f for f in data["findings"] if f["kind"] == "alert"]:
        assert "No alerts fired on the data available" in alerts
        assert 'href="#missing-heading"' in alerts
    # the other direction: nothing missing, a known risk group
    complete = copy.deepcopy(data)
    complete["missing"] = []
    complete["warnings"] = []
    complete["risk"] = {"group": "good", "reasons": ["good-risk: KPS 80 >= 60"]}
    complete["findings"] = [f for f in complete["findings"] if f["kind"] != "alert"]
    page = site.get(f"/assess/{_record(app, complete)}").text
    summary = page.split('id="summary-heading"', 1)[1].split("</section>", 1)[0]
    alerts = page.split('id="alerts-heading"', 1)[1].split("</section>", 1)[0]
    assert "#missing-heading" not in summary and "#missing-heading" not in alerts
    assert "No alerts." in alerts


# 5. print stylesheet


def test_print_stylesheet_hides_controls_and_expands_references(site: Site) -> None:
    css = site.get("/static/css/print.css").text
    hidden = css.split("{", 1)[0]
    for selector in (".site-header", ".feedback", ".ask-panel", ".skip-link", ".subnav"):
        assert selector in hidden
    assert "::details-content" in css


def test_statement_page_lists_sources_without_a_group_heading(site: Site) -> None:
    from leptoguide.knowledge.loader import get_knowledge

    kb = get_knowledge()
    st = next(s for s in sorted(kb.statements.values(), key=lambda s: s.id) if len(s.sources) >= 2)
    parsed = refs_of(site.get(f"/kb/statements/{st.id}").text)
    assert parsed.group_titles == []  # the page is the statement; no repeated heading
    assert len(parsed.rows) == len({(c.source, c.locator) for c in st.sources})
    for row, c in zip(parsed.rows.values(), st.sources, strict=False):
        assert " ".join(c.locator.split()) in " ".join(row.split())
