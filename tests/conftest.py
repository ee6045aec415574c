"""Shared fixtures: state directory, knowledge bases, a throwaway PostgreSQL cluster, databases.

Knowledge: one fixture per meaning (``shipped_kb``, ``shipped_kb_dir``, ``kb_copy``, ``intake_kb``,
``qa_kb``), listed with what each holds further down.

PostgreSQL: when ``/usr/lib/postgresql/*/bin`` exists, one cluster per test session is created with
``initdb`` (as user ``postgres`` via ``runuser`` when running as root) in a temporary directory (in
memory, /dev/shm, when it has room: every test database is a copy of the template, and deleting
hundreds of them from disk took up to 50 s at the end of a run) and started with ``pg_ctl`` on
127.0.0.1 and a free port, trust auth, no durability (a throwaway cluster); it is stopped and
deleted at the end. Otherwise ``LEPTOGUIDE_TEST_PG_URL`` is used; otherwise PostgreSQL tests are
skipped.
"""

from __future__ import annotations

import gc
import glob
import os
import shutil
import sqlite3
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from argon2 import PasswordHasher

from cdsutil import free_port
from leptoguide.knowledge.loader import KnowledgeBase, default_data_dir, load_knowledge

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

    from cdsutil import EhrKey
    from leptoguide.answer import QA
    from leptoguide.policy import Policy
    from service_fhir_server import FhirTestServer
    from service_server import ServerProcess


@pytest.fixture(scope="session")
def _snapshot_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One knowledge snapshot directory for the session, so CLI processes started by tests read
    the compiled knowledge instead of each loading every file (it is keyed on the files)."""
    path = tmp_path_factory.mktemp("snapshots")
    path.chmod(0o700)
    return path


@pytest.fixture(scope="session")
def _statement_index(tmp_path_factory: pytest.TempPathFactory, _snapshot_cache: Path) -> Path:
    """The shipped knowledge's statement index, built once per session by the product's own
    ``load_index`` (as ``make setup`` builds it on a real machine).

    Every test has a fresh LEPTOGUIDE_HOME, and the index lives there: without this, each test
    that asks a question (in process or through a ``leptoguide`` process) rebuilt it. Each home
    gets a hard link to this file; the product still checks that the index is current (layout,
    knowledge version, model) and rebuilds it in the test's home when it is not, and a rebuild or
    ``index build`` replaces the link, never the shared file.
    """
    from leptoguide.answer.pipeline import Options, index_file, load_index
    from leptoguide.knowledge.loader import get_knowledge

    home = tmp_path_factory.mktemp("index-home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LEPTOGUIDE_HOME", str(home))
        patch.setenv("LEPTOGUIDE_CACHE_DIR", str(_snapshot_cache))
        patch.delenv("LEPTOGUIDE_KB", raising=False)
        kb = get_knowledge()
        load_index(kb, Options()).conn.close()
        path = index_file(kb)
    path.chmod(0o444)
    return path


def seed_statement_index(home: Path, index: Path) -> None:
    """Give a fresh LEPTOGUIDE_HOME the session's statement index (a hard link, else a copy)."""
    target = home / "index" / index.name
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(index, target)
    except OSError:
        shutil.copyfile(index, target)


@pytest.fixture(autouse=True)
def _leptoguide_home(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    _snapshot_cache: Path,
    _statement_index: Path,
) -> Path:
    home = tmp_path / "home"
    seed_statement_index(home, _statement_index)
    monkeypatch.setenv("LEPTOGUIDE_HOME", str(home))
    monkeypatch.setenv("LEPTOGUIDE_CACHE_DIR", str(_snapshot_cache))
    for var in (
        "LEPTOGUIDE_DATABASE_URL",
        "LEPTOGUIDE_TRUSTED_ISSUERS",
        "LEPTOGUIDE_CORS_ORIGINS",
        "LEPTOGUIDE_AUDIT_KEY",
        "LEPTOGUIDE_PUBLIC_URL",
        "LEPTOGUIDE_POLICY",
        "LEPTOGUIDE_HOST",
        "LEPTOGUIDE_ALLOW_UNAUTHENTICATED",
        "LEPTOGUIDE_LLM_URL",
        "LEPTOGUIDE_LLM_MODEL",
    ):
        monkeypatch.delenv(var, raising=False)
    return home


