"""The rule engine: Case + evaluation time + site policy -> facts -> rules -> Assessment.

The engine knows nothing of terminals, HTML or HTTP. Clinical numbers and drug names live in the
knowledge base (rules, regimens, policy); the Python here only derives facts and evaluates rules.
"""

from leptoguide.assessment import Assessment, Finding
from leptoguide.engine.assessment import assess

__all__ = ["Assessment", "Finding", "assess"]
