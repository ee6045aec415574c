"""Determinism across processes, and citation integrity in assessments, answers and CDS cards."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from leptoguide.api.cards import build_cards
from leptoguide.assessment import as_assessment
from leptoguide.engine import assess
from leptoguide.intake import read_path
from leptoguide.knowledge.loader import KnowledgeBase
from leptoguide.policy import load_policy
from leptoguide.render.text import render_text
from redteam_util import AT, kb

ROOT = Path(__file__).parents[2]
INPUTS = (
    sorted((ROOT / "examples" / "fhir").glob("*.json"))
    + sorted((ROOT / "examples" / "cases").glob("*.yaml"))
    + sorted((ROOT / "tests" / "scenarios" / "bundles").glob("[0-4]*.json"))
)
MARKER = re.compile(r"(?<![\w])\[(\d+)\]")  # not field paths such as entry[0]

DRIVER = """
import sys
from leptoguide.engine import assess
from leptoguide.intake import read_path
from leptoguide.knowledge.loader import get_knowledge
from leptoguide.policy import load_policy
from leptoguide.render.json import render_json
from leptoguide.render.text import render_text
from leptoguide.cli.assess import parse_at
kb = get_knowledge()
at = parse_at(sys.argv[1])
for policy in (None, sys.argv[2]):
    pol = load_policy(kb, policy)
    for path in sys.argv[3:]:
        for audience in ("clinician", "patient"):
            data = assess(read_path(path, kb=kb), kb=kb, policy=pol, at=at,
                          audience=audience)
            sys.stdout.write(render_json(data))
            sys.stdout.write(render_text(data, kb))
"""


def test_same_input_gives_identical_bytes_in_two_processes(tmp_path: Path) -> None:
    policy = tmp_path / "site.yaml"
    policy.write_text("policy:\n  id: rt-site\n  values: {lab-max-age-hours: 24}\n")
    runs = []
    for seed in ("1", "4242"):
        proc = subprocess.run(
            [sys.executable, "-c", DRIVER, "2026-11-21T12:00:00Z", str(policy),
             *map(str, INPUTS)],
            capture_output=True, timeout=120,
            env={**os.environ, "PYTHONHASHSEED": seed, "COLUMNS": "100"},
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr.decode()[-2000:]
        runs.append(proc.stdout)
    assert len(runs[0]) > 10_000
    assert runs[0] == runs[1]


def test_cli_json_is_identical_across_hash_seeds() -> None:
    path = ROOT / "examples" / "fhir" / "lp-order-low-platelets-enoxaparin.json"
    outs = []
    for seed in ("0", "987"):
        proc = subprocess.run(
            [sys.executable, "-m", "leptoguide", "assess", str(path), "--format", "json",
             "--at", "2026-11-20T12:00:00Z"],
            capture_output=True, timeout=60, env={**os.environ, "PYTHONHASHSEED": seed},
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        outs.append(proc.stdout)
    assert outs[0] == outs[1]


# ---- citations -----------------------------------------------------------------------------------


def check_citation(k: KnowledgeBase, c: dict[str, Any], where: str) -> None:
    sid, src = c.get("statement"), c.get("source")
    assert sid in k.statements, f"{where}: unknown statement {sid!r}"
    assert src in k.sources, f"{where}: unknown source {src!r}"
    pairs = {(s.source, s.locator) for s in k.statements[sid].sources}
    assert (src, c.get("locator")) in pairs, f"{where}: {sid} does not cite {src} at that locator"


def _assessments() -> list[tuple[str, dict[str, Any], Any]]:
    k = kb()
    pol = load_policy(k)
    out = []
    for path in INPUTS:
        case = read_path(path, kb=k)
        out.append((path.name, assess(case, kb=k, policy=pol, at=AT).to_dict(), case))
    return out


ASSESSMENTS = _assessments()


@pytest.mark.parametrize("name,data", [(n, d) for n, d, _ in ASSESSMENTS])
def test_assessment_citations_resolve(name: str, data: dict[str, Any]) -> None:
    k = kb()
    for f in data["findings"]:
        assert f["citations"] or f["kind"] == "info", f"{name}: {f['rule']} cites nothing"
        for c in f["citations"]:
            check_citation(k, c, f"{name} {f['rule']}")
    text = render_text(as_assessment(data), k)
    body, _, refs = text.partition("\nReferences\n")
    numbers = {int(m) for m in re.findall(r"^\[(\d+)\]", refs, flags=re.M)}
    used = {int(m) for m in MARKER.findall(body)}
    assert used <= numbers, f"{name}: markers {sorted(used - numbers)} have no reference"
    assert numbers == set(range(1, len(numbers) + 1)), f"{name}: references not 1..n"


@pytest.mark.parametrize("hook", ["patient-view", "order-select", "order-sign"])
def test_card_links_and_sources_resolve(hook: str) -> None:
    k = kb()
    checked = 0
    for name, data, case in ASSESSMENTS:
        cards = build_cards(
            as_assessment(data), case, kb=k, hook=hook, base="http://lg.test", audit_id="a"
        )
        for card in cards:
            detail = card.get("detail", "")
            for sid in re.findall(r"/kb/statements/([a-z0-9-]+)", detail + json.dumps(card)):
                assert sid in k.statements, f"{name} {hook}: card links unknown statement {sid}"
            body, _, refs = detail.partition("**References**")
            used = {int(m) for m in MARKER.findall(body)}
            listed = {int(m) for m in re.findall(r"^\s*(?:\[(\d+)\]|(\d+)\.)", refs, flags=re.M)
                      for m in m if m} if refs else set()  # fmt: skip
            if refs:
                assert used <= listed, f"{name} {hook}: card markers {used - listed} unresolved"
            checked += 1
    assert checked, "no cards were built at all"


QUESTIONS = [
    q
    for q in yaml.safe_load((ROOT / "eval" / "questions.yaml").read_text())["questions"]
    if not q.get("follow_up_of")
][:25]


@pytest.mark.parametrize("q", QUESTIONS, ids=[q["id"] for q in QUESTIONS])
def test_answer_citations_resolve(q: dict[str, Any]) -> None:
    from leptoguide.answer import ask

    k = kb()
    ans = ask(q["question"], audience=q.get("audience", "clinician"), kb=k).to_dict()
    cites = {c["n"]: c for c in ans["citations"]}
    for c in ans["citations"]:
        check_citation(k, c, q["id"])
    used = {int(m) for m in MARKER.findall(ans["answer"] or "")}
    assert used <= set(cites), f"{q['id']}: markers {sorted(used - set(cites))} unresolved"
    if ans["abstained"]:
        assert not ans["citations"]
    else:
        assert used, f"{q['id']}: an answer without any [n] marker"
