"""The optional generative backend: an OpenAI-compatible server on loopback with scripted replies."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from leptoguide.answer import QA, Options
from leptoguide.answer.llm import LLMConfig, check_sentence, load_config
from leptoguide.knowledge.loader import KnowledgeBase

FIXTURE = Path(__file__).parent / "fixtures" / "qa_kb"


class _Server:
    def __init__(self) -> None:
        self.replies: list[str] = []
        self.requests: list[dict[str, object]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append({"path": self.path, "body": body})
                if not outer.replies:
                    self.send_response(500)
                    self.end_headers()
                    return
                content = outer.replies.pop(0)
                data = json.dumps(
                    {
                        "choices": [
                            {"index": 0, "message": {"role": "assistant", "content": content}}
                        ]
                    }
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture()
def server() -> Iterator[_Server]:
    srv = _Server()
    yield srv
    srv.httpd.shutdown()


@pytest.fixture(autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEPTOGUIDE_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("LEPTOGUIDE_LLM_URL", raising=False)
    monkeypatch.delenv("LEPTOGUIDE_LLM_MODEL", raising=False)


def _qa(qa_kb: KnowledgeBase, url: str) -> QA:
    return QA(qa_kb, Options(dense=False, persist=False), llm=LLMConfig(url=url, model="scripted"))


def test_supported_sentences_kept_unsupported_dropped(
    qa_kb: KnowledgeBase, server: _Server
) -> None:
    plain = QA(qa_kb, Options(dense=False, persist=False, use_llm=False))
    composed = plain.ask("What is the adult ceftriaxone dose for meningitis?")
    adult = next(c.n for c in composed.citations if c.statement == "ceftriaxone-adult")
    child = next(c.n for c in composed.citations if c.statement == "ceftriaxone-child")
    other = next(c.n for c in composed.citations if c.n not in (adult, child))
    server.replies.append(
        f"Adults with bacterial meningitis get ceftriaxone 2 g IV every 12 hours, 4 g per day "
        f"[{adult}]. "
        f"Give ceftriaxone 6 g daily for the first week [{adult}]. "
        f"Zanubrutinib should always be added [{other}]. "
        f"Warfarin is also given [{adult}]. "
        "This is a well-known fact. "
        f"Children receive 100 mg/kg per day [{child}]. "
        "See also reference [9]."
    )
    ans = _qa(qa_kb, server.url).ask("What is the adult ceftriaxone dose for meningitis?")
    assert server.requests and server.requests[0]["path"] == "/v1/chat/completions"
    assert ans.llm is not None and ans.llm["used"] is True
    assert "2 g IV every 12 hours" in ans.answer
    assert f"100 mg/kg per day [{child}]" in ans.answer
    reasons = {d["sentence"][:20]: d["reason"] for d in ans.llm["dropped"]}
    assert len(ans.llm["dropped"]) == 5
    assert any("number 6" in r for r in reasons.values())
    assert any("zanubrutinib" in r for r in reasons.values())
    assert any("warfarin" in r.lower() for r in reasons.values())
    assert any("no citation" in r for r in reasons.values())
    assert any("unknown reference" in r for r in reasons.values())
    assert "6 g daily" not in ans.answer and "well-known" not in ans.answer
    # every remaining marker resolves; the draft note survives
    marks = {int(n) for n in __import__("re").findall(r"\[(\d+)\]", ans.answer)}
    assert marks <= {c.n for c in ans.citations}
    assert "draft" in ans.answer


def test_drug_name_not_in_cited_statement_is_dropped(qa_kb: KnowledgeBase) -> None:
    support = {1: "Adults with bacterial meningitis receive ceftriaxone 2 g IV every 12 hours."}
    assert (
        check_sentence("Give ceftriaxone 2 g every 12 hours [1].", support, ["ceftriaxone"]) is None
    )
    why = check_sentence("Give methotrexate 2 g every 12 hours [1].", support, ["methotrexate"])
    assert why is not None and "methotrexate" in why


def test_server_failure_keeps_composed_answer(qa_kb: KnowledgeBase, server: _Server) -> None:
    ans = _qa(qa_kb, server.url).ask("What is the adult ceftriaxone dose for meningitis?")
    assert ans.llm is not None and ans.llm["used"] is False and "error" in ans.llm
    assert "2 g IV every 12 hours (4 g per day)" in ans.answer


def test_all_sentences_unsupported_keeps_composed_answer(
    qa_kb: KnowledgeBase, server: _Server
) -> None:
    server.replies.append("Ceftriaxone 1 g is plenty [1]. Trust me.")
    ans = _qa(qa_kb, server.url).ask("What is the adult ceftriaxone dose for meningitis?")
    assert ans.llm is not None and ans.llm["used"] is False and len(ans.llm["dropped"]) == 2
    assert "2 g IV every 12 hours (4 g per day)" in ans.answer


def test_abstention_never_calls_the_model(qa_kb: KnowledgeBase, server: _Server) -> None:
    ans = _qa(qa_kb, server.url).ask("How do I bake bread?")
    assert ans.abstained and server.requests == [] and ans.llm is None


def test_config_from_env_and_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert load_config() is None
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    (home / "config.toml").write_text('[llm]\nurl = "http://127.0.0.1:9/v1"\nmodel = "m1"\n')
    cfg = load_config()
    assert cfg is not None and cfg.model == "m1"
    assert cfg.endpoint == "http://127.0.0.1:9/v1/chat/completions"
    monkeypatch.setenv("LEPTOGUIDE_LLM_MODEL", "m2")
    cfg = load_config()
    assert cfg is not None and cfg.model == "m2"
