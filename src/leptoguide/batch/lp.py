"""Per-event facts for the LP-safety audit, in SQL, with the single-chart engine's meaning.

Each performed lumbar puncture (Procedure coded as the ``lumbar-puncture`` concept, status done,
dated) is replayed as if it were the order, at its own time T:

- a lab fact (platelets, INR) is the latest value of its concept dated at or before T (undated
  values rank oldest; ties go to the smaller resource id); it is usable only if that value was
  readable (a number, no comparator, a unit the knowledge converts to the fact's unit) and not
  older than the policy ``lab-max-age-hours``; results entered in error or cancelled are not read;
- the antithrombotic status gathers the drugs of the ``lp-hold-<class>`` regimens recorded at or
  before T (administrations by their time, orders by when they were written): per drug the longest
  hold any record's class asks for (LMWH and fondaparinux classed by daily dose against
  ``<class>-prophylactic-max-mg-per-day``; a class with no hold interval is unknown), the last dose at or before T, a running infusion (in
  progress, or an open period) counting as a dose now, and ``hold`` / ``unknown`` / ``clear`` as
  ``engine/antithrombotic.py`` decides them.
"""

from __future__ import annotations

from collections.abc import Iterable

from leptoguide.case import ZONE_SPAN
from leptoguide.engine.orders import _DONE as DONE
from leptoguide.intake.fhir.base import SKIP_STATUS, UCUM
from leptoguide.intake.fhir.medication import (
    ENDED_STATUS,
    ONGOING_ADMIN_STATUS,
    UNDATED_STATEMENT_STATUS,
)
from leptoguide.knowledge.loader import KnowledgeBase
from leptoguide.policy import Policy

__all__ = ["DONE"]

LP_CONCEPT = "lumbar-puncture"
HOLD_PREFIX = "lp-hold-"


def sql_list(values: Iterable[str]) -> str:
    return "(" + ", ".join("'" + v.replace("'", "''") + "'" for v in sorted(values)) + ")"


def ts(expr: str) -> str:
    """A FHIR date/dateTime text as a UTC timestamp (partial dates at the first day, 00:00)."""
    return (
        f"TRY_CAST(CASE WHEN length({expr}) = 4 THEN {expr} || '-01-01' "
        f"WHEN length({expr}) = 7 THEN {expr} || '-01' ELSE {expr} END AS TIMESTAMPTZ)"
    )


def zoneless(expr: str) -> str:
    """A FHIR dateTime text with a time of day and no time zone."""
    return (
        f"({expr} LIKE '%T%' AND NOT (upper({expr}) LIKE '%Z' "
        f"OR strpos(substr({expr}, 11), '+') > 0 OR strpos(substr({expr}, 11), '-') > 0))"
    )


def span_before(expr: str) -> str:
    """Hours the true time of an imprecise dose time may lie before the one read (as UTC),
    as ``intake.common.time_imprecision`` gives them."""
    before = ZONE_SPAN[0]
    return (
        f"(CASE WHEN length({expr}) IN (4, 7, 10) OR {zoneless(expr)} THEN {before!r} ELSE 0.0 END)"
    )


def span_after(expr: str) -> str:
    after = ZONE_SPAN[1]
    return (
        f"(CASE WHEN length({expr}) = 10 THEN {24 + after!r} "
        f"WHEN length({expr}) = 7 THEN {31 * 24 + after!r} "
        f"WHEN length({expr}) = 4 THEN {366 * 24 + after!r} "
        f"WHEN {zoneless(expr)} THEN {after!r} ELSE 0.0 END)"
    )


def hours(later: str, earlier: str) -> str:
    return f"((epoch({later}) - epoch({earlier})) / 3600.0)"


def quantity_unit(prefix: str) -> str:
    """The reader's unit choice: the UCUM code when the system is UCUM or absent, else the text."""
    return (
        f"CASE WHEN {prefix}_code IS NOT NULL AND ({prefix}_system IS NULL OR "
        f"rtrim({prefix}_system, '/') = '{UCUM}') THEN {prefix}_code "
        f"ELSE COALESCE({prefix}_unit, {prefix}_code) END"
    )


