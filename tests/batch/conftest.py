"""Shared fixtures for the batch tests: one small synthetic export, one local Spark session."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from leptoguide.batch.engine import use_local_worker_python
from leptoguide.batch.synth import ExportStats, write_export

pytest.importorskip("duckdb")


@pytest.fixture(scope="session")
def export(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ExportStats]:
    root = tmp_path_factory.mktemp("batch") / "export"
    stats = write_export(root, patients=1500, seed=7, bad_every=997, part_lines=3000)
    return root, stats


@pytest.fixture(scope="session")
def spark_session() -> Iterator[Any]:
    pytest.importorskip("pyspark")
    if shutil.which("java") is None:
        pytest.skip("Java is not installed (.ci/system-packages.sh installs it)")
    from pyspark.sql import SparkSession

    # A short-lived JVM for small data: the quick (C1) JIT and the serial collector cut the session
    # start and the test's run to about 40% of the defaults (benchmarks.md, test suite); the
    # queries, and so what the test compares, are the same.
    # Python workers run this interpreter, as in the product's own local session.
    saved = os.environ.get("PYSPARK_PYTHON")
    use_local_worker_python("local[1]")
    session = (
        SparkSession.builder.master("local[1]")
        .appName("leptoguide-batch-tests")
        .config("spark.driver.extraJavaOptions", "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.default.parallelism", "1")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.sql.ansi.enabled", "false")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    try:
        yield session
    finally:
        session.stop()
        if saved is None:
            os.environ.pop("PYSPARK_PYTHON", None)
        else:
            os.environ["PYSPARK_PYTHON"] = saved
