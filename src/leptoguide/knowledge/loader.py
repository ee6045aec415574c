"""Load the knowledge base from YAML, validate it, and give it a version.

Loading is strict and complete: every file is checked against the published JSON Schema, then built
into typed records, then cross-checked (references resolve, ids are unique, locators are present,
patient wording meets the reading-grade target). All problems are collected, each naming the file,
the record id and the field, so ``leptoguide kb validate`` can report them in one pass.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from leptoguide import yamlsafe
from leptoguide.errors import KnowledgeError, Problem
from leptoguide.knowledge import snapshot
from leptoguide.knowledge.conditions import (
    ConditionError,
    facts_used,
    parse_condition,
    policies_used,
)
from leptoguide.knowledge.models import (
    RECORD_TYPES,
    ClassificationTable,
    Concept,
    Fact,
    KnowledgeManifest,
    Lexicon,
    PolicyParameter,
    Regimen,
    Rule,
    ScoreTable,
    Source,
    Statement,
    TableCitation,
    Topic,
    UnitGroup,
    Vocabulary,
)
from leptoguide.knowledge.snapshot import ENV_KB_DIR as ENV_KB_DIR
from leptoguide.knowledge.snapshot import default_data_dir as default_data_dir
from leptoguide.knowledge.status import RANK, weakest

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator

READING_GRADE_TARGET = 8.0


@cache
def _schemas() -> dict[str, dict[str, Any]]:
    schemas = resources.files("leptoguide.knowledge").joinpath("schemas")
    return {
        key: json.loads(schemas.joinpath(f"{key}.schema.json").read_text(encoding="utf-8"))
        for key in RECORD_TYPES
    }


@cache
def _validators() -> dict[str, Draft202012Validator]:
    """The reference validators: they word the problems reported for an invalid record."""
    from jsonschema import Draft202012Validator

    return {key: Draft202012Validator(schema) for key, schema in _schemas().items()}


@cache
def _fast_validators() -> dict[str, Any]:
    """Compiled validators that only answer valid / invalid (about 50 times faster)."""
    import jsonschema_rs

    return {
        key: jsonschema_rs.Draft202012Validator(schema, validate_formats=False)
        for key, schema in _schemas().items()
    }


def _schema_errors(key: str, item: dict[str, Any]) -> list[Any]:
    """Schema violations of one record (empty when valid), in the reference validator's words."""
    if _fast_validators()[key].is_valid(item):
        return []
    return sorted(_validators()[key].iter_errors(item), key=lambda e: list(e.path))