def not_ended(col: str) -> str:
    return f"({col} IS NULL OR {col} NOT IN {sql_list(ENDED_STATUS)})"


def not_skipped(col: str) -> str:
    return f"({col} IS NULL OR {col} NOT IN {sql_list(SKIP_STATUS)})"


def medication_join(alias: str) -> str:
    """The drug concept of a record: its own CodeableConcept, else the Medication it refers to."""
    return (
        f"LEFT JOIN v_Medication md_{alias} ON {alias}.medication_ref = 'Medication/' || md_{alias}.id "
        f"JOIN map_medication m ON m.code = COALESCE({alias}.medication, md_{alias}.code)"
    )


def events_sql(concept: str, window: tuple[str | None, str | None]) -> str:
    """Performed procedures of ``concept`` (dated ones carry their time; undated ones stay, with
    a NULL time, so they can be counted)."""
    lo, hi = window
    t = ts("COALESCE(p.performed_datetime, p.performed_start, p.performed_end)")
    where = [f"m.concept = '{concept}'", f"p.status IN {sql_list(DONE)}"]
    sql = (
        f"SELECT p.id AS event_id, 'Procedure/' || p.id AS event_ref, p.patient, {t} AS t, "
        "COALESCE(p.location, 'not recorded') AS location "
        f"FROM v_Procedure p JOIN map_Procedure m ON m.code = p.code WHERE " + " AND ".join(where)
    )
    outer = []
    if lo:
        outer.append(f"(t IS NULL OR t >= TIMESTAMPTZ '{lo}')")
    if hi:
        outer.append(f"(t IS NULL OR t < TIMESTAMPTZ '{hi}')")
    if outer:
        sql = f"SELECT * FROM ({sql}) q WHERE " + " AND ".join(outer)
    return sql


NUMBER_TEXT = "'^[ ]*=?[ ]*(-?[0-9]+([.][0-9]+)?)[ ]*$'"


def labs_sql(concepts: list[str]) -> str:
    """Every readable-or-not numeric result of the lab concepts, converted with ``units``."""
    t = ts(
        "COALESCE(o.effective_datetime, o.effective_instant, o.effective_start, o.effective_end)"
    )
    string_number = (
        f"TRY_CAST(NULLIF(regexp_extract(o.value_string, {NUMBER_TEXT}, 1), '') AS DOUBLE)"
    )
    raw_value = f"COALESCE(o.value, o.value_integer, o.value_decimal, {string_number})"
    unit = f"CASE WHEN o.value IS NOT NULL THEN {quantity_unit('o.value')} END"
    return f"""
SELECT q.*, CASE WHEN q.comparator IS NULL AND q.raw_value IS NOT NULL AND u.factor IS NOT NULL
    THEN round(q.raw_value * u.factor, 9) END AS value
FROM (
  SELECT o.patient, m.concept, o.id, 'Observation/' || o.id AS ref, {t} AS t,
    {raw_value} AS raw_value, {unit} AS unit, o.value_comparator AS comparator
  FROM v_Observation o JOIN map_Observation m ON m.code = o.code
  WHERE m.concept IN {sql_list(concepts)} AND {not_skipped("o.status")}
) q
LEFT JOIN units u ON u.concept = q.concept
  AND u.unit = CASE WHEN q.unit IS NULL OR trim(q.unit) = '' THEN '' ELSE q.unit END"""


def latest_lab_sql(max_age_hours: float | None) -> str:
    too_old = (
        f"OR {hours('ev_t', 'lab_t')} > {float(max_age_hours)!r}"
        if max_age_hours is not None
        else ""
    )
    return f"""
SELECT event_id, concept, ref, lab_t, raw_value, unit, comparator,
  CASE WHEN value IS NULL OR lab_t IS NULL {too_old} THEN NULL ELSE value END AS value,
  CASE WHEN value IS NULL THEN 'unparseable' WHEN lab_t IS NULL {too_old} THEN 'stale'
       ELSE 'ok' END AS status
FROM (
  SELECT e.event_id, e.t AS ev_t, l.concept, l.ref, l.t AS lab_t, l.raw_value, l.unit,
    l.comparator, l.value,
    row_number() OVER (PARTITION BY e.event_id, l.concept ORDER BY l.t DESC NULLS LAST, l.id) AS rn
  FROM lp_events e JOIN labs l ON l.patient = e.patient AND (l.t IS NULL OR l.t <= e.t)
  WHERE e.t IS NOT NULL
) x WHERE rn = 1"""


