"""Cited question answering over the knowledge base (and ingested documents).

``ask(question, audience=..., conversation_id=..., top_k=..., kb=...) -> Answer``. The package knows
nothing of HTTP or the terminal; the CLI (``leptoguide ask``) and the service call it.
"""

from leptoguide.answer.pipeline import DEFAULT_TOP_K, QA, Options, ask, engine, reset
from leptoguide.answer.result import Answer, Citation

__all__ = ["DEFAULT_TOP_K", "QA", "Answer", "Citation", "Options", "ask", "engine", "reset"]
