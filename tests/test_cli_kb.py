"""The `leptoguide kb` commands, driven as a user would: exit codes and output.

In process (tests/cli_inprocess.py); ``--version`` and ``kb validate`` also start the real command.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from cli_inprocess import run_cli
from leptoguide.knowledge.loader import get_knowledge


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, env={"COLUMNS": "250", **(env or {})})


def run_process(*args: str) -> subprocess.CompletedProcess[str]:
    """The installed entry point as a real process (start-up included)."""
    return subprocess.run(
        [sys.executable, "-m", "leptoguide", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "250"},
        timeout=120,
    )


def test_version_reports_package_and_knowledge() -> None:
    kb = get_knowledge()
    out = run_process("--version")
    assert out.returncode == 0
    assert f"knowledge {kb.version}" in out.stdout


def test_validate_ok_on_shipped_data() -> None:
    out = run_process("kb", "validate")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("ok: knowledge ")


def test_validate_fails_precisely(tmp_path: Path) -> None:
    (tmp_path / "statements").mkdir()
    (tmp_path / "statements" / "bad.yaml").write_text(
        yaml.safe_dump(
            {
                "statements": [
                    {
                        "id": "bad-statement",
                        "title": "Bad statement",
                        "topics": ["diagnosis"],
                        "clinician": "A clinician sentence for testing.",
                        "patient": "A short test text.",
                        "sources": [{"source": "missing-source", "locator": "p. 2"}],
                        "status": "draft",
                    }
                ]
            }
        )
    )
    out = run("kb", "validate", "--dir", str(tmp_path))
    assert out.returncode == 1
    assert (
        "statements/bad.yaml record 'bad-statement' field 'sources[0].source': "
        "cites missing source 'missing-source'" in out.stderr
    )
    assert "Traceback" not in out.stderr


def test_export_jsonl_has_cited_statements() -> None:
    out = run("kb", "export", "--format", "jsonl")
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(rows) >= 250
    kb = get_knowledge()
    for row in rows:
        assert {"id", "topics", "clinician", "patient", "sources", "status", "evidence"} <= set(row)
        assert row["sources"], row["id"]
        assert all(s["locator"] and s["id"] in kb.sources for s in row["sources"]), row["id"]
        assert row["knowledge_version"] == kb.version


def test_export_rejects_unknown_format() -> None:
    out = run("kb", "export", "--format", "csv")
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        "error: --format: unsupported format 'csv' (supported: jsonl)"
    ]


def test_show_statement_has_version_sources_and_currency() -> None:
    kb = get_knowledge()
    stale = kb.stale_sources()
    citing = [sid for src in stale for sid in kb.statements_citing(src)]
    assert citing, "expected at least one statement citing a stale source (the 2019 CRUK pages)"
    out = run("kb", "show", citing[0])
    assert out.returncode == 0, out.stderr
    flat = " ".join(out.stdout.split())
    assert kb.version in flat
    assert "overdue" in flat or "superseded" in flat


def test_show_unknown_id_is_one_clear_line() -> None:
    out = run("kb", "show", "no-such-thing")
    assert out.returncode == 2
    assert len(out.stderr.strip().splitlines()) == 1
    assert "no-such-thing" in out.stderr


def test_sources_stale_lists_overdue_patient_pages() -> None:
    out = run("kb", "sources", "--stale", env={"COLUMNS": "250"})
    assert out.returncode == 0
    flat = " ".join(out.stdout.split())
    assert "review overdue since 2022-11-2" in flat
    assert "superseded by eano-esmo-2023" in flat


def test_stats_shows_version_and_counts() -> None:
    kb = get_knowledge()
    out = run("kb", "stats")
    assert out.returncode == 0
    assert kb.version in out.stdout
    assert "verified" in out.stdout and "draft" in out.stdout
    assert "approved" not in out.stdout  # shipped content is never approved


def test_policy_override_and_bad_policy(tmp_path: Path) -> None:
    kb = get_knowledge()
    if not kb.parameters:
        pytest.skip("no policy parameters yet")
    param = next(p for p in kb.parameters.values() if p.type == "number" and p.maximum is None)
    good = tmp_path / "site.yaml"
    good.write_text(yaml.safe_dump({"policy": {"id": "st-test", "values": {param.id: 1234}}}))
    out = run("kb", "policy", "--policy", str(good))
    assert out.returncode == 0, out.stderr
    assert "st-test" in out.stdout and "1234" in out.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"policy": {"id": "st-test", "values": {"no-such": 1}}}))
    out = run("kb", "policy", "--policy", str(bad))
    assert out.returncode == 2
    assert "field 'policy.values.no-such': unknown policy parameter" in out.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("kb", "stats"),
        ("kb", "sources", "--stale"),
        ("kb", "policy"),
        ("kb", "show", "lp-inr-threshold-abn"),
        ("assess", "examples/fhir/lp-order-low-platelets-enoxaparin.json", "--format", "text"),
        ("assess", "examples/fhir/lp-order-low-platelets-enoxaparin.json", "--format", "json"),
    ],
)
def test_clinical_outputs_show_knowledge_version(args: tuple[str, ...]) -> None:
    kb = get_knowledge()
    out = run(*args, "--at", "2026-11-21T08:00:00Z") if args[0] == "assess" else run(*args)
    assert out.returncode == 0, out.stderr
    assert kb.version in " ".join(out.stdout.split())
