"""`leptoguide kb review-report`: the printable sign-off packet, and clinical-content-only data."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from cli_inprocess import run_cli
from leptoguide.knowledge.loader import default_data_dir, get_knowledge
from leptoguide.render.review_report import packets, render_review_report, users_of


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    """``leptoguide ARGS`` in process (tests/cli_inprocess.py)."""
    return run_cli(*args)


def test_packet_lists_every_statement_with_sources_status_and_rules() -> None:
    kb = get_knowledge()
    html = render_review_report(kb)
    assert sum(len(p.statements) for p in packets(kb)) == len(kb.statements)
    for st in kb.statements.values():
        assert f'id="{st.id}"' in html, st.id
    rule = next(r for r in kb.rules.values() if r.severity == "critical")
    sid = rule.cites[0]
    st = kb.statements[sid]
    block = html.split(f'id="{sid}"', 1)[1].split('class="st"', 1)[0]
    assert rule.title.replace("'", "&#39;") in block and "critical" in block
    for cit in st.sources:
        assert cit.locator.replace('"', "&#34;").replace("'", "&#39;")[:30] in block
    assert ("verified against its source" in block) == (st.status == "verified")
    assert ("rule", rule, f"{rule.title} ({rule.severity} {rule.kind})") in users_of(kb, sid)


def test_review_report_cli_html_pdf_and_errors(tmp_path: Path) -> None:
    out = _run("kb", "review-report", "--topic", "lp-safety", "-o", str(tmp_path / "r.html"))
    assert out.returncode == 0, out.stderr
    html = (tmp_path / "r.html").read_text()
    assert "Topic: lp safety" in html and "Reviewer name and clinical role" in html
    assert "Topic: diagnosis" not in html
    out = _run("kb", "review-report", "--topic", "lp-safety", "-o", str(tmp_path / "r.pdf"))
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "r.pdf").read_bytes().startswith(b"%PDF")
    bad = _run("kb", "review-report", "--topic", "no-such-topic", "-o", str(tmp_path / "x.html"))
    assert bad.returncode == 2 and "unknown topic 'no-such-topic'" in bad.stderr
    bad = _run("kb", "review-report", "-o", str(tmp_path / "x.docx"))
    assert bad.returncode == 2 and ".html or .pdf" in bad.stderr


LOCAL_PATH = re.compile(r"(/work/|/home/|/tmp/|[A-Z]:\\\\)")
PROCESS_HEADER = re.compile(
    r"\b(helper|owner|the brief|clinical brief|pipeline|integrator|verification\.md)\b|HELPER-BRIEF",
    re.I,
)
PIPELINE_LABELS = ("clinical-reference-brief", "primary-source-check")


def test_data_files_carry_no_process_headers_or_local_paths() -> None:
    root = default_data_dir()
    for path in sorted(root.rglob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        rel = path.relative_to(root).as_posix()
        assert not LOCAL_PATH.search(text), f"{rel}: local path"
        assert "brief_ref" not in text, f"{rel}: brief_ref"
        for label in PIPELINE_LABELS:
            assert label not in text, f"{rel}: pipeline label {label}"
        for line in text.splitlines():
            if line.lstrip().startswith("#"):
                assert not PROCESS_HEADER.search(line), f"{rel}: process header: {line}"
    names = {p.name for p in root.rglob("*.yaml")}
    assert not names & {"c2-extra.yaml", "c3-extra.yaml", "seed-facts.yaml", "seeds.yaml"}


def test_kb_export_has_no_local_paths_or_pipeline_reviewers() -> None:
    out = _run("kb", "export", "--format", "jsonl")
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(rows) == len(get_knowledge().statements)
    for row in rows:
        text = json.dumps(row, ensure_ascii=False)
        assert not LOCAL_PATH.search(text), row["id"]
        for label in PIPELINE_LABELS:
            assert label not in text, row["id"]
        assert row["status"] in ("draft", "verified", "retired"), row["id"]
        if row["verification"]:
            assert row["verification"]["checked"], row["id"]
        assert row["kind"] in ("clinical", "claim-check")


PROCESS_WORDS = re.compile(
    r"\bseeds?\b|\bthe brief\b|\bclinical brief\b|\bhelper\b|\bpipeline\b|\bintegrator\b"
    r"|\bS[0-4]-\d+\b|\bSeed S[0-4]\b|verification\.md|\[[VRM]\]",
    re.I,
)


def test_statements_and_sources_speak_of_medicine_not_of_our_process() -> None:
    kb = get_knowledge()
    for st in kb.statements.values():
        texts = [st.title, st.clinician, st.patient, *(c.locator for c in st.sources)]
        for text in texts:
            assert not PROCESS_WORDS.search(text), f"{st.id}: {text[:120]}"
    for src in kb.sources.values():
        for text in (src.title, src.notes or "", src.citation or ""):
            assert not PROCESS_WORDS.search(text), f"{src.id}: {text[:120]}"


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list | tuple):
        return [s for v in value for s in _strings(v)]
    return []


def test_no_knowledge_record_names_our_process_paths_or_internal_files() -> None:
    """Every text field of every record type (statements to facts) is free of process words."""
    from process_words import find_paths_and_files, find_process_words

    kb = get_knowledge()
    found: dict[str, list[str]] = {}
    for key in ("statements", "sources", "rules", "parameters", "regimens", "concepts", "facts"):
        # terminology keeps its clinical vocabulary; only paths and file names are refused there
        find = find_paths_and_files if key in ("concepts", "facts") else find_process_words
        for rid, record in kb.collection(key).items():
            hits = [h for s in _strings(record.model_dump(mode="json")) for h in find(s)]
            if hits:
                found[f"{key}/{rid}"] = hits
    assert not found, found


def test_claim_checks_name_the_public_page_and_stay_out_of_rules() -> None:
    kb = get_knowledge()
    claims = {s.id for s in kb.statements.values() if s.kind == "claim-check"}
    assert "ceftriaxone-dose-claim-ai-answer" in claims
    assert "droracle-ai-answer-kps-70-claim" in claims
    for sid in claims:
        st = kb.statements[sid]
        assert st.about_claim in {c.source for c in st.sources}, sid
        # the checked page is named by its title and date, and the place on it by its section
        page = kb.sources[st.about_claim]
        dated = (
            f"{page.published.day} {page.published:%B} {page.published.year}"
            if page.published
            else str(page.year)
        )
        for cite in st.sources:
            if cite.source != st.about_claim:
                continue
            assert page.title in cite.locator and dated in cite.locator, (sid, cite.locator)
            assert re.search(r"\bsection\b|\bpage header\b", cite.locator, re.I), (
                sid,
                cite.locator,
            )
    for rule in kb.rules.values():
        assert not claims & set(rule.cites), rule.id


def test_every_main_topic_states_its_currency() -> None:
    kb = get_knowledge()
    html = render_review_report(kb)
    for packet in packets(kb):
        topic = kb.topics.get(packet.topic)
        assert topic is not None, f"no currency record for topic {packet.topic}"
        assert topic.last_updated >= topic.literature_reviewed_through
    assert "Literature reviewed through 2026-11-21" in html
    assert "Currency not recorded" not in html
