"""``leptoguide assess PATH|-``: read a FHIR bundle or case file, evaluate, render."""

from __future__ import annotations

import datetime as dt
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from leptoguide.case import Case
    from leptoguide.knowledge.loader import KnowledgeBase


class Format(StrEnum):
    json = "json"
    text = "text"
    html = "html"


class Audience(StrEnum):
    clinician = "clinician"
    patient = "patient"


def parse_at(value: str | None) -> dt.datetime:
    """ISO 8601 evaluation time (UTC if no offset); default now."""
    from leptoguide.errors import InputError

    if value is None:
        return dt.datetime.now(dt.UTC).replace(microsecond=0)
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InputError("--at", f"not an ISO 8601 date-time: {value!r}") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def read_case(path: str, kb: KnowledgeBase, patient: str | None = None) -> Case:
    """The Case from a file path or '-' (stdin), through the intake reader; ``patient`` names the
    FHIR Patient id the case is about (default: the only Patient, else the first)."""
    from leptoguide.intake import read_path

    return read_path(path, kb=kb, patient_id=patient or None)


def register(app: typer.Typer) -> None:
    @app.command()
    def assess(
        path: Annotated[
            str, typer.Argument(help="FHIR R4 bundle or case file (JSON/YAML), or '-'")
        ],
        fmt: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.text,
        at: Annotated[
            str | None, typer.Option("--at", help="Evaluation time, ISO 8601 (default: now).")
        ] = None,
        policy: Annotated[
            Path | None, typer.Option("--policy", help="Site policy YAML (default: built-in).")
        ] = None,
        audience: Annotated[
            Audience, typer.Option("--audience", help="clinician or patient wording.")
        ] = Audience.clinician,
        ics: Annotated[
            Path | None, typer.Option("--ics", help="Also write dated schedules as iCalendar.")
        ] = None,
        patient: Annotated[
            str | None,
            typer.Option(
                "--patient",
                help="FHIR Patient id (or Patient/<id>) the case is about, when the input holds "
                "several (default: the only Patient, else the first; the others' resources are "
                "left out and reported).",
            ),
        ] = None,
    ) -> None:
        """Assess a case: classification, risk group, cited findings, missing data."""
        from leptoguide.engine import assess as run
        from leptoguide.knowledge.loader import get_knowledge
        from leptoguide.policy import load_policy

        when = parse_at(at)
        kb = get_knowledge()
        pol = load_policy(kb, policy)
        case = read_case(path, kb, patient)
        data = run(case, kb=kb, policy=pol, at=when, audience=audience.value)
        if ics is not None:
            from leptoguide.render.ics import render_ics

            try:
                ics.write_bytes(render_ics(data))
            except OSError as exc:
                from leptoguide.errors import InputError

                raise InputError(
                    str(ics), f"cannot write: {exc.strerror or exc}", "--ics"
                ) from None
        if fmt is Format.json:
            from leptoguide.render.json import render_json

            sys.stdout.write(render_json(data))
        elif fmt is Format.html:
            from leptoguide.render.html import render_html

            sys.stdout.write(render_html(data, kb))
        else:
            from leptoguide.render.text import render_text

            sys.stdout.write(render_text(data, kb))