def hold_classes(kb: KnowledgeBase) -> dict[str, str]:
    """drug concept -> hold class, from the lp-hold-* regimens (first regimen by id wins)."""
    out: dict[str, str] = {}
    for rid in sorted(kb.regimens):
        if rid.startswith(HOLD_PREFIX):
            for drug in kb.regimens[rid].drugs:
                out.setdefault(drug, rid.removeprefix(HOLD_PREFIX))
    return out


def _per_day(a: str) -> str:
    """Doses per day from Timing.repeat (frequency / period in days), else a timing code."""
    return (
        f"CASE WHEN {a}.period IS NOT NULL AND pd.days IS NOT NULL AND {a}.period > 0 "
        f"THEN round(COALESCE({a}.frequency, 1) / ({a}.period * pd.days), 6) "
        "ELSE COALESCE(tc.per_day, tt.per_day) END"
    )


def _timing_joins(a: str) -> str:
    return (
        f"LEFT JOIN period_days pd ON pd.unit = {a}.period_unit "
        f"LEFT JOIN timing_codes tc ON tc.code = {a}.timing_code "
        f"LEFT JOIN timing_codes tt ON tt.code = {a}.timing_text"
    )


def med_records_sql() -> str:
    """Antithrombotic-relevant drug records: administrations (dose time = their time),
    orders (no dose time; recorded when written) and statements (last time taken)."""
    admin_t = ts("COALESCE(a.effective_datetime, a.effective_end, a.effective_start)")
    stmt_t = ts("COALESCE(s.effective_datetime, s.effective_end, s.effective_start)")
    # a period with a start, no end and a status that says it is over (a completed infusion):
    # the last exposure is unknown, not the start
    admin_ongoing = (
        f"(a.status IN {sql_list(ONGOING_ADMIN_STATUS)} OR ({not_ended('a.status')} "
        "AND a.effective_start IS NOT NULL AND a.effective_end IS NULL))"
    )
    stmt_ongoing = (
        "(s.status = 'active' AND s.effective_start IS NOT NULL AND s.effective_end IS NULL)"
    )
    admin_x = (
        "COALESCE(a.effective_datetime, a.effective_end, "
        f"CASE WHEN {admin_ongoing} THEN a.effective_start END)"
    )
    stmt_x = (
        f"CASE WHEN s.status IN {sql_list(UNDATED_STATEMENT_STATUS)} THEN NULL ELSE "
        "COALESCE(s.effective_datetime, s.effective_end, "
        f"CASE WHEN {stmt_ongoing} THEN s.effective_start END) END"
    )
    return f"""
  SELECT a.patient, m.concept AS drug, 'MedicationAdministration/' || a.id AS ref, a.id,
    {ts(admin_x)} AS dose_t, {admin_t} AS rec_t,
    {span_before(admin_x)} AS span_before, {span_after(admin_x)} AS span_after,
    CASE WHEN m.n = 1 THEN a.dose END AS dose,
    CASE WHEN m.n = 1 AND a.dose IS NOT NULL THEN {quantity_unit("a.dose")} END AS dose_unit,
    CAST(NULL AS DOUBLE) AS per_day,
    {admin_ongoing} AS ongoing, CAST(NULL AS DOUBLE) AS active_gap
  FROM v_MedicationAdministration a
  LEFT JOIN v_Medication md_a ON a.medication_ref = 'Medication/' || md_a.id
  JOIN map_medication m ON m.code = COALESCE(a.medication, md_a.code)
  WHERE {not_skipped("a.status")}
  UNION ALL
  SELECT r.patient, m.concept AS drug, 'MedicationRequest/' || r.id AS ref, r.id,
    CAST(NULL AS TIMESTAMPTZ) AS dose_t, {ts("r.authored")} AS rec_t,
    0.0 AS span_before, 0.0 AS span_after,
    CASE WHEN m.n = 1 THEN r.dose END AS dose,
    CASE WHEN m.n = 1 AND r.dose IS NOT NULL THEN {quantity_unit("r.dose")} END AS dose_unit,
    {_per_day("r")} AS per_day, FALSE AS ongoing, CAST(NULL AS DOUBLE) AS active_gap
  FROM v_MedicationRequest r
  LEFT JOIN v_Medication md_r ON r.medication_ref = 'Medication/' || md_r.id
  JOIN map_medication m ON m.code = COALESCE(r.medication, md_r.code) {_timing_joins("r")}
  WHERE {not_skipped("r.status")}
  UNION ALL
  SELECT s.patient, m.concept AS drug, 'MedicationStatement/' || s.id AS ref, s.id,
    {ts(stmt_x)} AS dose_t, {stmt_t} AS rec_t,
    {span_before(stmt_x)} AS span_before, {span_after(stmt_x)} AS span_after,
    CASE WHEN m.n = 1 THEN s.dose END AS dose,
    CASE WHEN m.n = 1 AND s.dose IS NOT NULL THEN {quantity_unit("s.dose")} END AS dose_unit,
    {_per_day("s")} AS per_day,
    {stmt_ongoing} AS ongoing,
    CASE WHEN s.status = 'active' AND NOT {stmt_ongoing} THEN
      (CASE WHEN {_per_day("s")} >= 1 THEN 24.0 / {_per_day("s")} ELSE 24.0 END) END AS active_gap
  FROM v_MedicationStatement s
  LEFT JOIN v_Medication md_s ON s.medication_ref = 'Medication/' || md_s.id
  JOIN map_medication m ON m.code = COALESCE(s.medication, md_s.code) {_timing_joins("s")}
  WHERE {not_skipped("s.status")}"""


