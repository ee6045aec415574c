"""``leptoguide users``: the first admin from a password file; errors are one line, exit 2.

In process (tests/cli_inprocess.py), except the password prompt, which a real process answers.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from cli_inprocess import run_cli


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return run_cli("users", *args)


def _process(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "leptoguide", "users", *args],
        capture_output=True,
        text=True,
        input=stdin,
        timeout=120,
    )


def test_users_add_list_set_role(tmp_path: Path) -> None:
    pw = tmp_path / "pw"
    pw.write_text("correct-horse-battery\n")
    out = _run("add", "root", "--role", "admin", "--password-file", str(pw))
    assert out.returncode == 0, out.stderr
    assert "created user root with role admin" in out.stdout
    assert "correct-horse" not in out.stdout + out.stderr
    again = _run("add", "root", "--role", "admin", "--password-file", str(pw))
    assert again.returncode == 2 and "already exists" in again.stderr
    assert "Traceback" not in again.stderr
    listed = _run("list")
    assert listed.stdout.startswith("root\tadmin\tactive")
    assert _run("set-role", "root", "reviewer").returncode == 0
    assert "root\treviewer" in _run("list").stdout
    bad = _run("set-role", "nobody", "viewer")
    assert bad.returncode == 2 and "no user" in bad.stderr


def test_users_add_prompts_without_echo(tmp_path: Path) -> None:
    out = _process(
        "add", "ann", "--role", "reviewer", stdin="secret-password-1\nsecret-password-1\n"
    )
    assert out.returncode == 0, out.stderr
    assert "secret-password-1" not in out.stdout + out.stderr