@dataclass
class KnowledgeBase:
    """The loaded, validated knowledge base. Read-only after loading."""

    root: Path
    manifest: KnowledgeManifest
    sources: dict[str, Source] = field(default_factory=dict)
    statements: dict[str, Statement] = field(default_factory=dict)
    rules: dict[str, Rule] = field(default_factory=dict)
    parameters: dict[str, PolicyParameter] = field(default_factory=dict)
    regimens: dict[str, Regimen] = field(default_factory=dict)
    concepts: dict[str, Concept] = field(default_factory=dict)
    facts: dict[str, Fact] = field(default_factory=dict)
    units: dict[str, UnitGroup] = field(default_factory=dict)
    lexicons: dict[str, Lexicon] = field(default_factory=dict)
    topics: dict[str, Topic] = field(default_factory=dict)
    vocabulary: dict[str, Vocabulary] = field(default_factory=dict)
    scores: dict[str, ScoreTable] = field(default_factory=dict)
    classifications: dict[str, ClassificationTable] = field(default_factory=dict)
    origin: dict[tuple[str, str], str] = field(default_factory=dict)
    content_hash: str = ""

    @property
    def version(self) -> str:
        """Semantic version plus the first 12 hex digits of the content hash."""
        return f"{self.manifest.version}+sha256.{self.content_hash[:12]}"

    def collection(self, key: str) -> dict[str, Any]:
        return dict(getattr(self, key))

    def find(self, record_id: str) -> tuple[str, Any] | None:
        """Look an id up across record types (statements first)."""
        for key in (
            "statements",
            "sources",
            "rules",
            "parameters",
            "regimens",
            "concepts",
            "facts",
        ):
            record = getattr(self, key).get(record_id)
            if record is not None:
                return key, record
        return None

    def source_flags(self, source_id: str, today: dt.date | None = None) -> list[str]:
        """Currency flags for a source: 'superseded by X', 'review overdue since D'."""
        src = self.sources.get(source_id)
        if src is None:
            return []
        today = today or dt.date.today()
        flags = []
        if src.superseded_by:
            flags.append(f"superseded by {src.superseded_by}")
        if src.review_due and src.review_due < today:
            flags.append(f"review overdue since {src.review_due.isoformat()}")
        return flags

    def stale_sources(self, today: dt.date | None = None) -> dict[str, list[str]]:
        out = {}
        for sid in sorted(self.sources):
            flags = self.source_flags(sid, today)
            if flags:
                out[sid] = flags
        return out

    def status_of(self, ids: Iterable[str], statuses: dict[str, str] | None = None) -> str:
        """Weakest status of these statements; ``statuses`` (a review workflow's) wins over files."""
        found = []
        for sid in ids:
            st = self.statements.get(sid)
            if st is None:
                found.append("draft")
            else:
                found.append((statuses or {}).get(sid, st.status))
        return weakest(found)

    def cited_by_severity(self, severities: Iterable[str] = ("critical", "warning")) -> list[str]:
        """Statements that rules of these severities cite, directly or behind an order suggestion."""
        wanted = set(severities)
        cited: set[str] = set()
        for rule in self.rules.values():
            if rule.severity in wanted and rule.status != "retired":
                cited.update(rule.cites)
                for suggestion in rule.suggestions:
                    cited.update(suggestion.cites)
        return sorted(cited)

    def statements_citing(self, source_id: str) -> list[str]:
        return sorted(
            s.id for s in self.statements.values() if any(c.source == source_id for c in s.sources)
        )


def _read_yaml(path: Path, rel: str, problems: list[Problem]) -> Any:
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(Problem(rel, None, f"cannot read file: {exc}"))
        return None
    try:
        return yamlsafe.load(text, untrusted=False)
    except yaml.YAMLError as exc:
        problems.append(Problem(rel, None, yamlsafe.problem(exc)))
        return None


def _field_of(loc: Iterable[Any]) -> str:
    parts = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts) or "(record)"


def _iter_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())