CEILING_SUFFIX = "-prophylactic-max-mg-per-day"


def dose_ceilings(policy: Policy, bases: Iterable[str]) -> dict[str, float]:
    """Hold-class base -> its prophylactic daily ceiling (policy ``<base>-prophylactic-max-mg-per-day``),
    for the classes split into prophylactic and treatment dose (LMWH, fondaparinux)."""
    out: dict[str, float] = {}
    for base in sorted(set(bases)):
        value = policy_value(policy, f"{base}{CEILING_SUFFIX}")
        if value is not None:
            out[base] = value
    return out


def med_classed_sql(ceilings: dict[str, float]) -> str:
    unit = "lower(trim(COALESCE(dose_unit, '')))"
    whens = []
    for base, ceiling in sorted(ceilings.items()):
        dose_class = (
            "CASE WHEN dose IS NULL THEN 'treatment' "
            f"WHEN {unit} = 'mg/kg' THEN 'treatment' "
            f"WHEN {unit} <> 'mg' THEN 'treatment' "
            "WHEN per_day IS NULL THEN 'treatment' "
            f"WHEN dose * per_day <= {ceiling!r} THEN 'prophylactic' ELSE 'treatment' END"
        )
        whens.append(f"WHEN c.base = '{base}' THEN '{base}-' || {dose_class} ")
    cls = f"CASE {''.join(whens)}ELSE c.base END" if whens else "c.base"
    return f"""
SELECT r.*, c.base, {cls} AS cls
FROM ({med_records_sql()}) r JOIN hold_class c ON c.drug = r.drug"""


