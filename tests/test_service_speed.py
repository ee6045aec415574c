"""What keeps a signed CDS hook call cheap (``benchmarks/service_load.py`` measures the cost):
only the work that blocks on the database or burns CPU for long is handed to a worker thread."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio.to_thread
import pytest
from fastapi.testclient import TestClient

from cdsutil import EhrKey, write_issuers
from leptoguide.api.app import create_app
from leptoguide.settings import Settings
from service_cases import hook_request, realistic_order_sign

PUBLIC = "https://cds.hospital.example"
SIGN = "/cds-services/leptoguide-order-sign"


def _name(func: Callable[..., Any]) -> str:
    inner = getattr(func, "func", func)  # run_in_threadpool passes a functools.partial
    return str(getattr(inner, "__qualname__", repr(inner)))


def test_signed_order_sign_hops_to_a_worker_thread_only_for_jwt_and_hook(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two hops per call: the JWT check (signature, replay record in the database) and the hook
    (assessment and audit commit). Dependencies that only read the app's state or the path are
    ``async``: a plain ``def`` dependency would cost a worker-thread round trip each."""
    key = EhrKey()
    app = create_app(
        Settings.from_env(
            database_url=f"sqlite:///{tmp_path}/db.sqlite3",
            trusted_issuers_file=write_issuers(tmp_path / "issuers", key),
            public_url=PUBLIC,
        )
    )
    hops: list[str] = []
    real = anyio.to_thread.run_sync

    async def counting(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        hops.append(_name(func))
        return await real(func, *args, **kwargs)

    chart, drafts = realistic_order_sign("p-real")
    body = hook_request("order-sign", "p-real", chart, drafts)
    token = "Bearer " + key.token(PUBLIC + SIGN)
    with TestClient(app) as client:
        monkeypatch.setattr(anyio.to_thread, "run_sync", counting)
        response = client.post(SIGN, json=body, headers={"Authorization": token})
        monkeypatch.undo()
    app.state.leptoguide.db.dispose()
    assert response.status_code == 200, response.text
    assert response.json()["cards"]
    assert hops == ["JwtVerifier.verify", "run_hook"]
