"""``leptoguide ask / ingest / docs / index`` through the real CLI (Typer runner)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from leptoguide.answer import reset
from leptoguide.cli import app

FIXTURE = Path(__file__).parent / "fixtures" / "qa_kb"


@pytest.fixture(autouse=True)
def _env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from leptoguide.knowledge.loader import get_knowledge

    monkeypatch.setenv("LEPTOGUIDE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("LEPTOGUIDE_KB", str(FIXTURE))
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.delenv("LEPTOGUIDE_LLM_URL", raising=False)
    get_knowledge.cache_clear()
    reset()
    yield
    get_knowledge.cache_clear()
    reset()


runner = CliRunner()


def test_ask_json_contract() -> None:
    res = runner.invoke(
        app, ["ask", "What is the adult ceftriaxone dose for meningitis?", "--format", "json"]
    )
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["abstained"] is False
    assert data["audience"] == "clinician"
    assert "2 g IV every 12 hours" in data["answer"]
    assert data["citations"][0]["statement"] == "ceftriaxone-adult"
    assert data["knowledge_version"].startswith("0.0.1+sha256.")


def test_ask_text_and_patient() -> None:
    res = runner.invoke(app, ["ask", "What is an Ommaya?", "--audience", "patient"])
    assert res.exit_code == 0, res.output
    assert "small device under the scalp" in res.output
    assert "reading grade" in res.output and "References" in res.output


def test_ask_abstains_with_exit_zero() -> None:
    res = runner.invoke(app, ["ask", "How do I bake bread?", "-f", "json"])
    assert res.exit_code == 0
    data = json.loads(res.output)
    assert data["abstained"] is True and data["reason"] and data["citations"] == []


def test_conversation_follow_up() -> None:
    first = runner.invoke(
        app, ["ask", "What is the adult ceftriaxone dose for meningitis?", "-c", "t1", "-f", "json"]
    )
    assert first.exit_code == 0
    res = runner.invoke(app, ["ask", "and for a child?", "--conversation", "t1", "-f", "json"])
    data = json.loads(res.output)
    assert data["statements"][0] == "ceftriaxone-child"


@pytest.mark.parametrize(
    "args",
    [
        ["ask", "", "-f", "json"],
        ["ask", "LM?", "--top-k", "0"],
        ["ask", "LM?", "--audience", "vet"],
        ["ask", "LM?", "--conversation", "bad id!"],
        ["docs", "remove", "doc-missing"],
        ["ingest", "/nonexistent/file.txt"],
    ],
)
def test_usage_errors_exit_2_without_traceback(args: list[str]) -> None:
    res = runner.invoke(app, args)
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output


def test_ingest_list_ask_remove(tmp_path: Path) -> None:
    doc = tmp_path / "protocol.md"
    doc.write_text(
        "# Unit protocol\n\n## Ommaya care\n\nFlush the Ommaya reservoir only with preservative-free saline.\n"
    )
    res = runner.invoke(app, ["ingest", str(doc), "--quiet"])
    assert res.exit_code == 0, res.output
    doc_id = res.output.split()[0]
    listed = runner.invoke(app, ["docs", "list", "-f", "json"])
    assert [d["id"] for d in json.loads(listed.output)] == [doc_id]
    ans = json.loads(
        runner.invoke(app, ["ask", "How is the Ommaya reservoir flushed?", "-f", "json"]).output
    )
    assert any(c.get("passage", "").startswith(doc_id) for c in ans["citations"])
    assert runner.invoke(app, ["docs", "remove", doc_id]).exit_code == 0
    assert "no documents" in runner.invoke(app, ["docs", "list"]).output


def test_index_build_lexical() -> None:
    res = runner.invoke(app, ["index", "build"])
    assert res.exit_code == 0, res.output
    assert "index built: 10 statements" in res.output
    assert runner.invoke(app, ["index", "build", "--quiet"]).output == ""
