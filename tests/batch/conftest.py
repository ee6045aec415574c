"""Shared fixtures for the batch tests: one small synthetic export, one local Spark session."""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
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


def _start_spark_session() -> Any:
    """A local Spark session for small data.

    The quick (C1) JIT and the serial collector cut the session start and the test's run to about
    40% of the defaults (benchmarks.md, test suite); the queries, and so what the tests compare,
    are the same. Python workers run this interpreter, as in the product's own local session.
    """
    from pyspark.sql import SparkSession

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
    return session


@pytest.fixture(scope="session")
def _spark_starting() -> Iterator[Future[Any] | str]:
    """The Spark session, starting in a background thread (or why it cannot start).

    The JVM takes several seconds to start; the batch tests that do not need it run meanwhile.
    """
    if importlib.util.find_spec("pyspark") is None:
        yield "pyspark is not installed (pip install 'leptoguide[spark]')"
        return
    if shutil.which("java") is None:
        yield "Java is not installed (.ci/system-packages.sh installs it)"
        return
    saved = os.environ.get("PYSPARK_PYTHON")
    use_local_worker_python("local[1]")  # read when the session's context starts
    with ThreadPoolExecutor(1, thread_name_prefix="spark-start") as pool:
        starting = pool.submit(_start_spark_session)
        try:
            yield starting
        finally:
            if starting.exception() is None:
                starting.result().stop()
            if saved is None:
                os.environ.pop("PYSPARK_PYTHON", None)
            else:
                os.environ["PYSPARK_PYTHON"] = saved


@pytest.fixture(scope="module", autouse=True)
def _spark_starts_with_the_module(_spark_starting: Future[Any] | str) -> None:
    """The first batch test starts the Spark session in the background."""


@pytest.fixture(scope="session")
def spark_session(_spark_starting: Future[Any] | str) -> Any:
    if isinstance(_spark_starting, str):
        pytest.skip(_spark_starting)
    return _spark_starting.result(timeout=600)
