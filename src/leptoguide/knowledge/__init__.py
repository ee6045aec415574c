"""Loading, validation and versioning of the knowledge base. No clinical logic lives here."""

from leptoguide.knowledge.loader import KnowledgeBase, load_knowledge

__all__ = ["KnowledgeBase", "load_knowledge"]
