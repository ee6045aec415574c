"""Population runs: SQL facts layer vs the single-chart engine, bad lines, outputs, Spark."""

from __future__ import annotations

import csv
import gzip
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from batchrecon import LP_RULES, engine_lp, pairs, sql_lp
from leptoguide.batch.engine import (
    DuckDBEngine,
    SparkEngine,
    local_worker_python,
    use_local_worker_python,
)
from leptoguide.batch.run import Options, run
from leptoguide.batch.synth import ExportStats
from leptoguide.batch.viewdef import json_path, load_views
from leptoguide.cli import app
from leptoguide.errors import KnowledgeError
from leptoguide.knowledge.loader import get_knowledge
from leptoguide.policy import load_policy


def test_reconciliation_sql_matches_single_chart_engine(export: tuple[Path, ExportStats]) -> None:
    root, _ = export
    kb = get_knowledge()
    policy = load_policy(kb)
    engine = DuckDBEngine()
    try:
        result = sql_lp(engine, kb, policy, root)
        python, events = engine_lp(engine, kb, policy)
    finally:
        pass
    sql = pairs(result.findings)
    assert events > 200
    assert sql == python
    fired = {rule for _, rule in sql}
    assert fired == set(LP_RULES)
    engine.close()


def test_sample_really_has_mixed_units_stale_and_erroneous_labs(
    export: tuple[Path, ExportStats],
) -> None:
    root, _ = export
    units: set[str] = set()
    statuses: set[str] = set()
    for path in root.glob("Observation.*.ndjson"):
        for line in path.read_text().splitlines():
            try:
                res = json.loads(line)
            except json.JSONDecodeError:
                continue
            q = res.get("valueQuantity") or {}
            if "unit" in q:
                units.add(q["unit"])
            statuses.add(res["status"])
    assert {"10*3/uL", "/uL", "K/uL", "10^9/L"} <= units
    assert {"entered-in-error", "cancelled", "final"} <= statuses
    kb = get_knowledge()
    result = run(DuckDBEngine(), kb, load_policy(kb), Options(root, root.parent, ["lp-safety"]))
    values = [json.loads(f["values"]) for f in result.findings if f["rule"] == "lp-platelets-low"]
    assert any(v["platelets"]["as_recorded"].endswith("/uL") for v in values)  # cells/uL converted
    assert all(v["platelets"]["value"] < 50 for v in values)


def test_bad_lines_counted_with_file_and_line(export: tuple[Path, ExportStats]) -> None:
    root, stats = export
    kb = get_knowledge()
    result = run(DuckDBEngine(), kb, load_policy(kb), Options(root, root.parent, ["lp-safety"]))
    got = {(b["file"], b["line"]) for b in result.summary["bad_line_list"]}
    assert got == set(stats.bad_lines)
    assert result.summary["bad_lines"] == len(stats.bad_lines) > 0


def patient_with_lp(pid: str, lp_id: str, when: str) -> list[dict[str, Any]]:
    """A Patient and one completed lumbar puncture (SNOMED CT) at ``when``."""
    return [
        {"resourceType": "Patient", "id": pid, "birthDate": "1960-05-01"},
        {
            "resourceType": "Procedure",
            "id": lp_id,
            "status": "completed",
            "code": {"coding": [{"system": "http://snomed.info/sct", "code": "277762005"}]},
            "subject": {"reference": f"Patient/{pid}"},
            "performedDateTime": when,
        },
    ]


