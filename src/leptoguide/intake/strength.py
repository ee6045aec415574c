"""The dose a product name implies, when an order gives the product and no dose quantity.

RxNorm names clinical and branded drugs in a fixed shape ("0.4 ML enoxaparin sodium 100 MG/ML
Prefilled Syringe", "apixaban 5 MG Oral Tablet [Eliquis]", "{74 (apixaban 5 MG Oral Tablet) }
Pack"); an order text names a strength more loosely ("enoxaparin 40 mg/0.4 mL syringe",
"Lovenox 40 mg SC"). One unit of a product is taken as the dose only when that is unambiguous:
one ingredient, one strength, a whole amount per unit (not a concentration) and a unit-dose form
(a tablet, a capsule, a prefilled syringe: the ``unit-dose-form`` lexicon). A vial, a bag or a
solution holds an amount, not a dose; a pack of several strengths or a combination product has no
single strength. Those give a reason instead of a dose, so the reader says "dose unknown".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from leptoguide.intake.terminology import normalize_text

_NUM = r"\d+(?:\.\d+)?"
_MASS = {"mg": "mg", "g": "g", "gm": "g", "mcg": "ug", "ug": "ug", "µg": "ug"}
_RX_UNITS = {"MG": "mg", "MCG": "ug", "G": "g", "UNT": "U", "MEQ": "meq", "MMOL": "mmol"}
_PACK = re.compile(r"^\{(?P<items>.+)\}\s*Pack(?:\s*\[[^\]]*\])?$")
_PACK_ITEM = re.compile(r"(?P<n>\d+)\s*\((?P<item>[^()]+)\)")
_RX = re.compile(
    rf"^(?:(?P<vol>{_NUM}) (?P<volunit>ML|HR|ACTUAT|L) )?(?P<ing>.+?) (?P<amt>{_NUM}) "
    r"(?P<unit>MG|MCG|G|UNT|MEQ|MMOL)(?:/(?P<per>ML|HR|ACTUAT|L|MG))? (?P<form>[A-Za-z][^\[]*?)"
    r"(?:\s*\[(?P<brand>[^\]]+)\])?$"
)
_TEXT_MASS = re.compile(
    rf"(?P<amt>{_NUM})\s*(?P<unit>mg|gm|g|mcg|ug|µg)\b"
    rf"(?:\s*(?:/|per|in)\s*(?P<pernum>{_NUM})?\s*(?P<per>ml|l|kg|m2|h|hr|hour|day|d|dose)\b)?",
    re.I,
)


@dataclass(frozen=True)
class ProductDose:
    """What one unit of a product holds: a dose (``amount``/``unit``) or why there is none."""

    amount: float | None
    unit: str | None
    why: str
    """'one prefilled syringe of ...' when a dose was found; otherwise the reason there is none."""


def _unit_dose_form(form: str, unit_forms: tuple[tuple[str, ...], ...]) -> str | None:
    """The unit-dose form a dose form name ends with ('prefilled syringe'), else None."""
    words = tuple(normalize_text(form).split())
    for t in sorted(unit_forms, key=len, reverse=True):
        if len(words) >= len(t) and words[-len(t) :] == t:
            return " ".join(t)
    return None


def rxnorm_dose(name: str, unit_forms: tuple[tuple[str, ...], ...]) -> ProductDose | None:
    """The dose of one unit of an RxNorm-named product, or None when ``name`` is not in the
    RxNorm clinical/branded drug shape."""
    name = " ".join(name.split())
    pack = _PACK.match(name)
    if pack:
        items = {m.group("item").strip() for m in _PACK_ITEM.finditer(pack.group("items"))}
        if len(items) != 1:
            return ProductDose(None, None, f"'{name}' is a pack of several products")
        inner = rxnorm_dose(items.pop(), unit_forms)
        return inner or ProductDose(None, None, f"no strength in '{name}'")
    m = _RX.match(name)
    if not m:
        return None
    if " / " in m.group("ing") or " / " in m.group("form"):
        return ProductDose(None, None, f"'{name}' combines several ingredients")
    amount = float(m.group("amt"))
    unit = _RX_UNITS[m.group("unit")]
    per, vol, volunit = m.group("per"), m.group("vol"), m.group("volunit")
    if per == "ML":
        if vol is None or volunit != "ML":
            return ProductDose(
                None, None, f"'{name}' gives a concentration, not an amount per unit"
            )
        amount = amount * float(vol)
    elif per is not None:
        return ProductDose(None, None, f"'{name}' gives a rate, not an amount per unit")
    form = m.group("form").strip()
    unit_form = _unit_dose_form(form, unit_forms)
    if unit_form is None:
        return ProductDose(
            None,
            None,
            f"'{name}' holds {amount:g} {unit} in one container, which need not be one dose",
        )
    return ProductDose(round(amount, 6), unit, f"one {unit_form} of '{name}'")


def text_dose(text: str, unit_forms: tuple[tuple[str, ...], ...] = ()) -> ProductDose | None:
    """The one mass strength an order text names ('Lovenox 40 mg SC daily'), or None.

    A strength per millilitre, per kg, per m2 or per unit of time is not a dose; an amount in a
    volume ('40 mg/0.4 mL') is one only for a unit-dose form named in the text (a syringe), not
    for a vial or bag; two different strengths are ambiguous."""
    words = f" {normalize_text(text)} "
    unit_dose = any(f" {' '.join(t)} " in words for t in unit_forms)
    doses: set[tuple[float, str]] = set()
    for m in _TEXT_MASS.finditer(text):
        per = (m.group("per") or "").lower()
        if per and not (per in ("ml", "l") and m.group("pernum")) and per != "dose":
            continue
        if per in ("ml", "l") and not unit_dose:
            return ProductDose(
                None, None, f"'{text}' gives an amount per container, which need not be one dose"
            )
        doses.add((float(m.group("amt")), _MASS[m.group("unit").lower()]))
    if len(doses) == 1:
        amount, unit = doses.pop()
        return ProductDose(amount, unit, f"the strength named in '{text}'")
    if len(doses) > 1:
        return ProductDose(None, None, f"'{text}' names several strengths")
    return None
