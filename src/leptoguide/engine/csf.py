"""CSF profile: traumatic-tap correction, CSF:serum glucose ratio, and the pattern it resembles.

A pattern match, not a diagnosis: it ranks bacterial, viral, tuberculous, fungal and neoplastic
profiles (brief section 8.1) by how many typical features the values show, and lists the values that
drove it. Cut-offs are policy parameters (cited), not constants here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from leptoguide.engine.facts import Context, Facts, FactValue, missing

PATTERNS = ("bacterial", "tuberculous", "fungal", "viral", "neoplastic")
PREDOMINANCE_PCT = 50.0
"""A differential count at or above this share (%) makes that cell type predominant."""


def profile(facts: Facts, p: dict[str, float]) -> dict[str, Any] | None:
    """The CSF profile, or None when there is no usable CSF white-cell count."""
    wbc_fv = facts.get("csf-wbc")
    if not wbc_fv.usable:
        return None
    values: dict[str, Any] = {"wbc": wbc_fv.value}
    drivers: list[str] = []
    wbc = float(wbc_fv.value)
    rbc_fv = facts.get("csf-rbc")
    corrected = wbc
    if rbc_fv.usable and rbc_fv.value > 0:
        ratio_tap = p["traumatic-tap-rbc-per-wbc"]
        corrected = max(0.0, wbc - rbc_fv.value / ratio_tap)
        values["rbc"] = rbc_fv.value
        drivers.append(
            f"traumatic-tap correction: WBC {wbc:g} - RBC {rbc_fv.value:g}/{ratio_tap:g} "
            f"= {corrected:.0f} /uL"
        )
    values["wbc_corrected"] = round(corrected, 1)
    glu, serum = facts.get("csf-glucose"), facts.get("serum-glucose")
    ratio = None
    if glu.usable and serum.usable and serum.value > 0:
        ratio = glu.value / serum.value
        values["glucose_ratio"] = round(ratio, 2)
        drivers.append(f"CSF:serum glucose {glu.value:.1f}/{serum.value:.1f} = {ratio:.2f}")
    elif glu.usable:
        drivers.append("serum glucose missing: CSF:serum glucose ratio unknown")
    prot = facts.get("csf-protein")
    protein = float(prot.value) if prot.usable else None
    if protein is not None:
        values["protein"] = protein
    neut = facts.get("csf-neutrophils-pct")
    lymph = facts.get("csf-lymphocytes-pct")
    predominant = None
    if neut.usable:
        predominant = "neutrophils" if neut.value >= PREDOMINANCE_PCT else "lymphocytes"
    elif lymph.usable:
        predominant = "lymphocytes" if lymph.value >= PREDOMINANCE_PCT else "neutrophils"
    if predominant:
        values["predominant"] = predominant
    cyto = facts.get("csf-cytology")
    gram = facts.get("csf-gram-stain")
    culture = facts.get("csf-culture")
    cancer = bool(facts.value("known-cancer"))

    score = dict.fromkeys(PATTERNS, 0)
    why: dict[str, list[str]] = {k: [] for k in PATTERNS}

    def add(pattern: str, points: int, reason: str) -> None:
        score[pattern] += points
        why[pattern].append(reason)

    pleo = corrected > p["csf-wbc-normal-max"]
    if corrected >= p["csf-wbc-bacterial-min"]:
        add("bacterial", 1, f"WBC {corrected:.0f} /uL >= {p['csf-wbc-bacterial-min']:g}")
    elif pleo:
        for k in ("viral", "tuberculous", "fungal", "neoplastic"):
            add(k, 1, f"WBC {corrected:.0f} /uL: moderate pleocytosis")
    if predominant == "neutrophils":
        add("bacterial", 1, "neutrophil predominance")
    elif predominant == "lymphocytes":
        for k in ("viral", "tuberculous", "fungal", "neoplastic"):
            add(k, 1, "lymphocyte predominance")
    if ratio is not None:
        if ratio < p["csf-glucose-ratio-very-low"]:
            add(
                "tuberculous", 2, f"glucose ratio {ratio:.2f} < {p['csf-glucose-ratio-very-low']:g}"
            )
            add("bacterial", 1, f"glucose ratio {ratio:.2f} very low")
            add("fungal", 1, f"glucose ratio {ratio:.2f} low")
        elif ratio < p["csf-glucose-ratio-low"]:
            for k in ("bacterial", "tuberculous", "fungal"):
                add(k, 1, f"glucose ratio {ratio:.2f} < {p['csf-glucose-ratio-low']:g}")
        else:
            add("viral", 1, f"glucose ratio {ratio:.2f} not low")
    if protein is not None:
        if protein > p["csf-protein-high"]:
            for k in ("bacterial", "tuberculous", "fungal", "neoplastic"):
                add(k, 1, f"protein {protein:g} g/L > {p['csf-protein-high']:g}")
        else:
            add("viral", 1, f"protein {protein:g} g/L not markedly raised")
    if cancer and pleo and corrected < p["csf-wbc-bacterial-min"]:
        add("neoplastic", 1, "known cancer with low-grade pleocytosis")
    if cyto.usable and cyto.value == "positive":
        add("neoplastic", 5, "cytology positive for tumour cells")
    for fv, label in ((gram, "Gram stain"), (culture, "CSF culture")):
        if fv.usable and str(fv.value).lower() not in ("negative", "no growth", "none"):
            add("bacterial", 5, f"{label}: {fv.value}")

    normal = (
        not pleo
        and (protein is None or protein <= p["csf-protein-high"])
        and (ratio is None or ratio >= p["csf-glucose-ratio-low"])
        and max(score.values()) < 5
    )
    ranked = sorted(PATTERNS, key=lambda k: (-score[k], PATTERNS.index(k)))
    differential = [
        {"pattern": k, "score": score[k], "reasons": why[k]} for k in ranked if score[k] >= 2
    ]
    if normal:
        pattern = "normal"
    elif differential:
        pattern = str(differential[0]["pattern"])
        if len(differential) > 1 and differential[1]["score"] == differential[0]["score"]:
            pattern = "indeterminate"
    else:
        pattern = "indeterminate"
    return {
        "pattern": pattern,
        "differential": differential,
        "values": values,
        "drivers": drivers,
    }


def derive(ctx: Context, facts: Facts) -> None:
    names = (
        "traumatic-tap-rbc-per-wbc",
        "csf-wbc-normal-max",
        "csf-wbc-bacterial-min",
        "csf-glucose-ratio-low",
        "csf-glucose-ratio-very-low",
        "csf-protein-high",
    )
    params = {n: float(ctx.policy.get(n)) for n in names}
    result = profile(facts, params)
    refs = tuple(
        r
        for fid in ("csf-wbc", "csf-rbc", "csf-glucose", "serum-glucose", "csf-protein")
        for r in facts.get(fid).references
    )
    if result is None:
        for fid in ("csf-pattern", "csf-wbc-corrected", "csf-glucose-ratio", "csf-profile"):
            facts.set(missing(fid, note="no usable CSF white-cell count"))
        return
    ref = refs[0] if refs else None
    facts.set(FactValue("csf-pattern", "ok", result["pattern"], reference=ref, references=refs))
    facts.set(FactValue("csf-profile", "ok", result, reference=ref, references=refs))
    facts.set(
        FactValue(
            "csf-wbc-corrected",
            "ok",
            result["values"]["wbc_corrected"],
            "/uL",
            reference=ref,
            references=refs,
        )
    )
    ratio = result["values"].get("glucose_ratio")
    facts.set(
        FactValue("csf-glucose-ratio", "ok", ratio, reference=ref, references=refs)
        if ratio is not None
        else missing("csf-glucose-ratio", note="CSF or serum glucose missing")
    )


# --- the patterns as bands (what a picture draws) ------------------------------------------------

PARAMETERS = (
    "traumatic-tap-rbc-per-wbc",
    "csf-wbc-normal-max",
    "csf-wbc-bacterial-min",
    "csf-glucose-ratio-low",
    "csf-glucose-ratio-very-low",
    "csf-protein-high",
)
"""The policy values the scoring reads."""


@dataclass(frozen=True)
class Band:
    """Where a measure scores a point (or more) for a pattern: ``low``/``high`` bounds (None =
    open), whether each bound is included, and the policy values that set them."""

    pattern: str
    measure: str
    low: float | None
    high: float | None
    low_inclusive: bool
    high_inclusive: bool
    points: int
    bounds: tuple[str, ...]

    def contains(self, value: float) -> bool:
        if self.low is not None and (
            value < self.low or (value == self.low and not self.low_inclusive)
        ):
            return False
        return not (
            self.high is not None
            and (value > self.high or (value == self.high and not self.high_inclusive))
        )


MEASURES = (
    "csf-wbc-corrected",
    "csf-neutrophils-pct",
    "csf-lymphocytes-pct",
    "csf-glucose-ratio",
    "csf-protein",
)
"""The fact each band is about, in the order a picture shows them."""


def pattern_bands(p: Mapping[str, float]) -> list[Band]:
    """The ranges in which :func:`profile` gives each pattern points, from the same policy values.

    The neoplastic pattern has no glucose band (the scoring does not use glucose for it), and
    positive cytology, Gram stain or culture, which outweigh every band, are not ranges.
    """
    normal, bact = p["csf-wbc-normal-max"], p["csf-wbc-bacterial-min"]
    low, very_low, high = (
        p["csf-glucose-ratio-low"],
        p["csf-glucose-ratio-very-low"],
        p["csf-protein-high"],
    )
    cut = PREDOMINANCE_PCT
    lymphocytic = ("viral", "tuberculous", "fungal", "neoplastic")
    out = [
        Band(
            "bacterial", "csf-wbc-corrected", bact, None, True, False, 1, ("csf-wbc-bacterial-min",)
        ),
        Band("bacterial", "csf-neutrophils-pct", cut, None, True, False, 1, ()),
        Band("bacterial", "csf-lymphocytes-pct", None, cut, False, False, 1, ()),
        Band(
            "bacterial", "csf-glucose-ratio", None, low, False, False, 1, ("csf-glucose-ratio-low",)
        ),
        Band("bacterial", "csf-protein", high, None, False, False, 1, ("csf-protein-high",)),
    ]
    for k in lymphocytic:
        out += [
            Band(
                k,
                "csf-wbc-corrected",
                normal,
                bact,
                False,
                False,
                1,
                ("csf-wbc-normal-max", "csf-wbc-bacterial-min"),
            ),
            Band(k, "csf-neutrophils-pct", None, cut, False, False, 1, ()),
            Band(k, "csf-lymphocytes-pct", cut, None, True, False, 1, ()),
        ]
    out += [
        Band(
            "tuberculous",
            "csf-glucose-ratio",
            None,
            very_low,
            False,
            False,
            2,
            ("csf-glucose-ratio-very-low",),
        ),
        Band(
            "tuberculous",
            "csf-glucose-ratio",
            very_low,
            low,
            True,
            False,
            1,
            ("csf-glucose-ratio-very-low", "csf-glucose-ratio-low"),
        ),
        Band("fungal", "csf-glucose-ratio", None, low, False, False, 1, ("csf-glucose-ratio-low",)),
        Band("viral", "csf-glucose-ratio", low, None, True, False, 1, ("csf-glucose-ratio-low",)),
        Band("viral", "csf-protein", None, high, False, True, 1, ("csf-protein-high",)),
    ]
    out += [
        Band(k, "csf-protein", high, None, False, False, 1, ("csf-protein-high",))
        for k in ("tuberculous", "fungal", "neoplastic")
    ]
    return out
