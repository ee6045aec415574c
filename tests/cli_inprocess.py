"""Run the ``leptoguide`` command line inside the test process.

Goes through the same entry point as the installed command (``leptoguide.cli.main``: one line on
stderr and exit 2 for a bad input, exit 1 for a failed check), with its own stdout, stderr, stdin,
argv and environment, and returns what ``subprocess.run(..., text=True)`` would. Start-up is the
only thing it does not exercise; a few end-to-end tests still start the real command for that.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from leptoguide.knowledge.loader import KnowledgeBase

_shipped: tuple[Path, str, KnowledgeBase] | None = None
"""The shipped knowledge a command loaded (its directory, the snapshot key of its files, the
knowledge base): kept for the next command while the key is the same, as a snapshot would give
it. Any other knowledge directory (``LEPTOGUIDE_KB``) is loaded afresh and dropped after."""


@contextmanager
def _environ(env: Mapping[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def run_cli(
    *args: str, env: Mapping[str, str] | None = None, stdin: str | bytes | None = None
) -> subprocess.CompletedProcess[str]:
    """``leptoguide ARGS...`` in process: (returncode, stdout, stderr)."""
    from leptoguide.answer import reset
    from leptoguide.cli import main
    from leptoguide.knowledge.loader import get_knowledge

    out, err = io.StringIO(), io.StringIO()
    raw = stdin.encode("utf-8") if isinstance(stdin, str) else (stdin or b"")
    fake_in = io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8")
    argv, real_in = sys.argv, sys.stdin
    code = 0
    with _environ(env or {}):
        shipped = _shipped_key()
        if not _holds_shipped(shipped):
            get_knowledge.cache_clear()  # the command may point LEPTOGUIDE_KB elsewhere
        sys.argv, sys.stdin = ["leptoguide", *args], fake_in
        try:
            with redirect_stdout(out), redirect_stderr(err):
                main()
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
        finally:
            sys.argv, sys.stdin = argv, real_in
            # what the command loaded ends with it, as with the process: a test's later
            # commands and questions start afresh, and nothing of it stays in memory (but the
            # shipped knowledge, unchanged, which the next command would load the same)
            _keep_shipped(shipped)
            reset()
    return subprocess.CompletedProcess(["leptoguide", *args], code, out.getvalue(), err.getvalue())


def _shipped_key() -> tuple[Path, str] | None:
    """(directory, snapshot key) of the shipped knowledge when a command would load it now."""
    from leptoguide.knowledge.snapshot import ENV_KB_DIR, default_data_dir, fingerprint

    if os.environ.get(ENV_KB_DIR):
        return None
    root = default_data_dir()
    return root, fingerprint(root)


def _holds_shipped(key: tuple[Path, str] | None) -> bool:
    """Whether the process's knowledge (if loaded) is the kept shipped knowledge, and the shipped
    files are still the ones it was loaded from."""
    from leptoguide.knowledge.loader import get_knowledge

    if key is None or _shipped is None or _shipped[:2] != key:
        return False
    return not get_knowledge.cache_info().currsize or get_knowledge() is _shipped[2]


def _keep_shipped(before: tuple[Path, str] | None) -> None:
    """Keep what the command loaded only when it is the shipped knowledge, unchanged since."""
    from leptoguide.knowledge.loader import get_knowledge

    global _shipped
    after = _shipped_key()
    if before is None or after != before or not get_knowledge.cache_info().currsize:
        get_knowledge.cache_clear()
        _shipped = None
        return
    kb = get_knowledge()
    if kb.root != before[0]:
        get_knowledge.cache_clear()
        _shipped = None
        return
    _shipped = (*before, kb)
