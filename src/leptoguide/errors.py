"""Errors the core raises. Faces (CLI, HTTP, web) translate them; the core never prints or exits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal


class LeptoGuideError(Exception):
    """Base class for every error the core reports to a user."""


@dataclass(frozen=True)
class Problem:
    """One precise problem: where (file, record or resource, field) and why."""

    where: str
    field: str | None
    message: str

    def __str__(self) -> str:
        loc = self.where + (f" field '{self.field}'" if self.field else "")
        return f"{loc}: {self.message}"


class KnowledgeError(LeptoGuideError):
    """The knowledge base (or a policy file) is invalid."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        head = str(problems[0]) if problems else "invalid knowledge base"
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(head + more)


class InputError(LeptoGuideError):
    """Invalid user input: a case file, FHIR bundle, question or option that can be read but holds
    a wrong or missing value. Faces answer HTTP 422 and CLI exit 2.

    ``where`` and ``field`` name the input and the field (``audience``, ``at``), never a command-line
    flag: the core does not know which face it serves.
    """

    kind: ClassVar[Literal["malformed", "invalid"]] = "invalid"

    def __init__(self, where: str, message: str, field: str | None = None) -> None:
        self.problem = Problem(where, field, message)
        super().__init__(str(self.problem))


class MalformedInputError(InputError):
    """Input that cannot be read at all: empty, not UTF-8 text, not JSON or YAML, not a JSON
    object where a resource must be. Faces answer HTTP 400 and CLI exit 2."""

    kind: ClassVar[Literal["malformed", "invalid"]] = "malformed"
