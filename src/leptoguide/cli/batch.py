"""``leptoguide batch EXPORT_DIR --out OUT_DIR``: audits and cohorts over a FHIR Bulk export, and
``leptoguide batch-synth``: a seeded synthetic export for trials and benchmarks."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer


def _date(value: str | None, option: str, *, end: bool = False) -> dt.datetime | None:
    from leptoguide.errors import InputError

    if value is None:
        return None
    try:
        if len(value) == 10:
            day = dt.date.fromisoformat(value)
            t = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
            return t + dt.timedelta(days=1) if end else t
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(option, f"not an ISO 8601 date or date-time: {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def register(app: typer.Typer) -> None:
    @app.command()
    def batch(
        export_dir: Annotated[
            str,
            typer.Argument(help="FHIR Bulk Data export directory (or an s3a:// URL with Spark)."),
        ],
        out: Annotated[Path, typer.Option("--out", help="Output directory.")],
        engine: Annotated[str, typer.Option("--engine", help="duckdb or spark.")] = "duckdb",
        audit: Annotated[
            list[str] | None,
            typer.Option("--audit", help="Audit to run (repeatable); default: all audits."),
        ] = None,
        cohort: Annotated[
            list[str] | None, typer.Option("--cohort", help="Cohort to find (repeatable).")
        ] = None,
        policy: Annotated[
            Path | None, typer.Option("--policy", help="Site policy YAML (default: built-in).")
        ] = None,
        date_from: Annotated[
            str | None, typer.Option("--from", help="First day of events (ISO 8601).")
        ] = None,
        date_to: Annotated[
            str | None, typer.Option("--to", help="Last day of events, inclusive (ISO 8601).")
        ] = None,
        at: Annotated[
            str | None,
            typer.Option("--at", help="Time cohorts are judged at (default: --to, else now)."),
        ] = None,
        charts: Annotated[
            int, typer.Option("--charts", help="Charts of flagged patients to write (0: none).")
        ] = 200,
        quiet: Annotated[bool, typer.Option("--quiet", help="No progress display.")] = False,
    ) -> None:
        """Run audits and cohorts over a whole export; write findings, summary and report."""
        from rich.console import Console

        from leptoguide.batch.engine import make_engine
        from leptoguide.batch.report import write_report
        from leptoguide.batch.run import Options, run, write_charts, write_outputs
        from leptoguide.knowledge.loader import get_knowledge
        from leptoguide.policy import load_policy

        start = _date(date_from, "--from")
        end = _date(date_to, "--to", end=True)
        when = _date(at, "--at") or end
        kb = get_knowledge()
        pol = load_policy(kb, policy)
        console = Console(stderr=True, quiet=quiet)
        opts = Options(
            export_dir, out, list(audit or []), list(cohort or []), start, end, when, charts
        )
        eng = make_engine(engine)
        try:
            with console.status("reading the export", spinner="dots") as status:

                def step(name: str) -> None:
                    status.update(name)
                    console.log(name)

                result = run(eng, kb, pol, opts, step)
                status.update("writing outputs")
                write_outputs(result, out, eng)
                if charts:
                    write_charts(result, out, eng, kb, charts)
                write_report(result, out)
        finally:
            eng.close()
        counts = ", ".join(f"{k} {v}" for k, v in result.summary["findings_per_rule"].items())
        typer.echo(
            f"{result.summary['findings']} findings ({counts}); bad lines "
            f"{result.summary['bad_lines']}; written to {out}"
        )

    @app.command("batch-synth")
    def batch_synth(
        out: Annotated[Path, typer.Argument(help="Directory to write the export into.")],
        patients: Annotated[int, typer.Option("--patients", help="Number of patients.")] = 1000,
        seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 16,
        gz: Annotated[bool, typer.Option("--gzip", help="Write .ndjson.gz.")] = False,
        bad_every: Annotated[
            int, typer.Option("--bad-every", help="Break every Nth line (0: none).")
        ] = 0,
    ) -> None:
        """Write a seeded synthetic Bulk export (mixed units, stale and erroneous results)."""
        from leptoguide.batch.synth import write_export

        stats = write_export(out, patients=patients, seed=seed, gz=gz, bad_every=bad_every)
        lines = ", ".join(f"{k} {v}" for k, v in stats.lines.items())
        typer.echo(f"{stats.patients} patients: {lines}; broken lines {len(stats.bad_lines)}")
