"""Renderers for an Assessment: JSON (the contract), text (Rich), HTML (Jinja2) and iCalendar.

Renderers take the JSON-ready dict (``Assessment.to_dict()``), so every face shows the same data.
"""
