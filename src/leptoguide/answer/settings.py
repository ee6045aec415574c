"""Every tuning number of question answering, named, documented and checked.

The numbers that decide how an answer is composed live here, in one frozen dataclass; the
abstention thresholds are ``AbstainConfig`` and the confidence model is ``ConfidenceModel``
(``answer/abstain.py``). docs/qa.md "Settings" lists each with its value and what chose it, and
a test keeps that table and these defaults in step. Values out of range are refused when the
settings are built, with the setting's name.
"""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass(frozen=True)
class AnswerSettings:
    """How an answer is composed (docs/qa.md "Settings")."""

    head_pool: int = 5
    """The statement shown first is the best-covering one among this many top hits."""
    coverage_step: float = 0.05
    """Coverage differences smaller than this do not reorder hits."""
    min_relative: float = 0.6
    """Other statements are shown when they cover at least this share of the best one."""
    duplicate_overlap: float = 0.5
    """Patient answers: a statement whose patient wording shares this much (Jaccard) with one
    already shown says the same thing and is left out."""
    lead_pool: int = 3
    """The lead comes from the best of this many shown statements."""
    on_topic_depth: int = 20
    """When the top hits include statements about another population, patient group or drug
    than the question's, statements about the one asked are looked for among this many hits."""
    lead_max_sentences: int = 3
    """At most this many lead sentences."""
    lead_short_words: int = 20
    """A lead shorter than this many words runs on to the statement's next sentences."""
    title_weight: float = 1.0
    """Weight of a statement title's shared words when choosing the lead statement."""
    second_sentence_ratio: float = 0.8
    """Another statement's sentence joins the lead when it scores this share of the best."""
    aspect_weight: float = 2.0
    """A sentence that gives what the question asks for (a dose, a time, a threshold, a rate, a
    meaning) gains this many times the question's heaviest word weight."""
    aspect_depth: int = 10
    """Patient answers: when no lead candidate gives what the question asks for (a number, a
    time, the meaning of the word asked about), a checked statement that does, among this many
    top hits, becomes a lead candidate."""
    aspect_relative: float = 0.5
    """... when it covers at least this share of the question that the best of the top hits
    covers."""
    draft_lead_weight: float = 0.6
    """A draft's best-sentence score counts this much when the lead is chosen (its title counts
    in full): a reviewed statement that answers nearly as well leads instead (the draft is still
    shown when it adds something)."""
    drop_drafts: bool = True
    """Leave a draft out when reviewed statements cover the question at least as well and it
    states no number they do not; drafts that stay are marked."""
    follow_up_weight: float = 3.0
    """In a follow-up, the follow-up's own words weigh this much more when choosing the lead."""
    policy_share: float = 0.2
    """A question touches a site-policy choice when a statement behind one of its values is
    among the lead candidates and the choice's title and description hold at least this share
    of the question's weighted words: the site's value then leads, with the alternatives."""
    policy_depth: int = 5
    """... a statement behind one of its values is looked for among this many shown statements
    (deeper than ``lead_pool``: a neighbouring statement, such as one giving a dose, may rank
    above the site's regimen)."""
    max_lead_findings: int = 2
    """Engine findings in the lead of a computed answer."""
    max_detail_lines: int = 4
    """Lines of each lead finding's detail (its statements) shown under a computed answer."""
    weak_confidence_cap: float = 0.4
    """Confidence never exceeds this when only ingested passages (no statement) pass the gate."""
    unsupported_share: float = 0.5
    """An abstention for weak evidence reports this share of the coverage as its confidence."""

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool):
                continue
            if isinstance(value, int) and value < 1:
                raise ValueError(f"answer setting {f.name}: must be 1 or more, got {value}")
            if isinstance(value, float) and value < 0:
                raise ValueError(f"answer setting {f.name}: must not be negative, got {value}")
        for name in (
            "coverage_step",
            "min_relative",
            "duplicate_overlap",
            "second_sentence_ratio",
            "weak_confidence_cap",
            "unsupported_share",
            "policy_share",
            "aspect_relative",
        ):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"answer setting {name}: must be between 0 and 1, got {value}")


SETTINGS = AnswerSettings()
"""The settings in use."""
