"""The compiled knowledge snapshot: used while nothing changed, never stale, never trusted blindly."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from leptoguide.cli import app
from leptoguide.knowledge import snapshot
from leptoguide.knowledge.loader import KnowledgeBase, get_knowledge


@pytest.fixture
def kb_copy_in_use(
    kb_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """``kb_copy`` as the knowledge directory in use (LEPTOGUIDE_KB), with an empty cache."""
    root = kb_copy
    monkeypatch.setenv("LEPTOGUIDE_KB", str(root))
    monkeypatch.setenv(snapshot.ENV_CACHE_DIR, str(tmp_path / "cache"))
    get_knowledge.cache_clear()
    yield root
    get_knowledge.cache_clear()


def _fresh() -> KnowledgeBase:
    get_knowledge.cache_clear()
    return get_knowledge()


def test_first_use_writes_a_snapshot_that_the_next_process_reads(kb_copy_in_use: Path) -> None:
    assert snapshot.read(kb_copy_in_use) is None
    loaded = _fresh()
    found = snapshot.read(kb_copy_in_use)
    assert found is not None
    version, stored = found
    assert version == loaded.version
    assert isinstance(stored, KnowledgeBase)
    assert stored.rules == loaded.rules and stored.statements == loaded.statements
    assert stored.origin == loaded.origin and stored.content_hash == loaded.content_hash
    assert snapshot.version(kb_copy_in_use) == loaded.version


def test_any_change_to_a_knowledge_file_gives_a_new_key(kb_copy_in_use: Path) -> None:
    before = _fresh()
    assert snapshot.read(kb_copy_in_use) is not None
    manifest = kb_copy_in_use / "knowledge.yaml"
    manifest.write_text(manifest.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    assert snapshot.read(kb_copy_in_use) is None, "a snapshot outlived an edit"
    after = _fresh()
    assert snapshot.read(kb_copy_in_use) is not None
    # comments do not change the content hash; the snapshot key still moved with the bytes
    assert after.version == before.version
    rule_file = next((kb_copy_in_use / "rules").glob("*.yaml"))
    text = rule_file.read_text(encoding="utf-8")
    rule_file.write_text(text.replace("title: ", "title: Edited ", 1), encoding="utf-8")
    changed = _fresh()
    assert changed.version != before.version
    assert any(r.title.startswith("Edited ") for r in changed.rules.values())
    assert len(list((kb_copy_in_use.parent / "cache").glob("knowledge-*"))) == 1, (
        "old snapshots kept"
    )


def test_added_file_invalidates(kb_copy_in_use: Path) -> None:
    _fresh()
    (kb_copy_in_use / "notes.txt").write_text("not knowledge", encoding="utf-8")
    assert snapshot.read(kb_copy_in_use) is None


def test_the_key_covers_the_loader_code(
    kb_copy_in_use: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fresh()
    assert snapshot.read(kb_copy_in_use) is not None
    monkeypatch.setattr(snapshot, "FORMAT", snapshot.FORMAT + 1)
    assert snapshot.read(kb_copy_in_use) is None
    monkeypatch.setattr(snapshot, "code_version", lambda: "another loader")
    assert snapshot.read(kb_copy_in_use) is None


def test_corrupt_snapshot_falls_back_to_the_files(kb_copy_in_use: Path) -> None:
    loaded = _fresh()
    path = snapshot.snapshot_path(kb_copy_in_use, snapshot.fingerprint(kb_copy_in_use))
    head = path.read_bytes().split(b"\n", 1)[0]
    path.write_bytes(head + b"\nnot a pickle")
    assert snapshot.read(kb_copy_in_use) is None
    assert _fresh().version == loaded.version
    assert snapshot.read(kb_copy_in_use) is not None, "the full load did not rewrite the snapshot"


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX permissions")
def test_a_snapshot_in_a_shared_directory_is_ignored(kb_copy_in_use: Path) -> None:
    _fresh()
    cache = kb_copy_in_use.parent / "cache"
    cache.chmod(0o777)
    try:
        assert snapshot.read(kb_copy_in_use) is None
        assert snapshot.version(kb_copy_in_use) is None
    finally:
        cache.chmod(0o700)


def test_kb_snapshot_command_and_version(kb_copy_in_use: Path) -> None:
    runner = CliRunner()
    built = runner.invoke(app, ["kb", "snapshot"])
    assert built.exit_code == 0, built.output
    assert "snapshot: knowledge " in built.output
    shown = runner.invoke(app, ["--version"])
    assert shown.exit_code == 0
    assert f"knowledge {_fresh().version}" in shown.output


def test_cached_words_follow_their_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(snapshot.ENV_CACHE_DIR, str(tmp_path / "cache"))
    source = tmp_path / "words.txt"
    source.write_text("alpha beta")
    builds: list[int] = []

    def build() -> list[str]:
        builds.append(1)
        return source.read_text().split()

    assert snapshot.cached_words("t", source, build) == {"alpha", "beta"}
    assert snapshot.cached_words("t", source, build) == {"alpha", "beta"}
    assert len(builds) == 1, "the second call did not read the cache"
    source.write_text("alpha beta gamma")
    assert snapshot.cached_words("t", source, build) == {"alpha", "beta", "gamma"}
    assert len(builds) == 2