@pytest.fixture(scope="session", autouse=True)
def production_password_hasher() -> Iterator[PasswordHasher]:
    """Argon2 with its lightest parameters inside this test process; yields the production hasher.

    Hashing and checking go through the same code, only cheaper: a production-strength argon2 hash
    or check costs about 0.2 s of CPU and the web and API tests make hundreds. Servers the tests
    start as processes keep the production parameters, and test_store_web.py checks them.
    """
    from leptoguide.store import accounts

    light = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    production = accounts._hasher
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(accounts, "_hasher", light)
        patch.setattr(accounts, "_DUMMY_HASH", light.hash(uuid.uuid4().hex))
        yield production


def _pg_root() -> Path:
    """A fresh directory for a throwaway cluster: in memory when /dev/shm has room, else on disk."""
    shm = Path("/dev/shm")
    try:
        in_memory = shm.is_dir() and shutil.disk_usage(shm).free > 4 * 1024**3
    except OSError:
        in_memory = False
    return Path(tempfile.mkdtemp(prefix="leptoguide-pg-", dir=shm if in_memory else None))


def _pg_bin() -> Path | None:
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4])
    )
    return Path(found[-1]).parent if found else None


class PgCluster:
    """A PostgreSQL server to create per-test databases in."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url  # postgresql+psycopg://user@host:port/dbname
        self._migrated: str | None = None

    def create_database(self, template: str | None = None) -> str:
        """A new database: empty, or a copy of ``template`` (a database of this cluster)."""
        import psycopg

        name = "lg_" + uuid.uuid4().hex[:12]
        conninfo = self.admin_url.replace("postgresql+psycopg://", "postgresql://")
        copy = f' TEMPLATE "{template}"' if template else ""
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"{copy}')
        base = self.admin_url.rsplit("/", 1)[0]
        return f"{base}/{name}"

    def create_migrated_database(self) -> str:
        """A new database at the newest schema: a copy of one migrated once per session."""
        if self._migrated is None:
            from leptoguide.store.db import Database

            url = self.create_database()
            Database(url).dispose()
            self._migrated = url.rsplit("/", 1)[1]
        return self.create_database(template=self._migrated)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    pgbin = _pg_bin()
    if pgbin is None:
        url = os.environ.get("LEPTOGUIDE_TEST_PG_URL")
        if not url:
            pytest.skip(
                "PostgreSQL tests skipped: no /usr/lib/postgresql/*/bin (run .ci/system-packages.sh) "
                "and LEPTOGUIDE_TEST_PG_URL is not set"
            )
        yield PgCluster(url)
        return
    root = _pg_root()
    as_postgres: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
        as_postgres = ["runuser", "-u", "postgres", "--"]
    data, logfile, port = root / "data", root / "log", free_port()
    try:
        subprocess.run(
            [*as_postgres, str(pgbin / "initdb"), "-D", str(data), "-U", "postgres",
             "--auth=trust", "-E", "UTF8", "--no-sync"],
            check=True, capture_output=True,
        )  # fmt: skip
        opts = (
            f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c max_connections=200"
            " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            " -c wal_level=minimal -c max_wal_senders=0"
        )
        subprocess.run(
            [*as_postgres, str(pgbin / "pg_ctl"), "-D", str(data), "-l", str(logfile), "-o", opts,
             "-w", "start"],
            check=True, capture_output=True,
        )  # fmt: skip
    except subprocess.CalledProcessError as exc:
        shutil.rmtree(root, ignore_errors=True)
        pytest.skip(f"PostgreSQL tests skipped: cannot start a throwaway cluster: {exc.stderr!r}")
    try:
        yield PgCluster(f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres")
    finally:
        subprocess.run(
            [*as_postgres, str(pgbin / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
            capture_output=True,
        )  # fmt: skip
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def pg_url(pg_cluster: PgCluster) -> str:
    """A fresh, empty PostgreSQL database."""
    return pg_cluster.create_database()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database URL: SQLite file, then PostgreSQL (parametrised)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.sqlite3'}"
    cluster: PgCluster = request.getfixturevalue("pg_cluster")
    return cluster.create_database()


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database file migrated to the newest schema once per session (read only: copy it)."""
    from leptoguide.store.db import Database

    path = tmp_path_factory.mktemp("migrated") / "template.sqlite3"
    Database(f"sqlite:///{path}").dispose()
    with closing(sqlite3.connect(path)) as conn:  # fold the write-ahead log into the one file
        conn.execute("PRAGMA journal_mode=DELETE")
    path.chmod(0o444)
    return path


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def migrated_db_url(request: pytest.FixtureRequest, tmp_path: Path, migrated_sqlite: Path) -> str:
    """A fresh database at the newest schema, as the service leaves one on its first start:
    SQLite, then PostgreSQL (parametrised).

    For tests of the service, not of the schema: it is a copy of a database migrated once per
    session (the service's own migration step still runs on it and finds nothing to do), which
    saves a migration run per test. Tests of migrations and of the store use ``db_url``.
    """
    if request.param == "sqlite":
        target = tmp_path / "test.sqlite3"
        shutil.copyfile(migrated_sqlite, target)
        return f"sqlite:///{target}"
    cluster: PgCluster = request.getfixturevalue("pg_cluster")
    return cluster.create_migrated_database()