def load_knowledge(root: Path | None = None, *, check_readability: bool = True) -> KnowledgeBase:
    """Load and validate the whole knowledge base, or raise KnowledgeError with every problem."""
    root = Path(root) if root is not None else default_data_dir()
    problems: list[Problem] = []
    if not root.is_dir():
        raise KnowledgeError([Problem(str(root), None, "knowledge directory does not exist")])

    manifest_path = root / "knowledge.yaml"
    manifest = KnowledgeManifest(version="0.0.0")
    raw_records: dict[str, list[tuple[str, dict[str, Any]]]] = {k: [] for k in RECORD_TYPES}
    hasher = hashlib.sha256()

    for path in _iter_files(root):
        rel = path.relative_to(root).as_posix()
        data = _read_yaml(path, rel, problems)
        if data is None:
            continue
        hasher.update(rel.encode())
        hasher.update(json.dumps(data, sort_keys=True, ensure_ascii=False).encode())
        if path == manifest_path:
            try:
                manifest = KnowledgeManifest.model_validate(data)
            except ValidationError as exc:
                for err in exc.errors():
                    problems.append(Problem(rel, _field_of(err["loc"]), err["msg"]))
            continue
        if not isinstance(data, dict) or len(data) != 1 or next(iter(data)) not in RECORD_TYPES:
            problems.append(
                Problem(
                    rel,
                    None,
                    "a knowledge file must have exactly one top-level key, one of "
                    + ", ".join(RECORD_TYPES),
                )
            )
            continue
        key, items = next(iter(data.items()))
        if not isinstance(items, list):
            problems.append(Problem(rel, key, "expected a list of records"))
            continue
        for index, item in enumerate(items):
            rid = item.get("id") if isinstance(item, dict) else None
            where = f"{rel} record '{rid}'" if rid else f"{rel} record #{index + 1}"
            if not isinstance(item, dict):
                problems.append(Problem(where, None, "a record must be a mapping"))
                continue
            errors = _schema_errors(key, item)
            if errors:
                for err in errors:
                    problems.append(Problem(where, _field_of(err.absolute_path), err.message))
                continue
            raw_records[key].append((rel, item))

    kb = KnowledgeBase(root=root, manifest=manifest, content_hash=hasher.hexdigest())
    for key, items in raw_records.items():
        model = RECORD_TYPES[key]
        target: dict[str, Any] = getattr(kb, key)
        for rel, item in items:
            rid = item["id"]
            where = f"{rel} record '{rid}'"
            try:
                record = model.model_validate(item)
            except ValidationError as exc:
                for err in exc.errors():
                    msg = err["msg"].removeprefix("Value error, ")
                    problems.append(Problem(where, _field_of(err["loc"]), msg))
                continue
            if rid in target:
                first = kb.origin[(key, rid)]
                problems.append(
                    Problem(
                        where, "id", f"duplicate {key[:-1]} id '{rid}' (first defined in {first})"
                    )
                )
                continue
            target[rid] = record
            kb.origin[(key, rid)] = rel

    problems.extend(check_integrity(kb, check_readability=check_readability))
    if problems:
        raise KnowledgeError(problems)
    return kb


def _where(kb: KnowledgeBase, key: str, rid: str) -> str:
    return f"{kb.origin.get((key, rid), '?')} record '{rid}'"


def _status_not_above_cited(
    kb: KnowledgeBase, where: str, status: str, cited: list[str]
) -> list[Problem]:
    """A rule or regimen states the weakest status of the statements it rests on."""
    known = [kb.statements[s].status for s in cited if s in kb.statements]
    floor = weakest(known)
    if status != "retired" and RANK[status] > RANK[floor]:
        below = sorted(s for s in cited if s in kb.statements and kb.statements[s].status == floor)
        return [
            Problem(
                where,
                "status",
                f"status '{status}' is stronger than what it cites: {', '.join(below)} "
                f"{'is' if len(below) == 1 else 'are'} '{floor}'",
            )
        ]
    return []


