"""Bad input gets one clear error: the CLI exits 2 with one stderr line naming the problem; the
readers raise InputError (never another exception) for every mutation of real inputs."""

from __future__ import annotations

import copy
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cli_inprocess import run_cli
from leptoguide.engine import assess
from leptoguide.errors import InputError, LeptoGuideError
from leptoguide.intake import load_document, read_document, read_input
from leptoguide.policy import load_policy
from redteam_util import AT, kb, outputs

ROOT = Path(__file__).parents[2]
EXAMPLES = sorted((ROOT / "examples" / "fhir").glob("*.json")) + sorted(
    (ROOT / "examples" / "cases").glob("*.yaml")
)
BAD_VALUES: list[Any] = [
    None, -1, 1e308, 10**30, True, "x", "", [], {}, [None], {"a": 1},
    "2024-13-45", "9999-12-31T23:59:59Z", "0001-01-01", "\u202e\U0001f600",
]  # fmt: skip


def cli(
    *args: str, stdin: bytes | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    """``leptoguide ARGS`` in process (tests/cli_inprocess.py), output as bytes."""
    out = run_cli(*args, env=env, stdin=stdin)
    return subprocess.CompletedProcess(
        out.args, out.returncode, out.stdout.encode(), out.stderr.encode()
    )


def assert_clean_error(proc: subprocess.CompletedProcess[bytes], *needles: str) -> str:
    err = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode == 2, (proc.returncode, err)
    assert "Traceback" not in err and "internal error" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: "), err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    assert proc.stdout == b"", "no partial output on error"
    return lines[0]


# ---- the whole pipeline never fails with anything but InputError --------------------------------


def _paths(obj: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if path:
        yield path
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, (*path, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _paths(v, (*path, i))


def _set(obj: Any, path: tuple[Any, ...], value: Any) -> None:
    for key in path[:-1]:
        obj = obj[key]
    obj[path[-1]] = value


def _pipeline(doc: Any, name: str) -> None:
    k = kb()
    try:
        case = read_document(doc, name=name, kb=k)
    except InputError as exc:
        assert exc.problem.where and exc.problem.message
        assert "\n" not in str(exc)
        return
    data = assess(case, kb=k, policy=load_policy(k), at=AT).to_dict()
    outputs(data)


DOCS = {p.name: load_document(p.read_bytes(), name=p.name) for p in EXAMPLES}
PATHS = [(name, path) for name, doc in DOCS.items() for path in _paths(doc)]


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(target=st.sampled_from(PATHS), bad=st.sampled_from(BAD_VALUES))
def test_every_field_with_a_wrong_value_is_input_error_or_assessed(
    target: tuple[str, tuple[Any, ...]], bad: Any
) -> None:
    name, path = target
    doc = copy.deepcopy(DOCS[name])
    _set(doc, path, bad)
    _pipeline(doc, name)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(target=st.sampled_from(PATHS), value=json_values)
def test_every_field_with_random_json_is_input_error_or_assessed(
    target: tuple[str, tuple[Any, ...]], value: Any
) -> None:
    name, path = target
    doc = copy.deepcopy(DOCS[name])
    _set(doc, path, value)
    _pipeline(doc, name)


@settings(max_examples=150, deadline=None)
@given(data=st.binary(max_size=300), suffix=st.sampled_from([".json", ".yaml", ""]))
def test_random_bytes_never_escape_as_another_exception(data: bytes, suffix: str) -> None:
    try:
        read_input(data, name="in" + suffix, kb=kb())
    except InputError as exc:
        assert "\n" not in str(exc)


def test_bundle_type_of_the_wrong_type_is_named() -> None:
    with pytest.raises(InputError, match="Bundle type") as info:
        read_document({"resourceType": "Bundle", "type": ["collection"]}, name="b.json", kb=kb())
    assert info.value.problem.field == "type"


# ---- hand-made malformed files ------------------------------------------------------------------

YAML_BOMB = "\n".join(
    ["case_id: bomb", "labs:", '  - &a0 ["x","x","x","x","x","x","x","x","x"]']
    + [f"  - &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
)
MALFORMED: dict[str, tuple[str, bytes, str]] = {
    # name: (file name, content, text the error must contain)
    "empty": ("e.json", b"", "empty"),
    "whitespace": ("w.yaml", b"  \n\t\n", "empty"),
    "bom only": ("b.json", b"\xef\xbb\xbf", "empty"),
    "binary": ("g.yaml", bytes(range(256)) * 4, "UTF-8"),
    "utf16": ("u.json", '{"resourceType": "Bundle"}'.encode("utf-16"), "malformed JSON"),
    "nul": ("n.yaml", b"\x00\x00", "malformed YAML"),
    "truncated json": ("t.json", b'{"resourceType": "Bundle", "entry": [', "malformed JSON"),
    "deep json": ("d.json", b"[" * 5000 + b"]" * 5000, "depth"),
    "deep yaml": ("d.yaml", b"a: " + b"[" * 5000 + b"]" * 5000, "nested deeper"),
    "yaml alias bomb": ("bomb.yaml", YAML_BOMB.encode(), "aliases"),
    "nan in yaml": ("nan.yaml", b"case_id: x\nlabs:\n  - {test: platelets, value: .nan}\n",
                    "labs[0].value"),
    "inf in yaml": ("inf.yaml", b"case_id: x\nlabs:\n  - {test: INR, value: -.inf}\n", "finite"),
    "huge int in yaml": ("big.yaml", b"case_id: x\npatient: {weight_kg: 1" + b"0" * 400 + b"}\n",
                         "patient.weight_kg"),
    "nan in json": ("nan.json", b'{"resourceType": "Observation", "valueQuantity": {"value": NaN}}',
                    "malformed JSON"),
    "huge number json": ("h.json", b'{"resourceType": "Patient", "x": 1e999}', "malformed JSON"),
    "scalar": ("s.yaml", b"42\n", "expected a FHIR Bundle"),
    "wrong resourceType": ("r.json", b'{"resourceType": "Banana"}', "resourceType"),
    "entry not list": ("n.json", b'{"resourceType": "Bundle", "entry": {"a": 1}}', "entry"),
    "case file unknown key": ("c.yaml", b"case_id: x\nlabz: []\n", "labz"),
    "case file wrong type": ("c.yaml", b"case_id: x\nlabs: 5\n", "labs"),
    "case file bad date": ("c.yaml", b"case_id: x\ndate: '2026-02-30'\n", "2026-02-30"),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_files_are_one_clear_input_error(name: str) -> None:
    fname, content, needle = MALFORMED[name]
    with pytest.raises(InputError) as info:
        read_input(content, name=fname, kb=kb())
    text = str(info.value)
    assert "\n" not in text and needle in text, text
    assert text.startswith(fname)


LOCALLY_UNREADABLE: dict[str, tuple[bytes, str, str]] = {
    # name: (content, dropped reference, field): one bad entry is dropped and named, not fatal
    "entry null": (b'{"resourceType": "Bundle", "entry": [null]}', "entry[0]", "entry[0]"),
    "resource wrong type": (b'{"resourceType": "Bundle", "entry": [{"resource": 5}]}', "entry[0]",
                            "resource"),
    "observation value string number": (
        b'{"resourceType": "Observation", "id": "o", "status": "final", "code": {"text": '
        b'"platelets"}, "valueQuantity": {"value": "42"}}',
        "Observation/o",
        "valueQuantity.value",
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(LOCALLY_UNREADABLE))
def test_one_bad_resource_is_dropped_and_named_not_fatal(name: str) -> None:
    content, reference, field = LOCALLY_UNREADABLE[name]
    case = read_input(content, name="n.json", kb=kb())
    assert [(d.reference, d.field) for d in case.dropped] == [(reference, field)]
    assert any(w.where == reference for w in case.warnings)


@pytest.mark.parametrize("name", ["nan in yaml", "yaml alias bomb", "deep yaml", "binary"])
def test_cli_exit_2_one_line_for_malformed_files(name: str, tmp_path: Path) -> None:
    fname, content, needle = MALFORMED[name]
    path = tmp_path / fname
    path.write_bytes(content)
    assert_clean_error(cli("assess", str(path), "--format", "json"), str(path), needle)


def test_cli_reads_stdin_and_names_it() -> None:
    assert_clean_error(cli("assess", "-", stdin=b"{broken"), "<stdin>", "malformed JSON")


def test_cli_missing_file_and_directory(tmp_path: Path) -> None:
    assert_clean_error(cli("assess", str(tmp_path / "nope.json")), "nope.json", "cannot read")
    assert_clean_error(cli("assess", str(tmp_path)), str(tmp_path), "cannot read")


GOOD = ROOT / "examples" / "cases" / "lp-order-low-platelets.yaml"


@pytest.mark.parametrize(
    "at,needle",
    [("yesterday", "--at"), ("2026-13-01", "--at"), ("", "--at"), ("2026-11-20T25:00", "--at")],
)
def test_cli_bad_at(at: str, needle: str) -> None:
    assert_clean_error(cli("assess", str(GOOD), "--at", at), needle)


@pytest.mark.parametrize("at", ["9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z"])
def test_cli_extreme_at_is_assessed_not_crashed(at: str) -> None:
    it = ROOT / "examples" / "cases" / "it-methotrexate-blocked-flow.yaml"
    proc = cli("assess", str(it), "--at", at, "--format", "json")
    assert proc.returncode == 0, proc.stderr
    json.loads(proc.stdout)


def test_schedule_near_year_9999_is_not_a_crash() -> None:
    doc = load_document(
        (ROOT / "examples" / "cases" / "it-methotrexate-blocked-flow.yaml").read_bytes(),
        name="it.yaml",
    )
    doc["orders"][0]["time"] = "9999-12-30"
    doc["findings"]["flow_study"] = "normal"  # a flow block withholds the calendar altogether
    k = kb()
    result = assess(read_document(doc, name="it.yaml", kb=k), kb=k, policy=load_policy(k), at=AT)
    sched = result.schedules[0]
    assert sched.events == [] and sched.start_note is not None and "9999" in sched.start_note


POLICIES: dict[str, tuple[bytes, str]] = {
    "binary": (bytes(range(256)), "UTF-8"),
    "empty": (b"", "empty"),
    "not a mapping": (b"- 1\n", "top-level key 'policy'"),
    "unknown parameter": (b"policy:\n  id: x\n  values: {no-such-thing: 1}\n", "no-such-thing"),
    "nan": (b"policy:\n  id: x\n  values: {lab-max-age-hours: .nan}\n", "lab-max-age-hours"),
    "wrong type": (b"policy:\n  id: x\n  values: {lab-max-age-hours: [1]}\n", "expected a"),
    "bad id": (b"policy:\n  id: Not Kebab\n", "policy.id"),
    "alias bomb": (
        b"policy:\n  id: x\n  values:\n    lab-max-age-hours: &a [1,1,1,1]\n    x: [*a,*a]\n",
        "aliases",
    ),
    "malformed": (b"policy: {id: x\n", "malformed YAML"),
}


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_cli_bad_policy_files(name: str, tmp_path: Path) -> None:
    content, needle = POLICIES[name]
    path = tmp_path / "policy.yaml"
    path.write_bytes(content)
    assert_clean_error(cli("assess", str(GOOD), "--policy", str(path)), str(path), needle)


def test_cli_policy_from_environment_is_checked_too(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_bytes(POLICIES["nan"][0])
    assert_clean_error(cli("assess", str(GOOD), env={"LEPTOGUIDE_POLICY": str(path)}), "finite")


def test_cli_ics_to_a_directory(tmp_path: Path) -> None:
    assert_clean_error(cli("assess", str(GOOD), "--ics", str(tmp_path)), "--ics")


@pytest.mark.parametrize(
    "args",
    [["assess", str(GOOD), "--format", "pdf"], ["assess", str(GOOD), "--audience", "family"],
     ["assess"], ["assess", str(GOOD), "--no-such-option"]],
)  # fmt: skip
def test_cli_bad_options_are_usage_errors_without_traceback(args: list[str]) -> None:
    proc = cli(*args)
    err = proc.stderr.decode()
    assert proc.returncode == 2 and "Traceback" not in err and "internal error" not in err, err


def test_the_error_helpers_can_fail() -> None:
    """The assertion helper rejects a traceback, a second line and a non-2 exit."""
    bad = subprocess.CompletedProcess(args=[], returncode=1, stdout=b"", stderr=b"Traceback\n")
    with pytest.raises(AssertionError):
        assert_clean_error(bad)
    two = subprocess.CompletedProcess(args=[], returncode=2, stdout=b"", stderr=b"error: a\nb\n")
    with pytest.raises(AssertionError):
        assert_clean_error(two)
    assert isinstance(InputError("w", "m"), LeptoGuideError)
