"""Site policy: the values sources disagree on, with defaults from the knowledge base.

A hospital overrides defaults with its own YAML file (``--policy FILE`` or ``$LEPTOGUIDE_POLICY``)::

    policy:
      id: st-example-2026          # names the policy in every output
      title: St Example neuro-oncology LP policy
      values:
        lp-platelet-min: 40

Every output reports the policy id, a hash of the effective values and, for each value, its source
and the alternatives the knowledge base knows.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import zoneinfo
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from leptoguide.errors import InputError, KnowledgeError, Problem
from leptoguide.knowledge.loader import KnowledgeBase
from leptoguide.knowledge.models import PolicyAlternative, PolicyScalar

ENV_POLICY = "LEPTOGUIDE_POLICY"
DEFAULT_POLICY_ID = "leptoguide-default"
_ID = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


@dataclass(frozen=True)
class PolicyValue:
    id: str
    value: PolicyScalar
    unit: str | None
    overridden: bool
    default: PolicyScalar
    statement: str | None
    source: str | None
    alternatives: list[PolicyAlternative]


@dataclass(frozen=True)
class Policy:
    id: str
    title: str
    path: str | None
    values: dict[str, PolicyValue] = field(default_factory=dict)
    time_zone: str | None = None
    """The site's IANA time zone (``Europe/London``): the zone of times written without one.
    None: such a time is read as a range (UTC-12 to UTC+14) and checks take its less safe end."""

    def get(self, name: str) -> PolicyScalar:
        return self.values[name].value

    @cached_property
    def hash(self) -> str:
        """Short SHA-256 of the effective values; computed once (a policy never changes after
        loading, and every assessment and audit event reads it)."""
        values: dict[str, Any] = {k: v.value for k, v in sorted(self.values.items())}
        if self.time_zone is not None:  # a site without one keeps the hash it had
            values[" time_zone"] = self.time_zone
        payload = json.dumps(values, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def describe(self) -> dict[str, Any]:
        """JSON-ready summary for outputs: id, hash, path and the overridden values."""
        return {
            "id": self.id,
            "title": self.title,
            "hash": self.hash,
            "file": self.path,
            "time_zone": self.time_zone,
            "overrides": {k: v.value for k, v in sorted(self.values.items()) if v.overridden},
        }

    def as_table(self) -> list[dict[str, Any]]:
        return [
            {
                "id": v.id,
                "value": v.value,
                "unit": v.unit,
                "overridden": v.overridden,
                "default": v.default,
                "statement": v.statement,
                "source": v.source,
                "alternatives": [a.model_dump(exclude_none=True) for a in v.alternatives],
            }
            for v in sorted(self.values.values(), key=lambda v: v.id)
        ]


def _show(value: Any) -> str:
    text = repr(value) if isinstance(value, str | int | float | bool) or value is None else ""
    return text[:60] if text else f"a {type(value).__name__}"


def _check_type(kind: str, value: Any) -> bool:
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, str)


def load_policy(kb: KnowledgeBase, path: str | Path | None = None) -> Policy:
    """Effective policy: knowledge-base defaults, overridden by ``path`` or ``$LEPTOGUIDE_POLICY``."""
    if path is None:
        path = os.environ.get(ENV_POLICY) or None
    overrides: dict[str, Any] = {}
    policy_id, title = DEFAULT_POLICY_ID, "LeptoGuide defaults"
    time_zone: str | None = None
    where = str(path) if path else None
    if path is not None:
        from leptoguide.intake import load_document

        p = Path(path)
        try:
            raw = p.read_bytes()
        except OSError as exc:
            raise KnowledgeError(
                [Problem(str(p), None, f"cannot read policy file: {exc.strerror}")]
            ) from exc
        try:
            # the intake parser: no aliases, bounded nesting, finite numbers, one-line errors
            data = load_document(raw, name=str(p) if p.suffix == ".json" else f"{p}.yaml")
        except InputError as exc:
            problem = exc.problem
            raise KnowledgeError([Problem(str(p), problem.field, problem.message)]) from None
        problems: list[Problem] = []
        if (
            not isinstance(data, dict)
            or set(data) != {"policy"}
            or not isinstance(data["policy"], dict)
        ):
            raise KnowledgeError(
                [Problem(str(p), None, "a policy file has one top-level key 'policy'")]
            )
        body = data["policy"]
        unknown = set(body) - {"id", "title", "time_zone", "values"}
        if unknown:
            problems.append(
                Problem(
                    str(p),
                    sorted(unknown)[0],
                    "unknown key (allowed: id, title, time_zone, values)",
                )
            )
        zone = body.get("time_zone")
        if zone is not None:
            if site_zone(zone) is None:
                problems.append(
                    Problem(
                        str(p),
                        "policy.time_zone",
                        f"not an IANA time zone name (e.g. Europe/London), got {_show(zone)}",
                    )
                )
            else:
                time_zone = str(zone)
        policy_id = str(body.get("id", ""))
        if not _ID.match(policy_id):
            problems.append(
                Problem(str(p), "policy.id", "required, kebab-case (e.g. st-example-2026)")
            )
        title = str(body.get("title") or policy_id)
        values = body.get("values") or {}
        if not isinstance(values, dict):
            problems.append(
                Problem(str(p), "policy.values", "expected a mapping of parameter: value")
            )
            values = {}
        for name, value in values.items():
            param = kb.parameters.get(name)
            fld = f"policy.values.{name}"
            if param is None:
                problems.append(
                    Problem(str(p), fld, "unknown policy parameter (see `leptoguide kb policy`)")
                )
                continue
            if not _check_type(param.type, value):
                problems.append(
                    Problem(str(p), fld, f"expected a {param.type}, got {_show(value)}")
                )
                continue
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                if param.minimum is not None and value < param.minimum:
                    problems.append(
                        Problem(str(p), fld, f"below the allowed minimum {param.minimum:g}")
                    )
                    continue
                if param.maximum is not None and value > param.maximum:
                    problems.append(
                        Problem(str(p), fld, f"above the allowed maximum {param.maximum:g}")
                    )
                    continue
            overrides[name] = value
        if problems:
            raise KnowledgeError(problems)
    values_out = {}
    for pid, param in kb.parameters.items():
        value = overrides.get(pid, param.default)
        values_out[pid] = PolicyValue(
            id=pid,
            value=value,
            unit=param.unit,
            overridden=pid in overrides,
            default=param.default,
            statement=param.statement,
            source=param.source,
            alternatives=list(param.alternatives),
        )
    return Policy(id=policy_id, title=title, path=where, values=values_out, time_zone=time_zone)


def site_zone(name: Any) -> zoneinfo.ZoneInfo | None:
    """The IANA time zone ``name`` names (from the system's zone data or the tzdata package),
    or None when it names none."""
    if not isinstance(name, str) or not name or len(name) > 64 or name.startswith(("/", ".")):
        return None
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None
