"""Input error kinds: unreadable input (malformed) and a readable input with a bad value (invalid)
are different types; faces map the type, not words in the message, to HTTP 400 / 422 and exit 2."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from leptoguide.api.errors import input_error_status
from leptoguide.cli import main
from leptoguide.errors import InputError, MalformedInputError
from leptoguide.intake import read_input

MALFORMED: list[tuple[str, bytes]] = [
    ("bundle.json", b""),
    ("bundle.json", b'{"resourceType": "Bundle", '),
    ("case.yaml", b"patient: [unclosed"),
    ("case.yaml", b"\xff\xfe\x00not utf-8"),
    ("bundle.json", b'["not", "a", "resource"]'),
]

INVALID: list[tuple[str, bytes]] = [
    ("bundle.json", b'{"resourceType": "Bundle", "type": "weird", "entry": []}'),
    ("bundle.json", b'{"resourceType": "Bundle", "type": "collection", "entry": 5}'),
    ("bundle.json", b'{"resourceType": "Flag", "id": "f"}'),
]


@pytest.mark.parametrize("name,raw", MALFORMED)
def test_unreadable_input_is_malformed_and_400(name: str, raw: bytes) -> None:
    with pytest.raises(MalformedInputError) as caught:
        read_input(raw, name=name)
    assert caught.value.kind == "malformed"
    assert input_error_status(caught.value) == 400


@pytest.mark.parametrize("name,raw", INVALID)
def test_readable_input_with_a_bad_value_is_invalid_and_422(name: str, raw: bytes) -> None:
    with pytest.raises(InputError) as caught:
        read_input(raw, name=name)
    assert not isinstance(caught.value, MalformedInputError)
    assert caught.value.kind == "invalid"
    assert input_error_status(caught.value) == 422


def test_the_status_does_not_depend_on_the_words() -> None:
    wordy = InputError("format", "unsupported format 'jsonl', empty, malformed, cannot parse")
    assert input_error_status(wordy) == 422
    terse = MalformedInputError("upload", "unreadable")
    assert input_error_status(terse) == 400


@pytest.mark.parametrize("raw", [MALFORMED[1][1], INVALID[0][1]])
def test_cli_exits_2_with_one_line_for_both_kinds(
    tmp_path: Path, raw: bytes, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bundle.json"
    path.write_bytes(raw)
    monkeypatch.setattr(sys, "argv", ["leptoguide", "assess", str(path), "--format", "json"])
    with pytest.raises(SystemExit) as stopped:
        main()
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and str(path) in err