def test_gzip_and_a_stale_platelet_count(tmp_path: Path) -> None:
    lines: list[dict[str, Any]] = [
        *patient_with_lp("a", "lp1", "2025-03-10T10:00:00Z"),
        # 30 000 /uL = 30 x10^9/L, but 80 h old: stale, so no low-platelet finding
        {
            "resourceType": "Observation",
            "id": "o1",
            "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "777-3"}]},
            "subject": {"reference": "Patient/a"},
            "effectiveDateTime": "2025-03-07T02:00:00Z",
            "valueQuantity": {"value": 30000, "unit": "/uL"},
        },
        # entered in error: never read
        {
            "resourceType": "Observation",
            "id": "o2",
            "status": "entered-in-error",
            "code": {"coding": [{"system": "http://loinc.org", "code": "777-3"}]},
            "subject": {"reference": "Patient/a"},
            "effectiveDateTime": "2025-03-10T08:00:00Z",
            "valueQuantity": {"value": 10, "unit": "10*9/L"},
        },
    ]
    with gzip.open(tmp_path / "all.ndjson.gz", "wt") as handle:
        for obj in lines:
            handle.write(json.dumps(obj) + "\n")
    kb = get_knowledge()
    result = run(DuckDBEngine(), kb, load_policy(kb), Options(tmp_path, tmp_path, ["lp-safety"]))
    assert result.summary["audits"]["lp-safety"]["lp_events"]["events"] == 1
    assert not [f for f in result.findings if f["rule"] == "lp-platelets-low"]
    # 74 h later the same value, 72 h look-back shortened is not needed: a fresh one fires
    lines[2]["effectiveDateTime"] = "2025-03-09T02:00:00Z"
    with gzip.open(tmp_path / "all.ndjson.gz", "wt") as handle:
        for obj in lines:
            handle.write(json.dumps(obj) + "\n")
    result = run(DuckDBEngine(), kb, load_policy(kb), Options(tmp_path, tmp_path, ["lp-safety"]))
    low = [f for f in result.findings if f["rule"] == "lp-platelets-low"]
    assert len(low) == 1
    assert json.loads(low[0]["values"])["platelets"]["value"] == 30.0
    assert json.loads(low[0]["policy_values"])["lp-platelet-min"] == 50


def test_views_are_sql_on_fhir_definitions() -> None:
    views = load_views()
    assert {"Observation", "Procedure", "MedicationAdministration", "Patient"} <= set(views)
    assert json_path("effective.ofType(dateTime)") == ("$.effectiveDateTime", None)
    assert json_path("subject.getReferenceKey(Patient)") == ("$.subject.reference", "Patient")
    with pytest.raises(KnowledgeError):
        json_path("code.coding.where(system='x')")


