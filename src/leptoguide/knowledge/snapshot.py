"""A compiled snapshot of the loaded knowledge base, so a command does not re-read every YAML file.

Loading the knowledge base parses about 40 YAML files, checks every record against its JSON
Schema, builds the typed records and cross-checks references: most of a short command's run time.
The snapshot stores the finished knowledge base (pickled) after a one-line JSON header with the
key and the knowledge version, so ``leptoguide --version`` reads only the header.

The snapshot is used only when its **key** matches, and the key covers everything the result
depends on:

- the bytes and relative path of every file in the knowledge directory (any edit, addition or
  removal gives a new key, so a snapshot is never stale);
- the loader's code: the package version, the snapshot format, the bytes of
  ``leptoguide/knowledge/*.py``, its JSON Schemas and ``leptoguide/errors.py``, and pydantic's
  version file (a different loader or model library never reads an incompatible snapshot).

Anything unexpected (no cache directory, an unreadable, corrupt or foreign file) falls back to the
full load, which writes a fresh snapshot. The snapshot lives in the cache directory:
``$LEPTOGUIDE_CACHE_DIR``, else ``$LEPTOGUIDE_HOME/cache``, else ``$XDG_CACHE_HOME/leptoguide``
(default ``~/.cache/leptoguide``). ``leptoguide kb snapshot`` (run by ``make setup``) builds it
ahead of time; the first command after a change builds it too.

A pickle runs code when read, like the ``.pyc`` files next to the sources, so it is read only from
a directory that belongs to the current user and that nobody else may write (created with mode
0700); otherwise the snapshot is ignored and the files are loaded.
"""

from __future__ import annotations

import gc
import hashlib
import importlib.util
import json
import os
import pickle
import stat
import sys
import tempfile
from collections.abc import Callable, Iterable
from importlib import resources
from pathlib import Path
from typing import Any

from leptoguide import __version__

FORMAT = 1
ENV_CACHE_DIR = "LEPTOGUIDE_CACHE_DIR"
ENV_KB_DIR = "LEPTOGUIDE_KB"
_HERE = Path(__file__).resolve().parent


def default_data_dir() -> Path:
    """The knowledge directory: ``$LEPTOGUIDE_KB`` if set, else the data shipped in the package."""
    override = os.environ.get(ENV_KB_DIR)
    if override:
        return Path(override)
    return Path(str(resources.files("leptoguide").joinpath("data")))


def cache_dir() -> Path:
    """Where snapshots live (see the module docstring); not created here."""
    explicit = os.environ.get(ENV_CACHE_DIR)
    if explicit:
        return Path(explicit).expanduser()
    home = os.environ.get("LEPTOGUIDE_HOME")
    if home:
        return Path(home).expanduser() / "cache"
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "leptoguide"


def code_version() -> str:
    """A hash of everything in the code that decides how knowledge files become records."""
    h = hashlib.sha256(f"{__version__}|{FORMAT}|{sys.version}".encode())
    files = [
        *sorted(_HERE.glob("*.py")),
        *sorted((_HERE / "schemas").glob("*.json")),
        _HERE.parent / "errors.py",
    ]
    spec = importlib.util.find_spec("pydantic")  # located, not imported
    if spec is not None and spec.origin:
        files.append(Path(spec.origin).parent / "version.py")
    for path in files:
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def fingerprint(root: Path) -> str:
    """The snapshot key for the knowledge directory ``root`` under this code."""
    h = hashlib.sha256(code_version().encode())
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        data = path.read_bytes()
        h.update(f"{path.relative_to(root).as_posix()}\0{len(data)}\0".encode())
        h.update(data)
    return h.hexdigest()


def _prefix(root: Path) -> str:
    return "knowledge-" + hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:12] + "-"


def snapshot_path(root: Path, key: str) -> Path:
    return cache_dir() / f"{_prefix(root)}{key[:32]}.pickle"


def _private(directory: Path) -> bool:
    """True when ``directory`` belongs to this user and no one else may write to it."""
    try:
        st = directory.stat()
    except OSError:
        return False
    getuid = getattr(os, "getuid", None)
    if getuid is not None and st.st_uid != getuid():
        return False
    return not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def _read(root: Path) -> tuple[dict[str, Any], bytes] | None:
    try:
        key = fingerprint(root)
        path = snapshot_path(root, key)
        if not _private(path.parent):
            return None
        blob = path.read_bytes()
        head, sep, body = blob.partition(b"\n")
        header = json.loads(head) if sep else None
    except (OSError, ValueError):
        return None
    if not isinstance(header, dict) or header.get("format") != FORMAT or header.get("key") != key:
        return None
    if not isinstance(header.get("version"), str):
        return None
    return header, body


def read(root: Path) -> tuple[str, object] | None:
    """(knowledge version, the stored object) when a snapshot matches ``root`` and the code now."""
    found = _read(root)
    if found is None:
        return None
    header, body = found
    collecting = gc.isenabled()
    gc.disable()  # thousands of new objects, no cycles to find: skip the collector while reading
    try:
        return str(header["version"]), pickle.loads(body)  # trusted: see the module docstring
    except Exception:  # a corrupt or foreign body: load the files instead
        return None
    finally:
        if collecting:
            gc.enable()


def version(root: Path) -> str | None:
    """The knowledge version a matching snapshot records, without unpickling anything."""
    found = _read(root)
    return str(found[0]["version"]) if found else None


def write(root: Path, *, version: str, value: object) -> Path | None:
    """Write the snapshot for ``root`` (atomically); None if the cache directory is not writable.

    Older snapshots of the same knowledge directory are removed.
    """
    try:
        key = fingerprint(root)
        target = snapshot_path(root, key)
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not _private(target.parent):
            return None
        header = json.dumps({"format": FORMAT, "key": key, "version": version})
        body = header.encode() + b"\n" + pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".snapshot-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(body)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        for old in target.parent.glob(_prefix(root) + "*.pickle"):
            if old != target:
                old.unlink(missing_ok=True)
    except (OSError, pickle.PicklingError):
        return None
    return target


def cached_words(name: str, source: Path, build: Callable[[], Iterable[str]]) -> frozenset[str]:
    """A word list derived from the file ``source``, kept in the cache directory.

    The cache file is keyed on the source's path, size and modification time and on ``name``, so
    a changed source (a library upgrade) gives a new key; anything unexpected rebuilds the list.
    """
    try:
        st = source.stat()
        key = hashlib.sha256(f"{name}|{source.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode())
        path = cache_dir() / f"words-{name}-{key.hexdigest()[:24]}.txt"
        if _private(path.parent) and path.is_file():
            return frozenset(path.read_text(encoding="utf-8").split("\n"))
    except OSError:
        return frozenset(build())
    words = frozenset(w for w in build() if w and "\n" not in w)
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if _private(path.parent):
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".words-", suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write("\n".join(sorted(words)))
            os.replace(tmp, path)
    except OSError:
        pass
    return words
