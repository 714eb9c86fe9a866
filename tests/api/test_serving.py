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


def _metrics(port: int) -> str:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/metrics", headers={"Connection": "close"})
    with urllib.request.urlopen(request, timeout=5) as r:
        return r.read().decode()


def _worker_pids(port: int, tries: int = 20) -> set[int]:
    pids = set()
    for _ in range(tries):
        try:
            text = _metrics(port)
        except OSError:
            continue
        pids |= {int(line.split('pid="')[1].split('"')[0]) for line in text.splitlines()
                 if line.startswith("creditscore_worker{")}
    return pids


@pytest.mark.slow
def test_a_killed_worker_is_restarted_logged_and_counted(tmp_path: Path) -> None:
    import signal

    port = _free_port()
    env = {**os.environ, "CREDITSCORE_DATA_DIR": str(tmp_path / "data"), "CREDITSCORE_MODEL_SOURCE": "demo"}
    command = [str(Path(sys.executable).with_name("creditscore")), "serve", "--workers", "2", "--port", str(port)]
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 120
        while len(pids := _worker_pids(port)) < 2:
            assert time.time() < deadline, "two workers did not come up"
            time.sleep(0.5)
        victim = min(pids)
        os.kill(victim, signal.SIGKILL)
        deadline = time.time() + 120
        while True:
            now = _worker_pids(port)
            if len(now) == 2 and victim not in now:
                break
            assert time.time() < deadline, f"the killed worker was not replaced: {now}"
            time.sleep(0.5)
        assert "creditscore_worker_restarts_total 1.0" in _metrics(port)
        assert f"(pid {victim}) exited with code -9: starting a new one" in log.read_text()
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_readyz_says_not_ready_when_the_store_cannot_be_written(tmp_path: Path) -> None:
    import sqlite3

    from fastapi.testclient import TestClient

    from api import create_app
    from creditscore.settings import Settings

    settings = Settings(data_dir=tmp_path / "data", model_source="demo")
    with TestClient(create_app(settings)) as client:
        assert client.get("/readyz").json()["status"] == "ready"
        holder = sqlite3.connect(settings.store_url.removeprefix("sqlite:///"), isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        try:
            r = client.get("/readyz")
            assert r.status_code == 503
            assert (r.json()["store_readable"], r.json()["store_writable"]) == (True, False)
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert client.get("/readyz").status_code == 200
