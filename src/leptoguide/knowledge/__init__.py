"""Loading, validation and versioning of the knowledge base. No clinical logic lives here.

Import from the modules (``leptoguide.knowledge.loader``, ``.models``, ``.snapshot``): this package
file imports nothing, so reading a snapshot's version does not load the record models.
"""
