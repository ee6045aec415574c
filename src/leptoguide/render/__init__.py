"""Renderers for an Assessment: JSON (the contract), text (Rich), HTML (Jinja2) and iCalendar.

Renderers take the typed :class:`leptoguide.assessment.Assessment`, so every face shows the same
data; the JSON renderer writes its ``model_dump()`` (the contract).
"""
