"""NCCN LM risk group (good / poor / unknown) with reasons, as it can be read from real charts.

- **Poor** as soon as any poor-risk feature is recorded. NCCN lists the features without saying
  whether one is enough, so the result counts them (``poor_features``) and says so; rules word a
  single feature differently from several.
- **Good** when performance status is on the good side and no poor feature is recorded. Charts rarely
  record the absence of encephalopathy, major deficits or bulky disease, or the extent of systemic
  disease, so a good group built on such gaps is **provisional** and lists its assumptions.
- **Unknown** when performance status cannot be placed on either side of the KPS line.

ECOG is read against the KPS line only where the published mappings put it (site policy
``nccn-ecog-max-good`` and ``nccn-ecog-min-poor``); an ECOG between them stays unknown. The reasons
always say which grade was used and that KPS is the measure NCCN names.
"""

from __future__ import annotations

from leptoguide.engine.facts import Context, Facts, FactValue
from leptoguide.engine.types import RiskDetail

STATUS_TEXT = {
    "missing": "not recorded",
    "stale": "too old for the site policy",
    "unparseable": "recorded but could not be read",
}
FEATURES = (
    ("major-neurological-deficits", "major neurological deficits"),
    ("bulky-cns-disease", "bulky CNS disease"),
    ("encephalopathy", "encephalopathy"),
)
INPUTS = (
    "karnofsky",
    "ecog",
    "major-neurological-deficits",
    "bulky-cns-disease",
    "encephalopathy",
    "systemic-disease",
    "systemic-options",
)


def _why(status: str) -> str:
    return STATUS_TEXT.get(status, status)


def _performance(
    facts: Facts, kps_min: float, ecog_good: float, ecog_poor: float
) -> tuple[str | None, str, bool]:
    """('good' | 'poor' | None, reason, converted from ECOG)."""
    kps = facts.get("karnofsky")
    if kps.number is not None:
        side = "poor" if kps.number < kps_min else "good"
        sign = "<" if side == "poor" else ">="
        return side, f"KPS {kps.number:g} {sign} {kps_min:g}", False
    ecog = facts.get("ecog")
    if ecog.number is None:
        return None, f"KPS {_why(kps.status)}, ECOG {_why(ecog.status)}", False
    grade = ecog.number
    if grade <= ecog_good:
        return (
            "good",
            f"ECOG {grade:g} (no KPS): read as KPS >= {kps_min:g} (published mappings, "
            f"policy nccn-ecog-max-good {ecog_good:g}); confirm with a KPS",
            True,
        )
    if grade >= ecog_poor:
        return (
            "poor",
            f"ECOG {grade:g} (no KPS): read as KPS < {kps_min:g} (every published mapping)",
            True,
        )
    return (
        None,
        f"ECOG {grade:g} (no KPS): the published mappings disagree about which side of KPS "
        f"{kps_min:g} it falls; record a KPS",
        True,
    )


def _present(facts: Facts, fid: str) -> tuple[bool | None, str]:
    """A poor-risk feature: True if recorded (as a finding or an active condition), False if
    recorded absent, None if not recorded."""
    if fid in facts.get("conditions").codes:
        return True, "ok"
    fv = facts.get(fid)
    if not fv.usable:
        return None, fv.status
    return bool(fv.value), "ok"


def stratify(facts: Facts, kps_min: float, ecog_good: float, ecog_poor: float) -> RiskDetail:
    if not facts.value("lm-context"):
        return RiskDetail(
            group="unknown",
            reasons=["not applicable: no LM context"],
            missing=[],
            poor_features=0,
            provisional=False,
            assumptions=[],
        )
    poor: list[str] = []
    good: list[str] = []
    assumptions: list[str] = []
    side, ps_reason, converted = _performance(facts, kps_min, ecog_good, ecog_poor)
    if side == "poor":
        poor.append(ps_reason)
    elif side == "good":
        good.append(ps_reason)
        if converted:
            assumptions.append(ps_reason)
    for fid, label in FEATURES:
        present, status = _present(facts, fid)
        if present is True:
            poor.append(label)
        elif present is False:
            good.append(f"no {label}")
        else:
            assumptions.append(f"{label}: {_why(status)} (taken as absent)")
    extent = facts.get("systemic-disease")
    options = facts.get("systemic-options")
    if extent.usable and extent.value == "extensive" and options.usable and options.value == "few":
        poor.append("extensive systemic disease with few treatment options")
    elif extent.usable and options.usable:
        good.append(f"systemic disease {extent.value}; {options.value} systemic options")
        if extent.value == "extensive" or options.value == "few":
            assumptions.append(
                f"systemic disease {extent.value} with {options.value} options: neither NCCN "
                "column fits exactly"
            )
    else:
        if options.usable and options.value == "few":
            assumptions.append("few systemic options; extent of systemic disease not recorded")
        else:
            assumptions.append(
                f"extent of systemic disease {_why(extent.status)}; treatment options "
                f"{_why(options.status) if not options.usable else options.value}"
            )
    if poor:
        n = len(poor)
        reasons = [f"poor-risk feature: {p}" for p in poor]
        reasons.append(
            "NCCN lists the poor-risk features without saying whether one is enough"
            + (": only one is recorded" if n == 1 else f": {n} are recorded")
        )
        if good:
            reasons.append("good-risk features also recorded: " + "; ".join(good))
        return RiskDetail(
            group="poor",
            reasons=reasons,
            missing=[],
            poor_features=n,
            provisional=False,
            assumptions=[],
        )
    if side is None:
        return RiskDetail(
            group="unknown",
            reasons=[f"unknown because {ps_reason}"]
            + [f"good-risk feature present: {g}" for g in good],
            missing=[ps_reason],
            poor_features=0,
            provisional=False,
            assumptions=[],
        )
    provisional = bool(assumptions)
    reasons = [f"good-risk feature: {g}" for g in good]
    if provisional:
        reasons.insert(0, "provisional: no poor-risk feature is recorded; confirm the assumptions")
        reasons += [f"assumption: {a}" for a in assumptions]
    return RiskDetail(
        group="good",
        reasons=reasons,
        missing=[],
        poor_features=0,
        provisional=provisional,
        assumptions=assumptions,
    )


def derive(ctx: Context, facts: Facts) -> None:
    result = stratify(
        facts,
        float(ctx.policy.get("nccn-kps-good-risk-min")),
        float(ctx.policy.get("nccn-ecog-max-good")),
        float(ctx.policy.get("nccn-ecog-min-poor")),
    )
    result = result.model_copy(
        update={"policies": ["nccn-kps-good-risk-min", "nccn-ecog-max-good", "nccn-ecog-min-poor"]}
    )
    refs = tuple(r for fid in INPUTS for r in facts.get(fid).references)
    group = result.group
    ref = refs[0] if refs else None
    facts.set(
        FactValue(
            "nccn-risk",
            "ok",
            group,
            reference=ref,
            references=refs,
            note="provisional" if result.provisional else None,
        )
        if group != "unknown"
        else FactValue("nccn-risk", "missing", note="; ".join(result.reasons), references=refs)
    )
    facts.set(
        FactValue(
            "nccn-poor-features",
            "ok" if group != "unknown" else "missing",
            result.poor_features,
            references=refs,
        )
    )
    facts.set(FactValue("nccn-risk-detail", "ok", result, references=refs))
