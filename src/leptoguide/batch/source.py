"""The files of a Bulk Data export, by resource type, and where their broken lines are.

A ``$export`` writes one or more NDJSON files per resource type (``Observation.ndjson``,
``Observation.000.ndjson.gz``, ``2.Observation.ndjson``...). The type is read from the file name
when it names one, else from the first readable line. Parquet files (one row per resource, FHIR
element names as columns) are read too. A line that is not JSON is counted and reported with its
file and line number; it never stops the run.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from leptoguide.errors import InputError

SUFFIXES = (".ndjson", ".ndjson.gz", ".jsonl", ".jsonl.gz", ".parquet")
_TYPE_IN_NAME = re.compile(r"(?:^|[._-])([A-Z][A-Za-z]+)(?=[._-]|$)")


@dataclass
class ExportFiles:
    """Files of one export grouped by resource type."""

    root: Path
    by_type: dict[str, list[Path]] = field(default_factory=dict)
    mixed: list[Path] = field(default_factory=list)
    """Files whose name names no resource type: read for every type."""
    remote: str | None = None
    """An object-storage URL (s3a://, abfss://, gs://, hdfs://): files found by the engine."""
    unreadable: list[str] = field(default_factory=list)

    def for_type(self, rtype: str) -> list[str]:
        if self.remote is not None:
            return [f"{self.remote}/*{rtype}*.ndjson*"]
        return [str(p) for p in self.by_type.get(rtype, []) + self.mixed]


def _open(path: Path) -> Iterator[bytes]:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rb") as handle:
        yield from handle


def _type_in_name(path: Path) -> str | None:
    """``Observation`` in ``Observation.000.ndjson.gz`` or ``2.Observation.ndjson``."""
    name = path.name
    for suffix in SUFFIXES:
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    for m in _TYPE_IN_NAME.finditer(name):
        return m.group(1)
    return None


def _type_of(path: Path) -> str | None:
    """The resource type a file name names, else the one of its first readable line."""
    named = _type_in_name(path)
    if named is not None or path.name.endswith(".parquet"):
        return named
    try:
        for raw in _open(path):
            if not raw.strip():
                continue
            try:
                obj = orjson.loads(raw)
            except orjson.JSONDecodeError:
                continue
            if isinstance(obj, dict) and isinstance(obj.get("resourceType"), str):
                return str(obj["resourceType"])
            return None
    except (OSError, EOFError):
        return None
    return None


def discover(root: str | Path) -> ExportFiles:
    """The export's files by resource type; an empty or missing directory is an input error.
    A URL is left to the engine (Spark globs ``*<Type>*.ndjson*`` under it)."""
    if "://" in str(root) and not str(root).startswith("file://"):
        return ExportFiles(root=Path("."), remote=str(root).rstrip("/"))
    base = Path(str(root).removeprefix("file://"))
    if not base.is_dir():
        raise InputError(str(base), "not a directory (expected a FHIR Bulk Data export)")
    out = ExportFiles(root=base)
    for path in sorted(p for p in base.rglob("*") if p.is_file()):
        if not path.name.endswith(SUFFIXES):
            continue
        named = _type_in_name(path) is not None or path.name.endswith(".parquet")
        if not named and _type_of(path) is not None:
            out.mixed.append(path)
            continue
        rtype = _type_of(path)
        if rtype is None:
            out.unreadable.append(str(path.relative_to(base)))
            continue
        out.by_type.setdefault(rtype, []).append(path)
    if not out.by_type and not out.mixed:
        raise InputError(str(base), "no .ndjson, .ndjson.gz or .parquet files found")
    return out


@dataclass(frozen=True)
class BadLine:
    file: str
    line: int
    message: str


def locate_bad_lines(path: Path, root: Path, limit: int = 1000) -> list[BadLine]:
    """Line numbers (1-based) of the lines of ``path`` that are not JSON objects."""
    out: list[BadLine] = []
    rel = str(path.relative_to(root))
    for n, raw in enumerate(_open(path), start=1):
        if not raw.strip():
            continue
        try:
            obj = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            out.append(BadLine(rel, n, f"not JSON: {str(exc).split(':')[0]}"))
        else:
            if not isinstance(obj, dict):
                out.append(BadLine(rel, n, "not a JSON object"))
        if len(out) >= limit:
            break
    return out
