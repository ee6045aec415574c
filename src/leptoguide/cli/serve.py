"""``leptoguide serve``: the HTTP service (REST, CDS Hooks, web UI) on uvicorn."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer


def register(app: typer.Typer) -> None:
    app.command(name="serve")(serve)


def serve(
    host: Annotated[str, typer.Option(help="Bind address.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    database: Annotated[
        str | None,
        typer.Option(
            "--database",
            help="SQLAlchemy URL (default: $LEPTOGUIDE_DATABASE_URL or "
            "$LEPTOGUIDE_HOME/leptoguide.sqlite3), e.g. postgresql+psycopg://user@host/db.",
        ),
    ] = None,
    policy: Annotated[Path | None, typer.Option("--policy", help="Site policy file.")] = None,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes.")] = 1,
    trusted_issuers: Annotated[
        Path | None,
        typer.Option("--trusted-issuers", help="Trusted CDS clients file (iss -> JWKS / jku)."),
    ] = None,
    allow_unauthenticated: Annotated[
        bool,
        typer.Option(
            "--allow-unauthenticated",
            help="Accept CDS Hooks calls without a JWT and /api/assess, /api/ask without an "
            "API token on a non-loopback bind (unsafe).",
        ),
    ] = False,
    approved_only: Annotated[
        bool,
        typer.Option(
            "--approved-only",
            help=(
                "Knowledge and patient pages show only statements a clinician approved at this "
                "site (and say how many are hidden); answers and assessments mark the rest."
            ),
        ),
    ] = False,
    public_url: Annotated[
        str | None,
        typer.Option(
            "--public-url",
            help="External base URL EHRs call (card links, JWT audience). Default on a "
            "loopback bind: http://HOST:PORT.",
        ),
    ] = None,
    trusted_proxies: Annotated[
        str | None,
        typer.Option(
            "--trusted-proxies",
            help="Comma-separated addresses of reverse proxies whose X-Forwarded-For is "
            "believed (default: none; the connection's address is the client).",
        ),
    ] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Serve the REST API, CDS Hooks services and web app (OpenAPI at /docs)."""
    import logging

    import uvicorn

    from leptoguide import settings as s

    # Worker processes read their settings from the environment.
    env = {
        s.ENV_HOST: host,
        s.ENV_DATABASE_URL: database,
        s.ENV_POLICY: str(policy) if policy else None,
        s.ENV_TRUSTED_ISSUERS: str(trusted_issuers) if trusted_issuers else None,
        s.ENV_ALLOW_UNAUTHENTICATED: "1" if allow_unauthenticated else None,
        "LEPTOGUIDE_APPROVED_ONLY": "1" if approved_only else None,
        s.ENV_PUBLIC_URL: public_url,
        s.ENV_TRUSTED_PROXIES: trusted_proxies,
    }
    if not (public_url or os.environ.get(s.ENV_PUBLIC_URL)) and (
        host in s.LOOPBACK_HOSTS or host.startswith("127.")
    ):
        shown = f"[{host}]" if ":" in host else host
        env[s.ENV_PUBLIC_URL] = f"http://{shown}:{port}"
    for key, value in env.items():
        if value is not None:
            os.environ[key] = value
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    settings = s.Settings.from_env(port=port)
    from leptoguide.api.app import create_app, freeze_startup_objects

    # Build once in this process: migrates the database and fails fast on bad configuration.
    app = create_app(settings)
    typer.echo(
        f"LeptoGuide on http://{host}:{port}  (database: {settings.database_url.split('@')[-1]})"
    )
    # X-Forwarded-For only from configured proxies (uvicorn would otherwise trust 127.0.0.1)
    proxies = ",".join(settings.trusted_proxies)
    proxy: dict[str, Any] = {"proxy_headers": bool(proxies), "forwarded_allow_ips": proxies or None}
    if workers == 1:
        freeze_startup_objects()
        uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False, **proxy)
    else:
        uvicorn.run(
            "leptoguide.api.app:app_from_env",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=log_level,
            access_log=False,
            **proxy,
        )
