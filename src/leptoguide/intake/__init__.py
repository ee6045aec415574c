"""Intake: FHIR R4 bundles and LeptoGuide case files -> the normalized Case.

``read_input(data, name=...)`` detects the format; ``read_path(path)`` reads a file or ``-``
(stdin). Errors are InputError naming the file, the resource or record, and the field.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

import orjson
import yaml

from leptoguide import yamlsafe
from leptoguide.case import Case
from leptoguide.errors import InputError, MalformedInputError
from leptoguide.knowledge.loader import KnowledgeBase

__all__ = ["load_document", "read_document", "read_input", "read_path"]


def read_input(
    data: bytes | str,
    *,
    name: str,
    kb: KnowledgeBase | None = None,
    patient_id: str | None = None,
) -> Case:
    """Read a FHIR Bundle/resource or a case file (YAML or JSON) from bytes or text."""
    return read_document(load_document(data, name=name), name=name, kb=kb, patient_id=patient_id)


def read_path(
    path: str | Path, *, kb: KnowledgeBase | None = None, patient_id: str | None = None
) -> Case:
    """Read a file; ``-`` reads standard input."""
    if str(path) == "-":
        return read_input(sys.stdin.buffer.read(), name="<stdin>", kb=kb, patient_id=patient_id)
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise InputError(str(p), f"cannot read file: {exc.strerror or exc}") from None
    return read_input(data, name=str(p), kb=kb, patient_id=patient_id)


def load_document(data: bytes | str, *, name: str) -> Any:
    """Parse JSON (orjson) or YAML, choosing by file suffix and then by the first character."""
    raw: bytes | str
    if isinstance(data, bytes):
        raw = data.removeprefix(b"\xef\xbb\xbf")
        first = raw.lstrip()[:1]
    else:
        raw = data.removeprefix("\ufeff")
        first = raw.lstrip()[:1].encode()
    if not first:
        raise MalformedInputError(name, "the input is empty")
    lower = name.lower()
    if lower.endswith(".ndjson"):
        return _ndjson(raw, name)
    is_yaml = lower.endswith((".yaml", ".yml"))
    if lower.endswith(".json") or (not is_yaml and first in (b"{", b"[")):
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise MalformedInputError(
                name, f"malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
            ) from None
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedInputError(name, f"not UTF-8 text (byte {exc.start})") from None
    else:
        text = raw
    try:
        doc = yamlsafe.load(text)
    except yaml.YAMLError as exc:
        raise MalformedInputError(name, yamlsafe.problem(exc)) from None
    _check_numbers(doc, name)
    return doc


def _ndjson(raw: bytes | str, name: str) -> list[Any]:
    """FHIR Bulk Data NDJSON: one resource per line, read as a list of resources."""
    lines = (
        raw.splitlines() if isinstance(raw, str) else raw.decode("utf-8", "replace").splitlines()
    )
    out: list[Any] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            out.append(orjson.loads(line))
        except orjson.JSONDecodeError as exc:
            raise MalformedInputError(
                name, f"malformed JSON on line {number}, column {exc.colno}: {exc.msg}"
            ) from None
    return out


def _check_numbers(doc: Any, name: str) -> None:
    """Refuse NaN, infinities and integers too large for a float (JSON cannot hold them either)."""
    stack: list[tuple[Any, str]] = [(doc, "")]
    while stack:
        value, path = stack.pop()
        if isinstance(value, dict):
            for k, v in value.items():
                key = str(k) if str(k).isprintable() else repr(str(k))
                stack.append((v, f"{path}.{key}" if path else key))
        elif isinstance(value, list):
            stack.extend((v, f"{path}[{i}]") for i, v in enumerate(value))
        elif isinstance(value, int | float) and not isinstance(value, bool):
            try:
                finite = math.isfinite(value)
            except OverflowError:
                finite = False
            if not finite:
                raise InputError(name, "not a finite number (NaN, infinity or too large)", path)


def read_document(
    doc: Any,
    *,
    name: str,
    kb: KnowledgeBase | None = None,
    patient_id: str | None = None,
    numbers_checked: bool = False,
) -> Case:
    """Read an already parsed document: FHIR if it has a resourceType (or is a list), else case file.

    FHIR: one patient per case (``patient_id`` names it, e.g. a CDS Hooks ``patientId``); resources
    about another patient, and resources that cannot be read, are left out and listed in
    ``Case.dropped`` (each with reference, field and reason) as well as in the warnings.
    ``numbers_checked``: the caller parsed ``doc`` with orjson, which refuses NaN, infinities and
    integers beyond 64 bits, so the walk over every number is skipped."""
    if not numbers_checked:  # parsed elsewhere too: check here unless the parser already refused
        _check_numbers(doc, name)  # NaN, infinities and integers beyond a float
    if kb is None:
        from leptoguide.knowledge.loader import get_knowledge

        kb = get_knowledge()
    if isinstance(doc, list) or (isinstance(doc, dict) and "resourceType" in doc):
        from leptoguide.intake.fhir import read_fhir

        return read_fhir(doc, name=name, kb=kb, patient_id=patient_id)
    if isinstance(doc, dict):
        from leptoguide.intake.casefile import read_casefile

        return read_casefile(doc, name=name, kb=kb)
    raise InputError(name, "expected a FHIR Bundle or resource, or a case file (a mapping)")
