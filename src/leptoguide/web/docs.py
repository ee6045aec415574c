"""``/docs``: the interactive API documentation, offline.

Swagger UI 5 (which reads our OpenAPI 3.1) comes from the ``fastapi-offline`` package: only its
packaged static files are used, served under ``/static/swagger-ui/``, and a static init script
points Swagger UI at ``/openapi.json``. No CDN, so the page works on a ward network with no
internet. (``swagger-ui-bundle`` ships Swagger UI 4, which cannot read OpenAPI 3.1.)
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

SWAGGER_PREFIX = "/static/swagger-ui"

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>LeptoGuide API</title>
<link rel="stylesheet" href="{prefix}/swagger-ui.css">
</head>
<body>
<main id="swagger-ui"><h1>LeptoGuide API</h1><p>The interactive documentation needs JavaScript;
the machine-readable description is at <a href="/openapi.json">/openapi.json</a>.</p></main>
<script src="{prefix}/swagger-ui-bundle.js"></script>
<script src="/static/js/swagger-init.js"></script>
</body>
</html>
"""


def mount_docs(app: FastAPI) -> bool:
    """Serve ``/docs`` from the packaged Swagger UI; False when the package is not installed."""
    spec = importlib.util.find_spec("fastapi_offline")
    if spec is None or not spec.submodule_search_locations:
        return False
    static = Path(next(iter(spec.submodule_search_locations))) / "static"
    if not (static / "swagger-ui-bundle.js").is_file():
        return False
    app.mount(SWAGGER_PREFIX, StaticFiles(directory=str(static)), name="swagger-ui")
    r = APIRouter()

    @r.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(PAGE.format(prefix=SWAGGER_PREFIX))

    app.include_router(r)
    return True
