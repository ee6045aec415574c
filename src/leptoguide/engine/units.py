"""Unit normalisation for the few quantities rules compare (UCUM-style spellings).

Conversion factors here are chemistry and arithmetic, not clinical thresholds. A unit we do not
know is never guessed: the value becomes ``unparseable`` and the assessment says so.
"""

from __future__ import annotations

# canonical unit -> {accepted spelling (normalised): factor to canonical}
_GLUCOSE_MG_DL_PER_MMOL_L = 18.016

_TABLE: dict[str, dict[str, float]] = {
    "10*9/L": {
        "10*9/l": 1.0,
        "x10*9/l": 1.0,
        "10^9/l": 1.0,
        "x10^9/l": 1.0,
        "g/l": 1.0,
        "10*3/ul": 1.0,
        "10^3/ul": 1.0,
        "x10^3/ul": 1.0,
        "k/ul": 1.0,
        "10*3/mm3": 1.0,
        "/ul": 0.001,
        "/mm3": 0.001,
        "cells/ul": 0.001,
        "{cells}/ul": 0.001,
        "10*6/l": 0.001,
    },
    "/uL": {
        "/ul": 1.0,
        "/mm3": 1.0,
        "cells/ul": 1.0,
        "{cells}/ul": 1.0,
        "10*6/l": 1.0,
        "10^6/l": 1.0,
        "x10^6/l": 1.0,
        "10*9/l": 1000.0,
        "10^9/l": 1000.0,
        "10*3/ul": 1000.0,
    },
    "g/L": {"g/l": 1.0, "mg/dl": 0.01, "mg/l": 0.001, "g/dl": 10.0},
    "mmol/L": {"mmol/l": 1.0, "mg/dl": 1 / _GLUCOSE_MG_DL_PER_MMOL_L},
    "cm[H2O]": {"cm[h2o]": 1.0, "cmh2o": 1.0, "cm h2o": 1.0, "mm[h2o]": 0.1, "mmh2o": 0.1},
    "kg": {"kg": 1.0, "g": 0.001, "[lb_av]": 0.45359237, "lb": 0.45359237},
    "cm": {"cm": 1.0, "m": 100.0, "mm": 0.1, "[in_i]": 2.54},
    "mL/min": {"ml/min": 1.0, "ml/min/{1.73_m2}": 1.0, "ml/min/1.73m2": 1.0},
    "%": {"%": 1.0},
    "h": {"h": 1.0, "min": 1 / 60, "d": 24.0},
}


def _norm(unit: str) -> str:
    u = unit.strip().lower().replace("µ", "u").replace("μ", "u").replace("³", "3")
    u = u.replace(" ", "") if u not in ("cm h2o",) else u
    return u.replace("×", "x").replace("e9/l", "^9/l")


def convert(value: float, unit: str | None, canonical: str | None) -> float | None:
    """``value`` in ``canonical`` units, or None if the unit is unknown for that quantity.

    A fact without a canonical unit (INR, scores) accepts unitless values and '1' / '{score}'.
    """
    if canonical is None:
        if unit is None or _norm(unit) in ("", "1", "{score}", "{ratio}", "{inr}", "inr", "%"):
            return value
        return None
    if unit is None:
        return None
    if unit == canonical:
        return value
    factors = _TABLE.get(canonical)
    if factors is None:
        return None
    key = _norm(unit)
    factor = factors.get(key)
    if factor is None and key.startswith("x"):
        factor = factors.get(key[1:])
    if factor is None:
        return None
    return value * factor