ANTITHROMBOTIC_SQL = """
SELECT event_id,
  CASE WHEN count(*) FILTER (WHERE status = 'hold') > 0 THEN 'hold'
       WHEN count(*) FILTER (WHERE status = 'unknown') > 0 THEN 'unknown'
       ELSE 'clear' END AS status,
  string_agg(drug || ' ' || status || COALESCE(' last ' || CAST(last_dose AS VARCHAR), '') ||
    COALESCE(' hold ' || CAST(hold AS VARCHAR) || ' h', ' no hold policy'), '; ' ORDER BY drug) AS detail,
  string_agg(refs, ' ' ORDER BY drug) AS refs
FROM (
  SELECT event_id, drug, hold, last_dose, refs, ongoing,
    CASE WHEN hold IS NULL THEN 'unknown'
         WHEN ongoing = 1 THEN 'hold'
         WHEN last_dose IS NULL THEN 'unknown'
         WHEN (epoch(ev_t) - dose_hi) / 3600.0 >= hold THEN 'clear'
         WHEN (epoch(ev_t) - dose_lo) / 3600.0 < hold THEN 'hold'
         ELSE 'unknown' END AS status
  FROM (
    SELECT e.event_id, e.t AS ev_t, r.drug,
      CASE WHEN count(*) FILTER (WHERE h.hours IS NULL) > 0 THEN NULL ELSE max(h.hours) END AS hold,
      max(r.dose_t) FILTER (WHERE r.dose_t <= e.t AND NOT COALESCE(
        (epoch(e.t) - epoch(r.dose_t)) / 3600.0 > r.active_gap, FALSE)) AS last_dose,
      max(epoch(r.dose_t) - r.span_before * 3600.0) FILTER (WHERE r.dose_t <= e.t AND NOT COALESCE(
        (epoch(e.t) - epoch(r.dose_t)) / 3600.0 > r.active_gap, FALSE)) AS dose_lo,
      max(least(epoch(r.dose_t) + r.span_after * 3600.0, epoch(e.t)))
        FILTER (WHERE r.dose_t <= e.t AND NOT COALESCE(
        (epoch(e.t) - epoch(r.dose_t)) / 3600.0 > r.active_gap, FALSE)) AS dose_hi,
      max(CASE WHEN r.ongoing THEN 1 ELSE 0 END) AS ongoing,
      string_agg(r.ref, ' ' ORDER BY r.ref) AS refs
    FROM lp_events e
    JOIN med_classed r ON r.patient = e.patient AND (r.rec_t IS NULL OR r.rec_t <= e.t)
    LEFT JOIN hold_hours h ON h.cls = r.cls
    WHERE e.t IS NOT NULL
    GROUP BY e.event_id, e.t, r.drug
  ) d
) s
GROUP BY event_id"""


def facts_sql(lab_facts: list[str]) -> str:
    """One row per dated LP event with the facts the LP-safety rules read."""
    cols = [
        "e.event_id",
        "e.event_ref",
        "e.patient",
        "e.t",
        "e.location",
        "TRUE AS f_lp_planned",
        "'ok' AS s_lp_planned",
    ]
    joins = []
    for i, fid in enumerate(lab_facts):
        a = f"l{i}"
        col = fid.replace("-", "_")
        cols += [
            f"{a}.value AS f_{col}",
            f"COALESCE({a}.status, 'missing') AS s_{col}",
            f"{a}.ref AS r_{col}",
            f"{a}.lab_t AS t_{col}",
            f"{a}.raw_value AS raw_{col}",
            f"{a}.unit AS unit_{col}",
        ]
        joins.append(
            f"LEFT JOIN ev_labs {a} ON {a}.event_id = e.event_id AND {a}.concept = '{fid}'"
        )
    cols += [
        "COALESCE(ab.status, 'none') AS f_lp_antithrombotic_status",
        "'ok' AS s_lp_antithrombotic_status",
        "ab.detail AS d_lp_antithrombotic_status",
        "ab.refs AS r_lp_antithrombotic_status",
    ]
    joins.append("LEFT JOIN ev_antithrombotic ab ON ab.event_id = e.event_id")
    return (
        "SELECT "
        + ",\n  ".join(cols)
        + "\nFROM lp_events e\n"
        + "\n".join(joins)
        + "\nWHERE e.t IS NOT NULL"
    )


def policy_value(policy: Policy, name: str) -> float | None:
    return float(policy.get(name)) if name in policy.values else None
