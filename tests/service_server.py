"""Start the real ``leptoguide serve`` in a subprocess on a free loopback port; wait for /readyz."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from cdsutil import free_port


class ServerProcess:
    def __init__(
        self, home: Path, database: str, *args: str, env: dict[str, str] | None = None
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        exe = Path(sys.executable).with_name("leptoguide")
        self.cmd = [str(exe), "serve", "--host", "127.0.0.1", "--port", str(self.port),
                    "--database", database, "--log-level", "warning", *args]  # fmt: skip
        self.env = {**os.environ, "LEPTOGUIDE_HOME": str(home), **(env or {})}
        self.log = home / f"server-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> ServerProcess:
        """Launch the process without waiting for it (``with`` then waits until it is ready), so
        that several servers can start side by side."""
        if self.proc is None:
            self.log.parent.mkdir(parents=True, exist_ok=True)
            out = self.log.open("wb")
            self.proc = subprocess.Popen(
                self.cmd, env=self.env, stdout=out, stderr=subprocess.STDOUT
            )
        return self

    def __enter__(self) -> ServerProcess:
        self.start()
        assert self.proc is not None
        deadline = time.time() + 120  # a shared, loaded machine can take over a minute
        # One client for every try: ``httpx.get`` builds a client (and its TLS context) per call,
        # about 20 ms of CPU each, which cost as much as the server's own start over a 4 s wait.
        with httpx.Client(timeout=1) as client:
            while time.time() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(
                        f"server exited {self.proc.returncode}: {self.log.read_text()}"
                    )
                try:
                    if client.get(self.url + "/readyz").status_code == 200:
                        return self
                except httpx.HTTPError:
                    pass
                time.sleep(0.05)
        self.__exit__()
        raise RuntimeError(f"server not ready: {self.log.read_text()}")

    def __exit__(self, *_exc: object) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def output(self) -> str:
        return self.log.read_text(errors="replace")
