"""The two SQL engines behind one small interface. SQL is written once, in DuckDB's dialect;
the Spark engine transpiles each statement with sqlglot before running it."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from typing import Any, Protocol

from leptoguide.errors import InputError

SQLType = str  # "VARCHAR" | "DOUBLE" | "BOOLEAN"


class Engine(Protocol):
    name: str

    def source(self, name: str, files: Sequence[str]) -> None:
        """Register ``name`` as a relation (json, filename) over NDJSON(.gz) or Parquet files."""

    def materialize(self, name: str, select_sql: str) -> None: ...

    def view(self, name: str, select_sql: str) -> None: ...

    def rows(self, sql: str) -> list[tuple[Any, ...]]: ...

    def table(
        self, name: str, columns: Sequence[tuple[str, SQLType]], rows: Sequence[Sequence[Any]]
    ) -> None: ...

    def close(self) -> None: ...


def _missing(extra: str, module: str) -> InputError:
    return InputError(
        "options",
        f"the {module} package is not installed (pip install 'leptoguide[{extra}]')",
        "engine",
    )


class DuckDBEngine:
    name = "duckdb"

    def __init__(
        self, *, memory_limit: str | None = None, threads: int | None = None, on_disk: bool = False
    ) -> None:
        """``on_disk``: tables in a scratch database file (compressed, spilled under
        ``memory_limit``; default ``$LEPTOGUIDE_BATCH_MEMORY`` or 1GB), removed on close."""
        try:
            import duckdb
        except ImportError as exc:
            raise _missing("batch", "duckdb") from exc
        self._scratch: str | None = None
        if on_disk:
            self._scratch = tempfile.mkdtemp(prefix="leptoguide-batch-")
            self.con = duckdb.connect(os.path.join(self._scratch, "work.duckdb"))
            self.con.execute(f"SET temp_directory = '{os.path.join(self._scratch, 'spill')}'")
            memory_limit = memory_limit or os.environ.get("LEPTOGUIDE_BATCH_MEMORY", "1GB")
        else:
            self.con = duckdb.connect(":memory:")
        self.con.execute("SET TimeZone = 'UTC'")
        self.con.execute("SET preserve_insertion_order = false")
        if memory_limit:
            self.con.execute(f"SET memory_limit = '{memory_limit}'")
        if threads:
            self.con.execute(f"SET threads = {int(threads)}")

    def source(self, name: str, files: Sequence[str]) -> None:
        if any("://" in f for f in files):
            url = next(f for f in files if "://" in f)
            raise InputError(url, "object storage is read only by the spark engine", "engine")
        nd = [f for f in files if not f.endswith(".parquet")]
        pq = [f for f in files if f.endswith(".parquet")]
        parts = []
        if nd:
            parts.append(
                "SELECT CAST(json AS VARCHAR) AS json, filename FROM read_json_objects("
                f"{nd!r}, format='newline_delimited', ignore_errors=true, filename=true, "
                "maximum_object_size=67108864)"
            )
        if pq:
            parts.append(
                f"SELECT CAST(to_json(t) AS VARCHAR) AS json, t.filename AS filename "
                f"FROM read_parquet({pq!r}, filename=true, union_by_name=true) t"
            )
        self.con.execute(f"CREATE OR REPLACE VIEW {name} AS " + " UNION ALL ".join(parts))

    def materialize(self, name: str, select_sql: str) -> None:
        self.con.execute(f"CREATE OR REPLACE TABLE {name} AS {select_sql}")

    def view(self, name: str, select_sql: str) -> None:
        self.con.execute(f"CREATE OR REPLACE VIEW {name} AS {select_sql}")

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        return self.con.execute(sql).fetchall()

    def table(
        self, name: str, columns: Sequence[tuple[str, SQLType]], rows: Sequence[Sequence[Any]]
    ) -> None:
        cols = ", ".join(f"{c} {t}" for c, t in columns)
        self.con.execute(f"CREATE OR REPLACE TABLE {name} ({cols})")
        if rows:
            marks = ", ".join("?" for _ in columns)
            self.con.executemany(f"INSERT INTO {name} VALUES ({marks})", [list(r) for r in rows])

    def close(self) -> None:
        self.con.close()
        if self._scratch:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None


_SPARK_TYPES = {"VARCHAR": "STRING", "DOUBLE": "DOUBLE", "BOOLEAN": "BOOLEAN"}


def local_worker_python(master: str) -> str | None:
    """The interpreter a local Spark session starts its Python workers with: this process's own.

    Spark otherwise starts ``python3`` from PATH, which may be another version than the driver's
    (a virtual environment not on PATH, several Pythons installed) and then fails the first query
    that needs a Python worker. ``$PYSPARK_PYTHON`` still wins when set; a cluster master (or
    ``spark-submit`` through ``$SPARK_HOME``) keeps the cluster's own setting, as its executors have
    their own interpreters. pyspark reads the worker interpreter from ``$PYSPARK_PYTHON`` when the
    session's context starts (not from ``spark.pyspark.python``), so :func:`use_local_worker_python`
    sets that variable.
    """
    if os.environ.get("PYSPARK_PYTHON"):
        return None
    if master == "local" or master.startswith("local["):
        return sys.executable
    return None


def use_local_worker_python(master: str) -> None:
    """Before a local session starts: its Python workers run this interpreter (see above)."""
    python = local_worker_python(master)
    if python:
        os.environ["PYSPARK_PYTHON"] = python


class SparkEngine:
    """pyspark: a local session by default; ``spark-submit`` or ``$LEPTOGUIDE_SPARK_MASTER`` for a
    cluster. Paths may be object-storage URLs the cluster can read (s3a://, abfss://, gs://)."""

    name = "spark"

    def __init__(self, session: Any = None) -> None:
        try:
            import sqlglot
            from pyspark.sql import SparkSession
        except ImportError as exc:
            raise _missing("spark", "pyspark") from exc
        self._sqlglot = sqlglot
        if session is None:
            builder = SparkSession.builder.appName("leptoguide-batch")
            master = os.environ.get("LEPTOGUIDE_SPARK_MASTER")
            if not master and not os.environ.get("SPARK_HOME"):
                master = "local[2]"
            if master:
                builder = builder.master(master)
                use_local_worker_python(master)
            builder = (
                builder.config("spark.sql.session.timeZone", "UTC")
                .config("spark.ui.enabled", "false")
                .config("spark.sql.shuffle.partitions", "8")
                .config("spark.sql.ansi.enabled", "false")
            )
            session = builder.getOrCreate()
            session.sparkContext.setLogLevel("ERROR")
        self.spark = session
        self._cached: list[Any] = []

    def sql(self, duck_sql: str) -> str:
        return str(self._sqlglot.transpile(duck_sql, read="duckdb", write="spark")[0])

    def source(self, name: str, files: Sequence[str]) -> None:
        from pyspark.errors import AnalysisException

        try:
            self._source(name, files)
        except AnalysisException as exc:
            if "PATH_NOT_FOUND" not in str(exc) and "Path does not exist" not in str(exc):
                raise
            self.table(name, [("json", "VARCHAR"), ("filename", "VARCHAR")], [])

    def _source(self, name: str, files: Sequence[str]) -> None:
        from pyspark.sql import functions as F

        nd = [f for f in files if not f.endswith(".parquet")]
        pq = [f for f in files if f.endswith(".parquet")]
        frames = []
        if nd:
            df = self.spark.read.text(nd).withColumn("filename", F.input_file_name())
            df = df.where(F.trim(F.col("value")) != "")
            valid = (
                F.get_json_object(F.col("value"), "$.resourceType").isNotNull()
                | F.get_json_object(F.col("value"), "$").isNotNull()
            )
            frames.append(df.select(F.when(valid, F.col("value")).alias("json"), F.col("filename")))
        if pq:
            df = self.spark.read.parquet(*pq)
            frames.append(
                df.select(
                    F.to_json(F.struct(*[F.col(c) for c in df.columns])).alias("json"),
                    F.input_file_name().alias("filename"),
                )
            )
        out = frames[0]
        for f in frames[1:]:
            out = out.unionByName(f)
        out.createOrReplaceTempView(name)

    def materialize(self, name: str, select_sql: str) -> None:
        df = self.spark.sql(self.sql(select_sql)).persist()
        self._cached.append(df)
        df.createOrReplaceTempView(name)

    def view(self, name: str, select_sql: str) -> None:
        self.spark.sql(self.sql(select_sql)).createOrReplaceTempView(name)

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in self.spark.sql(self.sql(sql)).collect()]

    def table(
        self, name: str, columns: Sequence[tuple[str, SQLType]], rows: Sequence[Sequence[Any]]
    ) -> None:
        schema = ", ".join(f"{c} {_SPARK_TYPES[t]}" for c, t in columns)
        df = self.spark.createDataFrame([tuple(r) for r in rows], schema=schema)
        df.createOrReplaceTempView(name)

    def close(self) -> None:
        for df in self._cached:
            df.unpersist()
        self._cached.clear()


def make_engine(name: str) -> Engine:
    if name == "duckdb":
        return DuckDBEngine(on_disk=True)
    if name == "spark":
        return SparkEngine()
    raise InputError("options", f"unknown engine '{name}' (duckdb or spark)", "engine")