def check_integrity(kb: KnowledgeBase, *, check_readability: bool = True) -> list[Problem]:
    """Cross-record checks: every reference resolves; locators present; patient reading grade."""
    problems: list[Problem] = []
    for sid, src in kb.sources.items():
        if src.superseded_by and src.superseded_by not in kb.sources:
            problems.append(
                Problem(
                    _where(kb, "sources", sid),
                    "superseded_by",
                    f"unknown source '{src.superseded_by}'",
                )
            )
    for sid, st in kb.statements.items():
        where = _where(kb, "statements", sid)
        for i, cit in enumerate(st.sources):
            if cit.source not in kb.sources:
                problems.append(
                    Problem(where, f"sources[{i}].source", f"cites missing source '{cit.source}'")
                )
            if not cit.locator.strip():
                problems.append(Problem(where, f"sources[{i}].locator", "locator is empty"))
        for other in st.conflicts_with:
            if other not in kb.statements:
                problems.append(Problem(where, "conflicts_with", f"unknown statement '{other}'"))
            elif other == sid:
                problems.append(
                    Problem(where, "conflicts_with", "a statement cannot conflict with itself")
                )
        if st.about_claim is not None and st.about_claim not in kb.sources:
            problems.append(Problem(where, "about_claim", f"unknown source '{st.about_claim}'"))
    for rid, rule in kb.rules.items():
        where = _where(kb, "rules", rid)
        for sid in rule.cites:
            if sid not in kb.statements:
                problems.append(Problem(where, "cites", f"cites missing statement '{sid}'"))
        problems.extend(_status_not_above_cited(kb, where, rule.status, rule.cites))
        try:
            tree = parse_condition(rule.when)
        except ConditionError as exc:  # pragma: no cover - model validation already parsed it
            problems.append(Problem(where, exc.path, exc.reason))
            continue
        for pid in [*policies_used(tree), *rule.policy]:
            if pid not in kb.parameters:
                problems.append(Problem(where, "policy", f"reads unknown policy parameter '{pid}'"))
        if kb.facts:
            for fid in [*facts_used(tree), *rule.inputs]:
                if fid not in kb.facts:
                    problems.append(Problem(where, "when", f"reads unknown fact '{fid}'"))
        for oid in rule.orders:
            if kb.concepts and oid not in kb.concepts:
                problems.append(Problem(where, "orders", f"unknown concept '{oid}'"))
        for rid_ in rule.order_routes:
            if kb.concepts and rid_ not in kb.concepts:
                problems.append(Problem(where, "order_routes", f"unknown concept '{rid_}'"))
        problems.extend(_suggestion_problems(kb, rule, where))
    for pid, param in kb.parameters.items():
        where = _where(kb, "parameters", pid)
        refs = [("statement", param.statement), ("source", param.source)]
        refs += [
            (f"alternatives[{i}].statement", a.statement) for i, a in enumerate(param.alternatives)
        ]
        refs += [(f"alternatives[{i}].source", a.source) for i, a in enumerate(param.alternatives)]
        for fld, ref in refs:
            if ref is None:
                continue
            pool = kb.statements if fld.endswith("statement") else kb.sources
            if ref not in pool:
                problems.append(Problem(where, fld, f"unknown {fld.rsplit('.', 1)[-1]} '{ref}'"))
        if param.statement is None and param.source is None:
            problems.append(
                Problem(where, "statement", "a policy default needs a statement or source")
            )
    for gid, reg in kb.regimens.items():
        where = _where(kb, "regimens", gid)
        for sid in reg.statements:
            if sid not in kb.statements:
                problems.append(Problem(where, "statements", f"cites missing statement '{sid}'"))
        for i, band in enumerate(reg.bands):
            for sid in band.statements:
                if sid not in kb.statements:
                    problems.append(
                        Problem(where, f"bands[{i}].statements", f"cites missing statement '{sid}'")
                    )
        everything = [*reg.statements, *(s for band in reg.bands for s in band.statements)]
        problems.extend(_status_not_above_cited(kb, where, reg.status, everything))
        for drug in reg.drugs:
            if kb.concepts and drug not in kb.concepts:
                problems.append(Problem(where, "drugs", f"unknown concept '{drug}'"))
        pop = reg.population
        for fld, ids in (
            ("population.requires_any", pop.requires_any if pop else []),
            ("population.excludes", pop.excludes if pop else []),
        ):
            for cid in ids:
                if kb.concepts and cid not in kb.concepts:
                    problems.append(Problem(where, fld, f"unknown concept '{cid}'"))
    groups = {reg.group for reg in kb.regimens.values() if reg.group}
    for fid, fact in kb.facts.items():
        if fact.concept and kb.concepts and fact.concept not in kb.concepts:
            problems.append(
                Problem(_where(kb, "facts", fid), "concept", f"unknown concept '{fact.concept}'")
            )
        if fact.derived_by == "regimen-selection" and fact.regimen_group not in groups:
            problems.append(
                Problem(
                    _where(kb, "facts", fid),
                    "regimen_group",
                    f"no regimen has group '{fact.regimen_group}'",
                )
            )
    for cid, concept in kb.concepts.items():
        for i, imp in enumerate(concept.implies):
            target = kb.concepts.get(imp.condition)
            if target is None or target.kind != "condition":
                problems.append(
                    Problem(
                        _where(kb, "concepts", cid),
                        f"implies[{i}].condition",
                        f"'{imp.condition}' is not a condition concept",
                    )
                )
            if not (imp.values or imp.above is not None or imp.contains):
                problems.append(
                    Problem(_where(kb, "concepts", cid), f"implies[{i}]", "names no result")
                )
        for i, text in enumerate(concept.text_excludes):
            if not text.strip():
                problems.append(
                    Problem(_where(kb, "concepts", cid), f"text_excludes[{i}]", "empty text")
                )
    for uid, group in kb.units.items():
        for cid in group.concepts:
            if kb.concepts and cid not in kb.concepts:
                problems.append(
                    Problem(_where(kb, "units", uid), "concepts", f"unknown concept '{cid}'")
                )
    for vid, entry in kb.vocabulary.items():
        where = _where(kb, "vocabulary", vid)
        for sid in entry.statements:
            if sid not in kb.statements:
                problems.append(Problem(where, "statements", f"unknown statement '{sid}'"))
        for rid in entry.rules:
            if rid not in kb.rules:
                problems.append(Problem(where, "rules", f"unknown rule '{rid}'"))
        if entry.role in ("same-as", "clarify") and not entry.means:
            problems.append(Problem(where, "means", f"a '{entry.role}' entry needs 'means'"))
        if entry.role == "scope-concepts" and kb.concepts:
            for cid in entry.terms:
                if cid not in kb.concepts:
                    problems.append(Problem(where, "terms", f"unknown concept '{cid}'"))
    for tid, score in kb.scores.items():
        problems.extend(_score_problems(kb, _where(kb, "scores", tid), score))
    for tid, table in kb.classifications.items():
        problems.extend(_classification_problems(kb, _where(kb, "classifications", tid), table))
    if check_readability and kb.statements:
        from leptoguide.knowledge.readability import reading_grade

        for sid, st in kb.statements.items():
            if st.status == "retired":
                continue
            grade = reading_grade(st.patient)
            if grade > READING_GRADE_TARGET:
                problems.append(
                    Problem(
                        _where(kb, "statements", sid),
                        "patient",
                        f"reading grade {grade:.1f} is above the target {READING_GRADE_TARGET:g}",
                    )
                )
    return problems


