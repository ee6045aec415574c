"""Rule text templates: Jinja2 in a sandbox over facts, policy and regimens.

Templates call ``v('fact')`` (value or ``unknown``), ``fv('fact')`` (the whole fact), ``policy('id')``,
``regimen('id')``, ``dose('id')``, ``statement('id')`` and ``schedule('id')``. Undefined names are
errors (StrictUndefined) that never crash an assessment: the text becomes "unknown" and the problem
is reported as a warning.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from functools import cache

from jinja2 import StrictUndefined, Template, TemplateError
from jinja2.sandbox import SandboxedEnvironment


class Unknown:
    """A missing value inside a template: prints 'unknown', compares false, is falsy."""

    def __str__(self) -> str:
        return "unknown"

    def __bool__(self) -> bool:
        return False

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Unknown)

    def __hash__(self) -> int:
        return 0

    def __lt__(self, other: object) -> bool:
        return False

    __le__ = __gt__ = __ge__ = __lt__

    def __iter__(self) -> Iterator[object]:
        return iter(())

    def __getattr__(self, name: str) -> Unknown:
        return self

    def __getitem__(self, key: object) -> Unknown:
        return self


UNKNOWN = Unknown()


@cache
def environment() -> SandboxedEnvironment:
    env = SandboxedEnvironment(
        undefined=StrictUndefined, autoescape=False, trim_blocks=True, lstrip_blocks=True
    )

    def fmt(value: object, digits: int = 1) -> str:
        if isinstance(value, Unknown) or value is None:
            return "unknown"
        if isinstance(value, float):
            return f"{value:.{digits}f}".rstrip("0").rstrip(".")
        return str(value)

    env.filters["num"] = fmt
    return env


@cache
def _compiled(source: str) -> Template:
    return environment().from_string(source)


TemplateContext = Mapping[str, Callable[..., object]]
"""What templates call: ``v``, ``fv``, ``policy``, ``regimen``, ``dose``, ``statement``."""


def render(source: str, context: TemplateContext) -> tuple[str, str | None]:
    """(text, error). On any template error the text is 'unknown' and error says why."""
    if "{" not in source:  # plain text: no expression, statement or comment to render
        return source.strip(), None
    try:
        return _compiled(source).render(**context).strip(), None
    except TemplateError as exc:
        return "unknown", f"{type(exc).__name__}: {exc}"
    except Exception as exc:  # a template must never crash an assessment
        return "unknown", f"{type(exc).__name__}: {exc}"
