"""EANO-ESMO classification of LM: certainty (confirmed/probable/possible/lacking evidence) and type.

Verified core (brief section 2.6): positive cytology = confirmed, type I; cancer + typical signs +
typical MRI (A/B/C) without positive cytology = probable, type II. The cells for *possible* and
*lacking evidence* are a memory-based reconstruction (statement eano-classification-possible-lacking,
draft): every reason that relies on them says so.
"""

from __future__ import annotations

from typing import Any

from leptoguide.engine.facts import Context, Facts, FactValue

MRI_LETTER = {
    "linear": "A",
    "nodular": "B",
    "linear-and-nodular": "C",
    "hydrocephalus-only": "D",
    "normal": "D",
}
UNVERIFIED = (
    "this cell of the EANO-ESMO matrix is unverified (reconstructed from memory, draft statement "
    "eano-classification-possible-lacking); check against the guideline table"
)


def classify(facts: Facts) -> dict[str, Any]:
    """Certainty, type and reasons from cytology, MRI pattern, typical signs and known cancer."""
    if not facts.value("lm-context"):
        return {
            "certainty": "not_applicable",
            "type": None,
            "reasons": ["no leptomeningeal disease is suspected or recorded in the input"],
            "unverified": False,
        }
    if facts.value("haematological-cancer-only"):
        return {
            "certainty": "not_applicable",
            "type": None,
            "reasons": [
                "EANO-ESMO criteria are for LM from solid tumours; only a haematological cancer "
                "(lymphoma or leukaemia) is recorded, so they are not applied"
            ],
            "unverified": False,
        }
    cyto = facts.get("csf-cytology")
    mri = facts.get("mri-lm-pattern")
    signs = facts.get("typical-lm-signs")
    cancer = facts.value("known-cancer")
    reasons: list[str] = []
    letter = MRI_LETTER.get(mri.value) if mri.usable else None
    if mri.usable:
        reasons.append(f"MRI pattern {mri.value} (type {letter})")
    else:
        reasons.append(f"MRI pattern {mri.status}: the subtype (A-D) cannot be set")
    if cyto.usable and cyto.value == "positive":
        reasons.append("CSF cytology positive for tumour cells: confirmed LM, type I")
        return {
            "certainty": "confirmed",
            "type": f"I{letter}" if letter else None,
            "reasons": reasons,
            "unverified": False,
        }
    cyto_desc = cyto.value if cyto.usable else f"not done or {cyto.status}"
    reasons.append(f"CSF cytology {cyto_desc}: not confirmed")
    sign_val = signs.value if signs.usable else None
    if sign_val is None:
        reasons.append(f"typical clinical signs {signs.status}")
    else:
        reasons.append("typical clinical signs " + ("present" if sign_val else "absent"))
    if not cancer:
        reasons.append("no cancer recorded (probable LM needs a known cancer)")
    if letter in ("A", "B", "C"):
        if sign_val is True and cancer:
            reasons.append("cancer + typical signs + typical MRI: probable LM, type II")
            return {
                "certainty": "probable",
                "type": f"II{letter}",
                "reasons": reasons,
                "unverified": False,
            }
        if sign_val is None:
            reasons.append(
                "at least possible; probable if typical signs are present (not recorded); "
                + UNVERIFIED
            )
        else:
            reasons.append(
                "typical MRI without the full probable combination: possible; " + UNVERIFIED
            )
        return {
            "certainty": "possible",
            "type": f"II{letter}",
            "reasons": reasons,
            "unverified": True,
        }
    if letter == "D":
        if cyto.usable and cyto.value == "equivocal" and sign_val is True:
            reasons.append(
                "equivocal cytology + typical signs + MRI type D: possible; " + UNVERIFIED
            )
            return {"certainty": "possible", "type": "IID", "reasons": reasons, "unverified": True}
        reasons.append("MRI type D without positive cytology: lacking evidence; " + UNVERIFIED)
        return {
            "certainty": "lacking_evidence",
            "type": "IID",
            "reasons": reasons,
            "unverified": True,
        }
    reasons.append("without MRI and positive cytology the evidence is lacking; " + UNVERIFIED)
    return {"certainty": "lacking_evidence", "type": None, "reasons": reasons, "unverified": True}


def derive(ctx: Context, facts: Facts) -> None:
    result = classify(facts)
    refs = tuple(
        r
        for fid in ("csf-cytology", "mri-lm-pattern", "typical-lm-signs")
        for r in facts.get(fid).references
    )
    facts.set(
        FactValue(
            "lm-certainty",
            "ok",
            result["certainty"],
            reference=refs[0] if refs else None,
            references=refs,
        )
    )
    typ = result["type"]
    facts.set(
        FactValue("lm-type", "ok", typ, reference=refs[0] if refs else None, references=refs)
        if typ
        else FactValue("lm-type", "missing", note="type not determinable")
    )
    facts.set(FactValue("lm-classification", "ok", result, references=refs))