@cache
def get_knowledge() -> KnowledgeBase:
    """The process-wide knowledge base from the default directory (loaded once).

    The reading-grade check is left to ``leptoguide kb validate`` (and the test suite): it costs about
    two seconds and the shipped content cannot change under a running process.

    A compiled snapshot (:mod:`leptoguide.knowledge.snapshot`), keyed on the bytes of every
    knowledge file and on the loader's code, is used when it matches; otherwise the files are
    loaded and the snapshot rewritten.
    """
    root = default_data_dir()
    found = snapshot.read(root)
    if found is not None and isinstance(found[1], KnowledgeBase) and found[1].version == found[0]:
        found[1].root = root
        return found[1]
    kb = load_knowledge(root, check_readability=False)
    snapshot.write(root, version=kb.version, value=kb)
    return kb


def _citation_problems(
    kb: KnowledgeBase, where: str, fld: str, cit: TableCitation
) -> list[Problem]:
    """A table row cites a known statement, and that statement cites the source at the locator."""
    st = kb.statements.get(cit.statement)
    if st is None:
        return [Problem(where, f"{fld}.statement", f"unknown statement '{cit.statement}'")]
    if not any(c.source == cit.source and c.locator == cit.locator for c in st.sources):
        return [
            Problem(
                where,
                f"{fld}.locator",
                f"statement '{cit.statement}' does not cite source '{cit.source}' at "
                f"'{cit.locator}'",
            )
        ]
    return []