# ---- Knowledge fixtures: one per meaning ---------------------------------------------------------
# shipped_kb       the knowledge base as shipped (src/leptoguide/data), loaded once per session
# shipped_kb_dir   the shipped knowledge directory, for commands that take one (LEPTOGUIDE_KB)
# kb_copy          a private, writable copy of the shipped knowledge directory (one per test)
# intake_kb        a minimal knowledge base for reader tests: the fixture concepts in
#                  tests/intake/fixtures/kb plus the shipped unit groups
# qa_kb            the small question-answering knowledge base in tests/fixtures/qa_kb
# The session-wide ones are shared by many modules: never change them in a test (use kb_copy).

QA_KB_DIR = Path(__file__).parent / "fixtures" / "qa_kb"
INTAKE_KB_DIR = Path(__file__).parent / "intake" / "fixtures" / "kb"


@pytest.fixture(scope="session")
def shipped_kb() -> KnowledgeBase:
    """The knowledge base as shipped, loaded once per session (read only)."""
    return load_knowledge(check_readability=False)


@pytest.fixture(scope="session")
def shipped_kb_dir() -> Path:
    """The shipped knowledge directory (read only: a test that changes files uses ``kb_copy``)."""
    return default_data_dir()


@pytest.fixture
def kb_copy(tmp_path: Path) -> Path:
    """A private, writable copy of the shipped knowledge directory."""
    target = tmp_path / "kb"
    shutil.copytree(default_data_dir(), target)
    return target


