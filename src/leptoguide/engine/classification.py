"""EANO-ESMO classification of LM: certainty (confirmed/probable/possible/lacking evidence) and type.

The matrix is knowledge data: the classification table ``eano-esmo-lm`` (record type
``classifications``) maps the MRI pattern to its type letter and reads its steps in order, each
citing its statement. Verified core: positive cytology = confirmed, type I;
cancer + typical signs + typical MRI (A/B/C) without positive cytology = probable, type II. The
cells for *possible* and *lacking evidence* rest on a draft statement and are marked unverified.
"""

from __future__ import annotations

from leptoguide.engine.facts import Context, Facts, FactValue
from leptoguide.engine.tables import classify as apply
from leptoguide.engine.types import LmClassification
from leptoguide.knowledge.models import ClassificationTable
from leptoguide.policy import Policy

TABLE = "eano-esmo-lm"
"""The id of the classification table this computation applies."""


def classify(facts: Facts, table: ClassificationTable, policy: Policy) -> LmClassification:
    """Certainty, type and reasons from cytology, MRI pattern, typical signs and known cancer."""
    got = apply(table, facts, policy)
    return LmClassification.model_validate(
        {
            "certainty": got.certainty,
            "type": got.type,
            "reasons": got.reasons,
            "unverified": got.unverified,
        }
    )


def derive(ctx: Context, facts: Facts) -> None:
    result = classify(facts, ctx.kb.classifications[TABLE], ctx.policy)
    refs = tuple(
        r
        for fid in ("csf-cytology", "mri-lm-pattern", "typical-lm-signs")
        for r in facts.get(fid).references
    )
    facts.set(
        FactValue(
            "lm-certainty",
            "ok",
            result.certainty,
            reference=refs[0] if refs else None,
            references=refs,
        )
    )
    typ = result.type
    facts.set(
        FactValue("lm-type", "ok", typ, reference=refs[0] if refs else None, references=refs)
        if typ
        else FactValue("lm-type", "missing", note="type not determinable")
    )
    facts.set(FactValue("lm-classification", "ok", result, references=refs))
