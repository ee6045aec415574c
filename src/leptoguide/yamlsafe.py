"""The one YAML loader: safe, C-accelerated when available, dates kept as strings.

The knowledge loader, the case-file and bundle reader and site-policy files all parse YAML here.
Dates stay strings so JSON Schema and the readers see what the file says (and report a bad date
themselves). Untrusted text (anything a user or an EHR sends) is first checked on the parser's
events, before anything is built: aliases (``*name``) are refused, so an alias bomb cannot expand,
and nesting deeper than :data:`MAX_DEPTH` is refused. PyYAML is imported on first use only, so a
knowledge snapshot load never imports it.
"""

from __future__ import annotations

from functools import cache
from typing import Any

MAX_DEPTH = 64
"""Deeper nesting of untrusted YAML is refused (no real case file or bundle comes close)."""


@cache
def _loader() -> type:
    import yaml

    base = yaml.CSafeLoader if hasattr(yaml, "CSafeLoader") else yaml.SafeLoader
    resolvers = {
        key: [(tag, rx) for tag, rx in found if tag != "tag:yaml.org,2002:timestamp"]
        for key, found in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    return type(
        "StringDateLoader",
        (base,),
        {"yaml_implicit_resolvers": resolvers, "construct_mapping": _unique_keys},
    )


def _unique_keys(loader: Any, node: Any, deep: bool = False) -> dict[Any, Any]:
    """A mapping whose key is written twice is refused: YAML would keep the last value and
    silently drop the first (a record's field overwritten by the next record's)."""
    import yaml

    seen: dict[Any, Any] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if isinstance(key, (str, int, float, bool)) and key in seen:
            first = seen[key]
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"key '{key}' appears twice in one mapping (first at line {first.line + 1})",
                key_node.start_mark,
            )
        if isinstance(key, (str, int, float, bool)):
            seen[key] = key_node.start_mark
    result: dict[Any, Any] = yaml.constructor.SafeConstructor.construct_mapping(
        loader, node, deep=deep
    )
    return result


def _guard(text: str) -> None:
    """Refuse aliases and deep nesting, reading only the parser's events."""
    import yaml

    try:
        _scan(text)
    except yaml.YAMLError as exc:  # libyaml's own limit (1000 levels) said in our words
        if "nesting depth" not in str(getattr(exc, "problem", "")):
            raise
        mark: Any = getattr(exc, "problem_mark", None)
        raise yaml.composer.ComposerError(
            None, None, f"nested deeper than {MAX_DEPTH} levels", mark
        ) from None


def _scan(text: str) -> None:
    import yaml

    depth = 0
    for event in yaml.parse(text, Loader=_loader()):
        mark: Any = event.start_mark
        if isinstance(event, yaml.AliasEvent):
            raise yaml.composer.ComposerError(
                None, None, "YAML aliases (*name) are not allowed", mark
            )
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                raise yaml.composer.ComposerError(
                    None, None, f"nested deeper than {MAX_DEPTH} levels", mark
                )
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1


def load(text: str, *, untrusted: bool = True) -> Any:
    """Parse YAML text. Raises ``yaml.YAMLError`` (with ``problem_mark``) on malformed or refused
    input; ``untrusted=False`` (the shipped knowledge base) skips the alias and depth check."""
    import yaml

    if untrusted:
        _guard(text)
    return yaml.load(text, Loader=_loader())


def problem(exc: Exception) -> str:
    """A YAML error in one line: 'malformed YAML at line L, column C: reason'."""
    mark = getattr(exc, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    reason = " ".join(str(getattr(exc, "problem", None) or exc).split())
    return f"malformed YAML{where}: {reason}"
