"""NCCN LM risk group (good / poor / unknown) with reasons.

Poor if any poor-risk feature is present (NCCN lists features; whether one suffices is not stated,
so the reasons say which ones were found). Good only if every good-risk feature is known and
present. Otherwise unknown, naming what is missing. ECOG is never converted to KPS.
"""

from __future__ import annotations

from typing import Any

from leptoguide.engine.facts import Context, Facts, FactValue

STATUS_TEXT = {
    "missing": "not recorded",
    "stale": "too old for the site policy",
    "unparseable": "recorded but could not be read",
}


def _why(status: str) -> str:
    return STATUS_TEXT.get(status, status)


def stratify(facts: Facts, kps_min: float) -> dict[str, Any]:
    if not facts.value("lm-context"):
        return {"group": "unknown", "reasons": ["not applicable: no LM context"], "missing": []}
    poor: list[str] = []
    good: list[str] = []
    unknown: list[str] = []
    kps = facts.get("karnofsky")
    if kps.usable:
        if kps.value < kps_min:
            poor.append(f"KPS {kps.value:g} < {kps_min:g}")
        else:
            good.append(f"KPS {kps.value:g} >= {kps_min:g}")
    else:
        ecog = facts.get("ecog")
        extra = (
            f" (ECOG {ecog.value:g} recorded; not converted to KPS: published mappings disagree)"
            if ecog.usable
            else ""
        )
        unknown.append(f"KPS {_why(kps.status)}{extra}")
    for fid, label in (
        ("major-neurological-deficits", "major neurological deficits"),
        ("bulky-cns-disease", "bulky CNS disease"),
        ("encephalopathy", "encephalopathy"),
    ):
        fv = facts.get(fid)
        if not fv.usable:
            unknown.append(f"{label}: {_why(fv.status)}")
        elif fv.value is True:
            poor.append(label)
        else:
            good.append(f"no {label}")
    extent = facts.get("systemic-disease")
    options = facts.get("systemic-options")
    if extent.usable and extent.value == "extensive":
        if options.usable and options.value == "few":
            poor.append("extensive systemic disease with few treatment options")
        elif options.usable:
            unknown.append("extensive systemic disease (good risk needs minimal disease)")
        else:
            unknown.append(f"extensive systemic disease; treatment options {_why(options.status)}")
    elif extent.usable:
        good.append(f"systemic disease {extent.value}")
        if options.usable and options.value == "reasonable":
            good.append("reasonable systemic options")
        elif options.usable:
            unknown.append("few systemic options (good risk needs reasonable options)")
        else:
            unknown.append(f"systemic treatment options: {_why(options.status)}")
    else:
        unknown.append(f"extent of systemic disease: {_why(extent.status)}")
    if poor:
        reasons = [f"poor-risk feature: {p}" for p in poor]
        reasons.append("NCCN lists the features without saying whether one is enough")
        return {"group": "poor", "reasons": reasons, "missing": []}
    if unknown:
        return {
            "group": "unknown",
            "reasons": [f"unknown because {u}" for u in unknown]
            + [f"good-risk feature present: {g}" for g in good],
            "missing": unknown,
        }
    return {"group": "good", "reasons": [f"good-risk feature: {g}" for g in good], "missing": []}


def derive(ctx: Context, facts: Facts) -> None:
    result = stratify(facts, float(ctx.policy.get("nccn-kps-good-risk-min")))
    refs = tuple(
        r
        for fid in (
            "karnofsky",
            "major-neurological-deficits",
            "bulky-cns-disease",
            "encephalopathy",
            "systemic-disease",
            "systemic-options",
        )
        for r in facts.get(fid).references
    )
    group = result["group"]
    facts.set(
        FactValue("nccn-risk", "ok", group, reference=refs[0] if refs else None, references=refs)
        if group != "unknown"
        else FactValue("nccn-risk", "missing", note="; ".join(result["reasons"]), references=refs)
    )
    facts.set(FactValue("nccn-risk-detail", "ok", result, references=refs))
