"""``leptoguide batch``: audits and cohorts over a Bulk Data export, written to OUT_DIR."""

from __future__ import annotations

import csv
import datetime as dt
import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

from leptoguide.batch import lp, terminology
from leptoguide.batch.engine import Engine
from leptoguide.batch.source import BadLine, ExportFiles, discover, locate_bad_lines
from leptoguide.batch.sqlrules import NotCompilable, compile_condition
from leptoguide.batch.viewdef import load_views, view_sql
from leptoguide.errors import InputError
from leptoguide.intake.fhir.medication import _PERIOD_DAYS as PERIOD_DAYS
from leptoguide.knowledge.conditions import facts_used, parse_condition, policies_used
from leptoguide.knowledge.loader import KnowledgeBase
from leptoguide.policy import Policy

FINDING_COLUMNS = [
    "patient",
    "rule",
    "severity",
    "title",
    "event_reference",
    "event_time",
    "location",
    "values",
    "policy_values",
    "policy_id",
    "knowledge_version",
]
COHORT_COLUMNS = ["patient", "cohort", "certainty", "type", "primary", "driver", "references"]
SQL_FACTS = ("lp-planned", "platelets", "inr", "lp-antithrombotic-status")
LAB_FACTS = ("platelets", "inr")


def definitions() -> dict[str, Any]:
    text = resources.files("leptoguide.batch").joinpath("audits.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


@dataclass
class Options:
    export_dir: str | Path
    out_dir: Path
    audits: list[str] = field(default_factory=list)
    cohorts: list[str] = field(default_factory=list)
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    at: dt.datetime | None = None
    charts: int = 200


@dataclass
class Result:
    findings: list[dict[str, Any]]
    cohorts: list[dict[str, Any]]
    summary: dict[str, Any]


Step = Callable[[str], None]


def _iso(t: Any) -> str | None:
    if t is None:
        return None
    if isinstance(t, dt.datetime):
        aware: dt.datetime = t if t.tzinfo else t.replace(tzinfo=dt.UTC)
        return aware.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    return str(t)


def _num(v: Any) -> Any:
    return round(v, 4) if isinstance(v, float) else v


def resolve_names(
    kb: KnowledgeBase, audits: list[str], cohorts: list[str]
) -> tuple[list[str], list[str]]:
    defs = definitions()
    if not audits and not cohorts:
        audits = list(defs["audits"])
    for a in audits:
        if a not in defs["audits"]:
            raise InputError(
                "options", f"unknown audit '{a}' (known: {', '.join(defs['audits'])})", "audit"
            )
        for rid in defs["audits"][a]["rules"]:
            if rid not in kb.rules:
                raise InputError(
                    "options",
                    f"audit '{a}' names rule '{rid}', which the knowledge base lacks",
                    "audit",
                )
    for c in cohorts:
        if c not in defs["cohorts"]:
            raise InputError(
                "options", f"unknown cohort '{c}' (known: {', '.join(defs['cohorts'])})", "cohort"
            )
    return audits, cohorts


class Runner:
    def __init__(
        self, engine: Engine, kb: KnowledgeBase, policy: Policy, opts: Options, step: Step
    ) -> None:
        self.engine, self.kb, self.policy, self.opts, self.step = engine, kb, policy, opts, step
        self.files: ExportFiles = discover(opts.export_dir)
        self.views = load_views()
        self.rows_read: dict[str, int] = {}
        self.other_lines = 0
        self.bad: list[BadLine] = []
        self.bad_count = 0
        self.timings: dict[str, float] = {}

    @contextmanager
    def timed(self, name: str) -> Iterator[None]:
        self.step(name)
        t0 = time.perf_counter()
        yield
        self.timings[name] = round(time.perf_counter() - t0, 3)

    # ------------------------------------------------------------------ load

    def load(self, needed: set[str]) -> None:
        """Register every type's files; materialize the views of the ``needed`` types (the
        others are only counted)."""
        e = self.engine
        parse_once = e.name == "duckdb"
        for rtype, view in self.views.items():
            files = self.files.for_type(rtype)
            if files:
                e.source(f"src_{rtype}", files)
            else:
                e.table(f"src_{rtype}", [("json", "VARCHAR"), ("filename", "VARCHAR")], [])
            if rtype in needed:
                e.materialize(f"all_{rtype}", view_sql(view, f"src_{rtype}", parse_once=parse_once))
            else:
                e.view(f"all_{rtype}", view_sql(replace(view, columns=()), f"src_{rtype}"))
            e.view(
                f"v_{rtype}", f"SELECT * FROM all_{rtype} WHERE NOT x_bad AND x_type = '{rtype}'"
            )
        self.count_lines()

    def count_lines(self) -> None:
        e = self.engine
        bad_files: list[str] = []
        mixed = {str(p) for p in self.files.mixed}
        seen_mixed: set[str] = set()
        for rtype in self.views:
            for fname, good, bad, other in e.rows(
                f"SELECT x_file, count(*) FILTER (WHERE NOT x_bad AND x_type = '{rtype}'), "
                f"count(*) FILTER (WHERE x_bad), "
                f"count(*) FILTER (WHERE NOT x_bad AND x_type IS DISTINCT FROM '{rtype}') "
                f"FROM all_{rtype} GROUP BY x_file"
            ):
                self.rows_read[rtype] = self.rows_read.get(rtype, 0) + int(good)
                if fname is None:
                    continue
                name = str(Path(str(fname).removeprefix("file:")))
                if name in mixed:
                    if name in seen_mixed:
                        continue
                    seen_mixed.add(name)
                    other = 0
                self.other_lines += int(other)
                self.bad_count += int(bad)
                if bad:
                    bad_files.append(str(fname))
        for fname in sorted(set(bad_files)):
            path = Path(fname.removeprefix("file:"))
            if path.exists():
                self.bad.extend(locate_bad_lines(path, self.files.root))

    def maps(self, needed: set[str]) -> None:
        e, kb = self.engine, self.kb
        for rtype in ("Observation", "Procedure", "Condition"):
            codes = (
                [
                    r[0]
                    for r in e.rows(f"SELECT DISTINCT code FROM v_{rtype} WHERE code IS NOT NULL")
                ]
                if rtype in needed
                else []
            )
            e.table(
                f"map_{rtype}",
                [("code", "VARCHAR"), ("concept", "VARCHAR")],
                terminology.code_map(kb, codes, rtype),
            )
        has_meds = "MedicationAdministration" in needed

        def distinct(sql: str) -> list[Any]:
            return [r[0] for r in e.rows(sql)] if has_meds else []

        meds = distinct(
            "SELECT DISTINCT medication FROM (SELECT medication FROM v_MedicationAdministration "
            "UNION ALL SELECT medication FROM v_MedicationRequest "
            "UNION ALL SELECT medication FROM v_MedicationStatement "
            "UNION ALL SELECT code FROM v_Medication) m WHERE medication IS NOT NULL"
        )
        rows = terminology.code_map(kb, meds, "medication")
        per_code = Counter(code for code, _ in rows)
        e.table(
            "map_medication",
            [("code", "VARCHAR"), ("concept", "VARCHAR"), ("n", "DOUBLE")],
            [(c, cid, float(per_code[c])) for c, cid in rows],
        )
        timing = distinct(
            "SELECT DISTINCT c FROM (SELECT timing_code AS c FROM v_MedicationRequest "
            "UNION ALL SELECT timing_text AS c FROM v_MedicationRequest "
            "UNION ALL SELECT timing_code AS c FROM v_MedicationStatement "
            "UNION ALL SELECT timing_text AS c FROM v_MedicationStatement) t WHERE c IS NOT NULL"
        )
        e.table(
            "timing_codes",
            [("code", "VARCHAR"), ("per_day", "DOUBLE")],
            terminology.timing_map(timing),
        )
        e.table(
            "period_days", [("unit", "VARCHAR"), ("days", "DOUBLE")], sorted(PERIOD_DAYS.items())
        )
        classes = lp.hold_classes(kb)
        e.table("hold_class", [("drug", "VARCHAR"), ("base", "VARCHAR")], sorted(classes.items()))
        hold_rows = []
        for name in sorted(self.policy.values):
            if name.startswith("lp-hold-hours-"):
                hold_rows.append(
                    (name.removeprefix("lp-hold-hours-"), float(self.policy.get(name)))
                )
        e.table("hold_hours", [("cls", "VARCHAR"), ("hours", "DOUBLE")], hold_rows)

    # ------------------------------------------------------------------ LP safety (SQL)

    def window(self) -> tuple[str | None, str | None]:
        fmt = "%Y-%m-%d %H:%M:%S+00"
        lo = self.opts.start.astimezone(dt.UTC).strftime(fmt) if self.opts.start else None
        hi = self.opts.end.astimezone(dt.UTC).strftime(fmt) if self.opts.end else None
        return lo, hi

    def lp_facts(self) -> dict[str, Any]:
        e = self.engine
        e.materialize("lp_events", lp.events_sql(lp.LP_CONCEPT, self.window()))
        e.materialize(
            "labs_raw",
            lp.labs_sql(list(LAB_FACTS))
            .split("LEFT JOIN units")[0]
            .replace(
                "SELECT q.*, CASE WHEN q.comparator IS NULL AND q.raw_value IS NOT NULL AND u.factor IS NOT NULL\n    THEN round(q.raw_value * u.factor, 9) END AS value\nFROM (",
                "SELECT * FROM (",
                1,
            ),
        )
        pairs = e.rows("SELECT DISTINCT concept, unit FROM labs_raw")
        e.table(
            "units",
            [("concept", "VARCHAR"), ("unit", "VARCHAR"), ("factor", "DOUBLE")],
            terminology.unit_map(self.kb, [(c, u) for c, u in pairs]),
        )
        e.materialize(
            "labs",
            "SELECT q.*, CASE WHEN q.comparator IS NULL AND q.raw_value IS NOT NULL AND u.factor IS NOT NULL "
            "THEN round(q.raw_value * u.factor, 9) END AS value FROM labs_raw q LEFT JOIN units u ON "
            "u.concept = q.concept AND u.unit = CASE WHEN q.unit IS NULL OR trim(q.unit) = '' THEN '' ELSE q.unit END",
        )
        e.materialize(
            "ev_labs", lp.latest_lab_sql(lp.policy_value(self.policy, "lab-max-age-hours"))
        )
        ceilings = lp.dose_ceilings(self.policy, lp.hold_classes(self.kb).values())
        e.materialize("med_classed", lp.med_classed_sql(ceilings))
        e.materialize("ev_antithrombotic", lp.ANTITHROMBOTIC_SQL)
        e.materialize("lp_facts", lp.facts_sql(list(LAB_FACTS)))
        ((dated, undated),) = e.rows(
            "SELECT count(*) FILTER (WHERE t IS NOT NULL), count(*) FILTER (WHERE t IS NULL) FROM lp_events"
        )
        by_month = e.rows(
            "SELECT strftime(t, '%Y-%m') AS m, count(*) FROM lp_events WHERE t IS NOT NULL GROUP BY m"
        )
        by_location = e.rows(
            "SELECT location, count(*) FROM lp_events WHERE t IS NOT NULL GROUP BY location"
        )
        return {
            "events": int(dated),
            "undated_events_skipped": int(undated),
            "events_by_month": dict(sorted((str(m), int(n)) for m, n in by_month)),
            "events_by_location": dict(sorted((str(loc), int(n)) for loc, n in by_location)),
        }

    def sql_findings(self, rule_id: str) -> list[dict[str, Any]]:
        rule = self.kb.rules[rule_id]
        tree = parse_condition(rule.when, f"rule {rule_id}")
        predicate = compile_condition(tree, SQL_FACTS, self.policy)
        used = [f for f in facts_used(tree) if f != "lp-planned"]
        cols: list[str] = []
        for f in used:
            c = f.replace("-", "_")
            if f in LAB_FACTS:
                cols += [f"f_{c}", f"s_{c}", f"r_{c}", f"t_{c}", f"raw_{c}", f"unit_{c}"]
            else:
                cols += [f"f_{c}", f"d_{c}", f"r_{c}"]
        rows = self.engine.rows(
            f"SELECT patient, event_ref, t, location, {', '.join(cols)} FROM lp_facts WHERE ({predicate}) IS TRUE"
        )
        pids = list(dict.fromkeys([*policies_used(tree), *rule.policy]))
        if any(f in LAB_FACTS for f in used):
            pids.append("lab-max-age-hours")
        if "lp-antithrombotic-status" in used:
            pids += sorted(p for p in self.policy.values if p.startswith("lp-hold-hours-"))
            pids += sorted(p for p in self.policy.values if p.endswith(lp.CEILING_SUFFIX))
        policy_values = {
            p: self.policy.get(p) for p in dict.fromkeys(pids) if p in self.policy.values
        }
        out = []
        for row in rows:
            patient, ref, t, location, *rest = row
            values: dict[str, Any] = {}
            i = 0
            for f in used:
                if f in LAB_FACTS:
                    v, s, r, lt, raw, unit = rest[i : i + 6]
                    i += 6
                    values[f] = {
                        "value": _num(v),
                        "unit": self.kb.facts[f].unit if f in self.kb.facts else None,
                        "status": s,
                        "time": _iso(lt),
                        "reference": r,
                        "as_recorded": None
                        if raw is None
                        else f"{_num(raw):g} {unit or ''}".strip(),
                    }
                else:
                    v, d, r = rest[i : i + 3]
                    i += 3
                    values[f] = {"value": v, "detail": d, "references": (r or "").split() or None}
            out.append(self._row(patient, rule_id, ref, t, values, policy_values, location))
        return out

    def _row(
        self,
        patient: Any,
        rule_id: str,
        ref: Any,
        t: Any,
        values: dict[str, Any],
        pv: dict[str, Any],
        location: str | None = None,
    ) -> dict[str, Any]:
        rule = self.kb.rules[rule_id]
        return {
            "patient": f"Patient/{patient}"
            if patient and not str(patient).startswith("Patient/")
            else patient,
            "rule": rule_id,
            "severity": rule.severity,
            "title": rule.title,
            "event_reference": ref,
            "event_time": _iso(t),
            "location": location,
            "values": json.dumps(values, sort_keys=True, separators=(",", ":")),
            "policy_values": json.dumps(pv, sort_keys=True, separators=(",", ":")),
            "policy_id": self.policy.id,
            "knowledge_version": self.kb.version,
        }

    # ------------------------------------------------------------------ other audits (Python)

    def engine_findings(self, rule_ids: list[str]) -> tuple[list[dict[str, Any]], dict[str, int]]:
        from leptoguide.batch.replay import charts, read_chart, replay

        concepts = sorted({c for rid in rule_ids for c in self.kb.rules[rid].orders})
        lo, hi = self.window()
        conds = []
        if lo:
            conds.append(f"t >= TIMESTAMPTZ '{lo}'")
        if hi:
            conds.append(f"t < TIMESTAMPTZ '{hi}'")
        where = (" AND " + " AND ".join(conds)) if conds else ""
        clist = lp.sql_list(concepts)
        admin_t = lp.ts("COALESCE(a.effective_datetime, a.effective_end, a.effective_start)")
        proc_t = lp.ts("COALESCE(p.performed_datetime, p.performed_start, p.performed_end)")
        done = lp.sql_list(lp.DONE)
        events = self.engine.rows(
            f"SELECT patient, ref, t, concept, kind FROM ("
            f"SELECT a.patient, 'MedicationAdministration/' || a.id AS ref, {admin_t} AS t, m.concept, 'medication' AS kind "
            f"FROM v_MedicationAdministration a {lp.medication_join('a')} "
            f"WHERE m.concept IN {clist} AND (a.status IS NULL OR a.status IN {done}) "
            f"UNION ALL SELECT p.patient, 'Procedure/' || p.id, {proc_t}, m.concept, 'procedure' "
            f"FROM v_Procedure p JOIN map_Procedure m ON m.code = p.code "
            f"WHERE m.concept IN {clist} AND p.status IN {done}) e WHERE t IS NOT NULL{where}"
        )
        by_patient: dict[str, list[tuple[Any, ...]]] = {}
        for row in events:
            if row[0]:
                by_patient.setdefault(str(row[0]), []).append(row)
        out: list[dict[str, Any]] = []
        dropped = 0
        for pid, resources_ in charts(self.engine, self.views, sorted(by_patient)):
            case, bad = read_chart(resources_, f"Patient/{pid}", self.kb)
            dropped += len(bad)
            for _, ref, t, concept, kind in sorted(by_patient[pid], key=lambda r: (r[2], r[1])):
                at = t if t.tzinfo else t.replace(tzinfo=dt.UTC)
                a = replay(
                    case,
                    at=at,
                    kb=self.kb,
                    policy=self.policy,
                    order=concept if kind == "procedure" else None,
                    order_ref=ref,
                )
                for f in a.findings:
                    if f.rule in rule_ids:
                        values = {
                            i.fact: i.model_dump(mode="json", exclude={"fact"}) for i in f.inputs
                        }
                        pv = {th.id: th.value for th in f.thresholds}
                        out.append(self._row(pid, f.rule, ref, at, values, pv))
        return out, {
            "events": len(events),
            "patients": len(by_patient),
            "resources_refused": dropped,
        }

    # ------------------------------------------------------------------ cohorts

    def cohort(self, name: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        from leptoguide.batch.replay import as_of, charts, read_chart
        from leptoguide.engine.classes import members
        from leptoguide.engine.derive import build_facts
        from leptoguide.engine.types import LmClassification

        spec = definitions()["cohorts"][name]
        cancer = members(self.kb, "cancer")
        lm_findings = ("csf-cytology", "mri-lm-pattern")
        candidates = [
            r[0]
            for r in self.engine.rows(
                f"SELECT DISTINCT patient FROM (SELECT c.patient FROM v_Condition c JOIN map_Condition m "
                f"ON m.code = c.code WHERE m.concept IN {lp.sql_list([*cancer, 'leptomeningeal-metastasis'])} "
                f"UNION ALL SELECT o.patient FROM v_Observation o JOIN map_Observation m ON m.code = o.code "
                f"WHERE m.concept IN {lp.sql_list(lm_findings)}) x WHERE patient IS NOT NULL"
            )
        ]
        at = self.opts.at or dt.datetime.now(dt.UTC).replace(microsecond=0)
        primary_class = members(self.kb, spec.get("primary_class", "primary-cancer"))
        drivers = spec.get("driver_facts", ["egfr-mutation"])
        rows: list[dict[str, Any]] = []
        counts: Counter[str] = Counter()
        for pid, res in charts(self.engine, self.views, sorted(str(c) for c in candidates)):
            case, _ = read_chart(res, f"Patient/{pid}", self.kb)
            facts = build_facts(as_of(case, at), kb=self.kb, policy=self.policy, at=at)
            cls = facts.typed("lm-classification", LmClassification)
            certainty = cls.certainty if cls else "not_applicable"
            counts[certainty] += 1
            if certainty not in spec["certainty"]:
                continue
            conds = dict(facts.get("conditions").items)
            primary = sorted(c for c in conds if c in primary_class) or sorted(
                c for c in conds if c in cancer
            )
            driver = sorted(
                d for d in drivers if facts.get(d).usable and facts.get(d).value == "positive"
            )
            refs = sorted(
                {
                    r
                    for fid in ("csf-cytology", "mri-lm-pattern", "conditions")
                    for r in facts.get(fid).references
                }
            )
            rows.append(
                {
                    "patient": f"Patient/{pid}",
                    "cohort": name,
                    "certainty": certainty,
                    "type": cls.type if cls else None,
                    "primary": ";".join(primary),
                    "driver": ";".join(driver),
                    "references": " ".join(refs),
                }
            )
        return rows, {
            "candidates": len(candidates),
            "by_certainty": dict(sorted(counts.items())),
            "at": _iso(at),
        }


def run(
    engine: Engine, kb: KnowledgeBase, policy: Policy, opts: Options, step: Step | None = None
) -> Result:
    audits, cohorts = resolve_names(kb, opts.audits, opts.cohorts)
    step = step or (lambda _: None)
    defs = definitions()
    t0 = time.perf_counter()
    r = Runner(engine, kb, policy, opts, step)
    needed: set[str] = set()
    if audits:
        needed |= {
            "Procedure",
            "Observation",
            "MedicationAdministration",
            "MedicationRequest",
            "MedicationStatement",
            "Medication",
        }
    if cohorts:
        needed |= {"Condition", "Observation"}
    with r.timed("read export"):
        r.load(needed)
    with r.timed("resolve codes and units"):
        r.maps(needed)
    findings: list[dict[str, Any]] = []
    audit_info: dict[str, Any] = {}
    for audit in audits:
        rule_ids = defs["audits"][audit]["rules"]
        sql_rules, py_rules = [], []
        for rid in rule_ids:
            try:
                compile_condition(parse_condition(kb.rules[rid].when, rid), SQL_FACTS, policy)
                sql_rules.append(rid)
            except NotCompilable:
                py_rules.append(rid)
        info: dict[str, Any] = {"rules": rule_ids, "sql": sql_rules, "python": py_rules}
        if sql_rules:
            with r.timed(f"{audit}: facts"):
                info["lp_events"] = r.lp_facts()
            for rid in sql_rules:
                with r.timed(f"{audit}: {rid}"):
                    findings += r.sql_findings(rid)
        if py_rules:
            with r.timed(f"{audit}: engine replay"):
                rows, stats = r.engine_findings(py_rules)
                findings += rows
                info["replay"] = stats
        audit_info[audit] = info
    cohort_rows: list[dict[str, Any]] = []
    cohort_info: dict[str, Any] = {}
    for name in cohorts:
        with r.timed(f"cohort {name}"):
            rows, stats = r.cohort(name)
            cohort_rows += rows
            cohort_info[name] = stats
    findings.sort(
        key=lambda f: (
            f["rule"],
            f["patient"] or "",
            f["event_time"] or "",
            f["event_reference"] or "",
        )
    )
    cohort_rows.sort(key=lambda c: (c["cohort"], c["patient"]))
    per_rule = Counter(f["rule"] for f in findings)
    summary = {
        "export": str(opts.export_dir),
        "engine": engine.name,
        "knowledge_version": kb.version,
        "policy": policy.describe(),
        "window": {"from": _iso(opts.start), "to": _iso(opts.end)},
        "audits": audit_info,
        "findings_per_rule": {
            rid: per_rule.get(rid, 0) for a in audits for rid in defs["audits"][a]["rules"]
        },
        "findings": len(findings),
        "cohorts": cohort_info,
        "cohort_members": dict(Counter(c["cohort"] for c in cohort_rows)),
        "rows_read": dict(sorted(r.rows_read.items())),
        "lines_of_other_types": r.other_lines,
        "bad_lines": r.bad_count,
        "bad_line_list": [b.__dict__ for b in r.bad[:1000]],
        "unrecognised_files": r.files.unreadable,
        "timings_s": r.timings,
        "elapsed_s": round(time.perf_counter() - t0, 3),
    }
    return Result(findings, cohort_rows, summary)


def write_outputs(result: Result, out_dir: Path, engine: Engine) -> None:
    """findings.csv/.parquet, cohorts.csv/.parquet (when cohorts ran), summary.json."""
    out_dir.mkdir(parents=True, exist_ok=True)
    _csv(out_dir / "findings.csv", FINDING_COLUMNS, result.findings)
    _parquet(out_dir / "findings.csv", out_dir / "findings.parquet", FINDING_COLUMNS)
    if result.summary.get("cohorts"):
        _csv(out_dir / "cohorts.csv", COHORT_COLUMNS, result.cohorts)
        _parquet(out_dir / "cohorts.csv", out_dir / "cohorts.parquet", COHORT_COLUMNS)
    (out_dir / "summary.json").write_text(
        json.dumps(result.summary, indent=2, sort_keys=False) + "\n", "utf-8"
    )


def _csv(path: Path, columns: list[str], rows: list[dict[str, Any]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        w = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        w.writeheader()
        for row in rows:
            w.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in columns})


def _parquet(src: Path, dst: Path, columns: list[str]) -> None:
    import duckdb

    cols = "{" + ", ".join(f"'{c}': 'VARCHAR'" for c in columns) + "}"
    con = duckdb.connect()
    try:
        con.execute(
            f"COPY (SELECT * FROM read_csv('{src}', header=true, columns={cols}, quote='\"', escape='\"')) "
            f"TO '{dst}' (FORMAT parquet)"
        )
    finally:
        con.close()


def write_charts(
    result: Result, out_dir: Path, engine: Engine, kb: KnowledgeBase, limit: int
) -> None:
    """The charts of the first ``limit`` flagged patients, as FHIR collection Bundles, so each
    finding can be opened as a single-chart assessment (``leptoguide assess FILE --at TIME``)."""
    from leptoguide.batch.replay import charts
    from leptoguide.batch.viewdef import load_views

    patients = list(
        dict.fromkeys(str(f["patient"]).removeprefix("Patient/") for f in result.findings)
    )
    chosen = sorted(patients)[:limit]
    folder = out_dir / "charts"
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for pid, resources_ in charts(engine, load_views(), chosen):
        bundle = {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": r} for r in resources_],
        }
        name = "".join(ch if ch.isalnum() or ch in "-." else "_" for ch in pid) + ".json"
        (folder / name).write_text(json.dumps(bundle, separators=(",", ":")), "utf-8")
        written.append((f"Patient/{pid}", f"charts/{name}"))
    result.summary["charts"] = dict(written)
    (out_dir / "summary.json").write_text(json.dumps(result.summary, indent=2) + "\n", "utf-8")