@pytest.fixture(scope="session")
def intake_kb(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    """A minimal knowledge base for reader tests: fixture concepts plus the shipped unit groups."""
    root = tmp_path_factory.mktemp("intake-kb")
    shutil.copytree(INTAKE_KB_DIR, root, dirs_exist_ok=True)
    shutil.copy(default_data_dir() / "terminology" / "units.yaml", root / "terminology")
    return load_knowledge(root, check_readability=False)


@pytest.fixture(scope="session")
def qa_kb() -> KnowledgeBase:
    """The small question-answering knowledge base in tests/fixtures/qa_kb (read only)."""
    return load_knowledge(QA_KB_DIR)


@pytest.fixture(scope="module")
def shipped_policy(shipped_kb: KnowledgeBase) -> Policy:
    """The shipped site policy over the shipped knowledge base."""
    from leptoguide.policy import load_policy

    return load_policy(shipped_kb)


@pytest.fixture(scope="module")
def shipped_qa(shipped_kb: KnowledgeBase, shipped_policy: Policy) -> QA:
    """Question answering over the shipped knowledge base as the CLI runs it without a model:
    lexical retrieval, no language model, nothing stored or persisted."""
    from leptoguide.answer import QA, Options

    return QA(
        shipped_kb,
        Options(dense=False, use_llm=False, persist=False, use_store=False),
        policy=shipped_policy,
    )


@pytest.fixture
def api_client(migrated_db_url: str) -> Iterator[TestClient]:
    """The service in process on a fresh database (SQLite, then PostgreSQL)."""
    from fastapi.testclient import TestClient

    from leptoguide.api.app import create_app
    from leptoguide.settings import Settings

    app = create_app(Settings.from_env(database_url=migrated_db_url))
    with TestClient(app) as c:
        yield c
    app.state.leptoguide.db.dispose()


# ---- One real server for the black-box CDS Hooks modules ------------------------------------------
# The CDS Hooks conformance, EHR black-box and end-to-end modules each started a ``leptoguide serve``
# process of their own with the same settings (a trusted ES384 issuer, a SQLite database): about
# 2 s of CPU and several seconds of waiting each. They now share one per test process, and the
# scheduler below hands the three modules to one worker together, so it starts once a run. The
# conformance module's second server (system actions on) and the scale-out servers stay their own.
SHARED_SERVER_MODULES = (
    "tests/test_cds_conformance.py",
    "tests/test_ehr_blackbox.py",
    "tests/test_server_e2e.py",
)


@dataclass
class CdsServer:
    """The shared server, the EHR key it trusts (issuer ``cdsutil.ISSUER``; ``jku`` allow-listed
    at the FHIR test server's ``/jwks.json``), and that FHIR test server (the end-to-end module's
    chart: the low-platelet LP and the intrathecal flow-block patients)."""

    server: ServerProcess
    key: EhrKey
    fhir: FhirTestServer


@pytest.fixture(scope="session")
def cds_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CdsServer]:
    """The real ``leptoguide serve`` (subprocess, loopback) shared by the black-box CDS Hooks
    modules: JWT-authenticated CDS Hooks, a SQLite database of its own, production settings."""
    from cdsutil import EhrKey, write_issuers
    from service_cases import it_mtx_flow_block, lp_low_platelets
    from service_fhir_server import FhirTestServer
    from service_server import ServerProcess

    home = tmp_path_factory.mktemp("cds-server")
    key = EhrKey("ES384")
    chart, _ = lp_low_platelets()
    chart2, _ = it_mtx_flow_block()
    with FhirTestServer(chart + chart2, jwks=key.jwks) as fhir:
        issuers = write_issuers(home / "cfg", key, jku=[fhir.url + "/jwks.json"])
        db = f"sqlite:///{home / 'cds.sqlite3'}"
        with ServerProcess(home, db, "--trusted-issuers", str(issuers)) as server:
            yield CdsServer(server, key, fhir)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``--dist loadscope`` with the shared-server modules as one unit of work (one worker runs
    all three, one after another, so their server starts once); every other module is its own
    unit, as before."""
    if config.getoption("dist", None) != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling  # type: ignore[import-untyped]

    class SharedServerScheduling(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            if nodeid.startswith(SHARED_SERVER_MODULES):
                return "shared-cds-server"
            return str(super()._split_scope(nodeid))

    return SharedServerScheduling(config, log)


# Sweeps: tests that run code the other tests cover over many inputs (every scenario chart in every
# renderer, a spread of gold questions, every example field with fuzzed values, every public page,
# fuzzed CDS Hooks requests and uploads, the CSF scoring grid). They run without the coverage
# tracer (pytest-cov's ``no_cover``): under it, on Python 3.11, they cost 1.6 to 10 times their
# plain run time, and the lines only they reach are a few tenths of a point of coverage
# (docs/benchmarks.md, "Test suite"). What they check is unchanged.
COVERAGE_FREE_SWEEPS = (
    "tests/test_process_words_output.py::test_answers_carry_no_process_words",
    "tests/test_process_words_output.py::test_findings_of_every_scenario_chart",
    "tests/redteam/test_redteam_integrity.py::test_answer_citations_resolve",
    "tests/redteam/test_redteam_input.py::test_every_field_with_",
    "tests/engine/test_alert_budget.py::test_alert_budget_on_every_chart_set",
    "tests/engine/test_assess.py::test_every_scenario_output_matches_the_schema",
    "tests/engine/test_rule_templates.py::test_every_template_renders_against_every_chart",
    "tests/test_answer_eval.py::test_eval_meets_targets",
    "tests/web/test_process_words_pages.py::test_public_pages_carry_no_process_words",
    "tests/redteam/test_redteam_api.py::test_cds_garbage_anywhere_never_500",
    "tests/redteam/test_redteam_api.py::test_assess_random_bytes_never_500",
    "tests/engine/test_computations.py::test_csf_bands_are_the_scoring",
)


def pytest_configure(config: pytest.Config) -> None:
    """Collect cyclic garbage less often in the test process (every 10,000 new objects instead of
    700, and older generations after 20 younger collections instead of 10).

    A test process holds far more than a product process: the package, pytest, coverage, several
    knowledge bases and every report. With the interpreter's defaults it ran about 40 full
    collections in the answer and process-word modules alone, each walking all of it (about 15% of
    their CPU time); with these, one. Objects are still freed as before (reference counting),
    and cycles are still collected."""
    gc.set_threshold(10_000, 20, 20)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Modules that start a browser, a server or Spark run first (order within a module kept);
    the sweeps above run without the coverage tracer.

    With two workers (``make test``) whole modules go to one worker each; starting the long ones
    first keeps both workers busy to the end instead of leaving one on a late, slow module.
    """
    for item in items:
        if item.nodeid.startswith(COVERAGE_FREE_SWEEPS):
            item.add_marker(pytest.mark.no_cover)

    def slow(item: pytest.Item) -> bool:
        return bool(
            item.get_closest_marker("browser")
            or item.get_closest_marker("server")
            or "spark_session" in getattr(item, "fixturenames", ())
        )

    slow_files = {item.nodeid.split("::")[0] for item in items if slow(item)}
    items.sort(key=lambda item: item.nodeid.split("::")[0] not in slow_files)
