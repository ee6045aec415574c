"""CSF profile: traumatic-tap correction, CSF:serum glucose ratio, and the pattern it resembles.

A pattern match, not a diagnosis: the scoring table ``csf-pattern`` (knowledge data, record type
``scores``) ranks bacterial, viral, tuberculous, fungal and neoplastic profiles by the typical
features the values show, and the profile lists the values that drove it. The correction ratio and
the cut-offs are site policy (cited); the points, groups and reasons are the table's.
"""

from __future__ import annotations

from leptoguide.engine.facts import Context, Facts, FactValue, missing
from leptoguide.engine.tables import overlay, score
from leptoguide.engine.types import CsfPatternScore, CsfProfile, CsfValues
from leptoguide.knowledge.models import ScoreTable
from leptoguide.policy import Policy

TABLE = "csf-pattern"
"""The id of the scoring table this computation applies."""


def profile(facts: Facts, table: ScoreTable, policy: Policy) -> CsfProfile | None:
    """The CSF profile, or None when there is no usable CSF white-cell count."""
    wbc = facts.get("csf-wbc").number
    if wbc is None:
        return None
    drivers: list[str] = []
    rbc_value = facts.get("csf-rbc").number
    corrected = wbc
    rbc = None
    if rbc_value is not None and rbc_value > 0:
        ratio_tap = float(policy.get("traumatic-tap-rbc-per-wbc"))
        corrected = max(0.0, wbc - rbc_value / ratio_tap)
        rbc = rbc_value
        drivers.append(
            f"traumatic-tap correction: WBC {wbc:g} - RBC {rbc_value:g}/{ratio_tap:g} "
            f"= {corrected:.0f} /uL"
        )
    glu_fv = facts.get("csf-glucose")
    glu, serum = glu_fv.number, facts.get("serum-glucose").number
    ratio = None
    if glu is not None and serum is not None and serum > 0:
        ratio = glu / serum
        drivers.append(f"CSF:serum glucose {glu:.1f}/{serum:.1f} = {ratio:.2f}")
    elif glu_fv.usable:
        drivers.append("serum glucose missing: CSF:serum glucose ratio unknown")
    protein = facts.get("csf-protein").number
    # the table reads the unrounded corrected count and ratio
    scored = score(
        table,
        overlay(facts, {"csf-wbc-corrected": corrected, "csf-glucose-ratio": ratio}),
        policy,
    )
    return CsfProfile(
        pattern=scored.outcome,
        differential=[
            CsfPatternScore(pattern=k, score=points, reasons=why)
            for k, points, why in scored.differential
        ],
        values=CsfValues(
            wbc=wbc,
            rbc=rbc,
            wbc_corrected=round(corrected, 1),
            glucose_ratio=round(ratio, 2) if ratio is not None else None,
            protein=protein,
            predominant=scored.sets.get("predominant"),
        ),
        drivers=drivers,
    )


def derive(ctx: Context, facts: Facts) -> None:
    result = profile(facts, ctx.kb.scores[TABLE], ctx.policy)
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
    facts.set(FactValue("csf-pattern", "ok", result.pattern, reference=ref, references=refs))
    facts.set(FactValue("csf-profile", "ok", result, reference=ref, references=refs))
    facts.set(
        FactValue(
            "csf-wbc-corrected",
            "ok",
            result.values.wbc_corrected,
            "/uL",
            reference=ref,
            references=refs,
        )
    )
    ratio = result.values.glucose_ratio
    facts.set(
        FactValue("csf-glucose-ratio", "ok", ratio, reference=ref, references=refs)
        if ratio is not None
        else missing("csf-glucose-ratio", note="CSF or serum glucose missing")
    )
