"""The container's entry script, run here against PostgreSQL exactly as `docker compose` runs it."""

from __future__ import annotations

import os
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import create_postgres_database

ENTRYPOINT = Path(__file__).resolve().parent.parent / "docker" / "entrypoint.sh"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_entrypoint_migrates_seeds_and_serves_on_postgres() -> None:
    url, drop = create_postgres_database()
    port = _free_port()
    bin_dir = str(Path(os.sys.executable).parent)
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "PRICEWAR_HOST": "127.0.0.1",
        "PRICEWAR_PORT": str(port),
        "PRICEWAR_WORKERS": "1",
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
    }
    # The output goes to a file: an unread pipe fills up with the log lines and stalls the server.
    log = tempfile.NamedTemporaryFile(prefix="pricewar-entrypoint-", suffix=".log", delete=False)  # noqa: SIM115
    process = subprocess.Popen(["sh", str(ENTRYPOINT)], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 180  # migrate + seed + start on a busy 2-core machine can pass 60 s
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                output = Path(log.name).read_text(errors="replace")
                pytest.fail(f"entrypoint did not become ready:\n{output}")
            time.sleep(0.3)
        accelerators = httpx.get(f"http://127.0.0.1:{port}/api/v1/accelerators").json()
        assert accelerators["total"] == 18
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()
        drop()