def _reads_problems(
    kb: KnowledgeBase,
    where: str,
    fld: str,
    when: dict[str, Any] | None,
    texts: list[tuple[str, str]],
    local: frozenset[str] = frozenset(),
) -> list[Problem]:
    """A table row's condition and texts read only known facts, policy values and table names."""
    from leptoguide.knowledge.tables import unknown_names

    problems: list[Problem] = []
    if when is not None:
        tree = parse_condition(when)
        for fid in facts_used(tree):
            if fid not in kb.facts and fid not in local:
                problems.append(Problem(where, f"{fld}.when", f"reads unknown fact '{fid}'"))
        for pid in policies_used(tree):
            if pid not in kb.parameters:
                problems.append(
                    Problem(where, f"{fld}.when", f"reads unknown policy parameter '{pid}'")
                )
    for tfld, text in texts:
        try:
            bad = unknown_names(text, set(kb.facts), set(kb.parameters), local)
        except ValueError as exc:
            problems.append(Problem(where, f"{fld}.{tfld}", f"malformed placeholder: {exc}"))
            continue
        for name in bad:
            problems.append(Problem(where, f"{fld}.{tfld}", f"unknown placeholder '{{{name}}}'"))
    return problems


def _score_problems(kb: KnowledgeBase, where: str, table: ScoreTable) -> list[Problem]:
    problems = _reads_problems(kb, where, "normal", table.normal, [])
    outcomes = set(table.outcomes)
    for i, row in enumerate(table.features):
        fld = f"features[{i}]"
        texts = [("reason", row.reason), *((f"reasons.{k}", v) for k, v in row.reasons.items())]
        problems += _reads_problems(kb, where, fld, row.when, texts)
        for j, cit in enumerate(row.cites):
            problems += _citation_problems(kb, where, f"{fld}.cites[{j}]", cit)
        for key in [*row.points, *row.reasons]:
            if key not in outcomes:
                problems.append(Problem(where, f"{fld}.points", f"unknown outcome '{key}'"))
    return problems


def _classification_problems(
    kb: KnowledgeBase, where: str, table: ClassificationTable
) -> list[Problem]:
    problems: list[Problem] = []
    local = frozenset(lk.id for lk in table.lookups)
    for i, lk in enumerate(table.lookups):
        if lk.fact not in kb.facts:
            problems.append(Problem(where, f"lookups[{i}].fact", f"unknown fact '{lk.fact}'"))
        for j, cit in enumerate(lk.cites):
            problems += _citation_problems(kb, where, f"lookups[{i}].cites[{j}]", cit)
    for i, step in enumerate(table.steps):
        fld = f"steps[{i}]"
        texts = [("reason", step.reason)]
        if step.result is not None and step.result.type is not None:
            texts.append(("result.type", step.result.type))
        problems += _reads_problems(kb, where, fld, step.when, texts, local)
        for j, cit in enumerate(step.cites):
            problems += _citation_problems(kb, where, f"{fld}.cites[{j}]", cit)
    return problems


def _suggestion_problems(kb: KnowledgeBase, rule: Rule, where: str) -> list[Problem]:
    """Suggestions name known concepts, facts and statements; at most one is recommended in an
    ``at-most-one`` group; create and replace say what to create, delete and replace what to remove."""
    problems: list[Problem] = []
    for i, sug in enumerate(rule.suggestions):
        fld = f"suggestions[{i}]"
        for cid in [*sug.targets, *([sug.concept] if sug.concept else [])]:
            if kb.concepts and cid not in kb.concepts:
                problems.append(Problem(where, fld, f"unknown concept '{cid}'"))
        for oid in sug.targets:
            if oid not in rule.orders:
                problems.append(
                    Problem(where, fld, f"target '{oid}' is not one of the rule's orders")
                )
        for fid in sug.when_not_recorded:
            if kb.facts and fid not in kb.facts:
                problems.append(Problem(where, fld, f"reads unknown fact '{fid}'"))
        for sid in sug.cites:
            if sid not in kb.statements:
                problems.append(Problem(where, fld, f"cites missing statement '{sid}'"))
        if sug.action in ("create", "replace") and not sug.concept:
            problems.append(Problem(where, fld, f"a {sug.action} suggestion needs 'concept'"))
        if sug.action in ("delete", "replace") and not sug.targets:
            problems.append(Problem(where, fld, f"a {sug.action} suggestion needs 'targets'"))
    if rule.selection == "at-most-one" and sum(s.recommended for s in rule.suggestions) > 1:
        problems.append(
            Problem(where, "suggestions", "at most one suggestion may be recommended (at-most-one)")
        )
    return problems
