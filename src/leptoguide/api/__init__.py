"""The HTTP face: REST API, CDS Hooks services and OpenAPI. No clinical logic lives here."""