def test_cli_writes_all_outputs(export: tuple[Path, ExportStats], tmp_path: Path) -> None:
    root, _ = export
    out = tmp_path / "out"
    res = CliRunner().invoke(
        app,
        [
            "batch",
            str(root),
            "--out",
            str(out),
            "--audit",
            "lp-safety",
            "--cohort",
            "lm-eano-esmo",
            "--from",
            "2025-01-01",
            "--to",
            "2025-12-31",
            "--charts",
            "5",
            "--quiet",
        ],
    )
    assert res.exit_code == 0, res.output
    for name in ("findings.csv", "findings.parquet", "summary.json", "report.html", "cohorts.csv"):
        assert (out / name).exists(), name
    summary = json.loads((out / "summary.json").read_text())
    with (out / "findings.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == summary["findings"] == sum(summary["findings_per_rule"].values())
    assert {
        "patient",
        "rule",
        "severity",
        "event_reference",
        "event_time",
        "values",
        "policy_values",
        "knowledge_version",
    } <= set(rows[0])
    html = (out / "report.html").read_text()
    assert "<svg" in html and "charts/" in html
    assert len(list((out / "charts").glob("*.json"))) == 5


def test_cli_errors_are_one_line(tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["batch", str(tmp_path / "nope"), "--out", str(tmp_path)])
    assert res.exit_code != 0
    res = CliRunner().invoke(
        app, ["batch", str(tmp_path), "--out", str(tmp_path), "--audit", "no-such-audit"]
    )
    assert res.exit_code != 0


def _findings(result: Any) -> list[tuple[str, str, str]]:
    return sorted((f["patient"], f["rule"], f["event_reference"]) for f in result.findings)


def test_spark_gives_identical_findings(
    export: tuple[Path, ExportStats], spark_session: Any, tmp_path: Path
) -> None:
    root, _ = export
    small = tmp_path / "small"
    small.mkdir()
    for path in sorted(root.glob("*.000.ndjson")):
        shutil.copy(path, small / path.name)  # the first part of each type: a few hundred patients
    kb = get_knowledge()
    policy = load_policy(kb)
    opts = Options(small, tmp_path, ["lp-safety", "ceftriaxone-calcium-neonate"])
    duck = run(DuckDBEngine(), kb, policy, opts)
    spark = run(SparkEngine(spark_session), kb, policy, opts)
    assert _findings(duck) == _findings(spark)
    assert len(duck.findings) > 10
    assert duck.summary["bad_lines"] == spark.summary["bad_lines"]
    assert duck.summary["rows_read"] == spark.summary["rows_read"]


def test_local_spark_workers_run_this_interpreter(monkeypatch: pytest.MonkeyPatch) -> None:
    """A local session starts its Python workers with the driver's own interpreter, not whatever
    ``python3`` is first on PATH; an explicit $PYSPARK_PYTHON and a cluster keep their own."""
    monkeypatch.setenv("PYSPARK_PYTHON", "")  # restored after the test, whatever it was
    monkeypatch.delenv("PYSPARK_PYTHON")
    assert local_worker_python("local[2]") == sys.executable
    assert local_worker_python("local") == sys.executable
    assert local_worker_python("spark://head:7077") is None
    assert local_worker_python("yarn") is None
    use_local_worker_python("local[2]")
    assert os.environ["PYSPARK_PYTHON"] == sys.executable  # what pyspark reads at start
    monkeypatch.setenv("PYSPARK_PYTHON", "/opt/python/bin/python3")
    assert local_worker_python("local[2]") is None
    use_local_worker_python("local[2]")
    assert os.environ["PYSPARK_PYTHON"] == "/opt/python/bin/python3"


def test_object_storage_urls_go_to_spark(tmp_path: Path) -> None:
    from leptoguide.batch.source import discover
    from leptoguide.errors import InputError

    remote = discover("s3a://bucket/exports/2025/")
    assert remote.for_type("Observation") == ["s3a://bucket/exports/2025/*Observation*.ndjson*"]
    engine = DuckDBEngine()
    with pytest.raises(InputError):
        engine.source("src_Observation", remote.for_type("Observation"))
    engine.close()


def test_spark_reads_a_missing_glob_as_empty(spark_session: Any, tmp_path: Path) -> None:
    engine = SparkEngine(spark_session)
    engine.source("src_x", [str(tmp_path / "*Observation*.ndjson*")])
    assert engine.rows("SELECT count(*) FROM src_x") == [(0,)]


def test_lp_during_a_running_heparin_infusion_agrees_with_the_engine(tmp_path: Path) -> None:
    lines: list[dict[str, Any]] = [
        *patient_with_lp("h", "lp", "2025-06-01T12:00:00Z"),
        # started 10 days before the LP, never stopped: a dose 'now'
        {
            "resourceType": "MedicationAdministration",
            "id": "inf",
            "status": "in-progress",
            "medicationCodeableConcept": {
                "coding": [
                    {"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "5224"}
                ]
            },
            "subject": {"reference": "Patient/h"},
            "effectivePeriod": {"start": "2025-05-22T08:00:00Z"},
        },
    ]
    (tmp_path / "export").mkdir()
    with (tmp_path / "export" / "bundle.ndjson").open("w") as handle:
        for obj in lines:
            handle.write(json.dumps(obj) + "\n")
    kb = get_knowledge()
    policy = load_policy(kb)
    engine = DuckDBEngine()
    result = sql_lp(engine, kb, policy, tmp_path / "export")
    python, events = engine_lp(engine, kb, policy)
    engine.close()
    assert events == 1
    assert pairs(result.findings) == python == {("Procedure/lp", "lp-anticoagulant-timing")}
