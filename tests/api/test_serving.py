"""Several service workers: each with its own SO_REUSEPORT listener and Nagle off."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from api.serving import _listener

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_listener_is_tcp_and_shares_its_port() -> None:
    port = _free_port()
    first, second = _listener("127.0.0.1", port), _listener("127.0.0.1", port)  # two workers, one port
    try:
        assert first.proto == socket.IPPROTO_TCP  # asyncio sets TCP_NODELAY on what it accepts only then
        assert first.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT) == 1
    finally:
        first.close()
        second.close()


@pytest.mark.slow
def test_two_workers_answer_on_one_port(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "CREDITSCORE_DATA_DIR": str(tmp_path / "data"), "CREDITSCORE_MODEL_SOURCE": "demo"}
    command = [str(Path(sys.executable).with_name("creditscore")), "serve", "--workers", "2", "--port", str(port)]
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline, status = time.time() + 90, None
        while time.time() < deadline and status != 200:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r:
                    status = r.status
            except OSError:
                time.sleep(0.5)
        assert status == 200
        client = http.client.HTTPConnection("127.0.0.1", port, timeout=5)  # one keep-alive connection
        for _ in range(3):
            client.request("GET", "/healthz")
            response = client.getresponse()
            assert (response.status, response.read()) == (200, b'{"status":"ok"}')
        client.close()
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    assert proc.returncode is not None
