"""Shared fixtures: small stores in tmp_path, a real PostgreSQL server when one is installed."""

from __future__ import annotations

import datetime as dt
import glob
import os
import random
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from creditscore.policy import Policy, load_policy
from creditscore.records.ids import generate_resident_id, generate_uscc
from creditscore.store import Store

TODAY = dt.date(2026, 6, 30)


@pytest.fixture
def rng() -> random.Random:
    return random.Random(20240501)


@pytest.fixture
def uscc(rng: random.Random) -> str:
    return generate_uscc(rng, division_code="410102")


@pytest.fixture
def resident_id(rng: random.Random) -> str:
    return generate_resident_id(rng, division_code="410882", birth_date=dt.date(1975, 3, 9), sex="M")


@pytest.fixture(scope="session")
def policy() -> Policy:
    return load_policy()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(f"sqlite:///{tmp_path / 'store.db'}")
    s.init()
    yield s
    s.dispose()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A throwaway PostgreSQL server on 127.0.0.1, started for the test session.

    Skipped when no server binaries are installed, except in CI
    (CREDITSCORE_REQUIRE_POSTGRES=1), where a missing server is a failure.
    """
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    initdb = found[-1] if found else shutil.which("initdb")
    if not initdb:
        if os.environ.get("CREDITSCORE_REQUIRE_POSTGRES") == "1":
            pytest.fail("PostgreSQL is required here (CREDITSCORE_REQUIRE_POSTGRES=1) but initdb was not found")
        pytest.skip("PostgreSQL server binaries not installed")
    bindir = Path(initdb).parent
    root = Path(tempfile.mkdtemp(prefix="creditscore-pg-"))
    datadir, sockdir = root / "data", root / "sock"
    sockdir.mkdir()
    prefix: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root: use the postgres account
        prefix = ["runuser", "-u", "postgres", "--"]
        shutil.chown(root, "postgres")
        shutil.chown(sockdir, "postgres")
    port = _free_port()
    subprocess.run([*prefix, str(bindir / "initdb"), "-D", str(datadir), "-U", "postgres", "--auth=trust",
                    "-E", "UTF8", "--locale=C"], check=True, capture_output=True)
    subprocess.run([*prefix, str(bindir / "pg_ctl"), "-D", str(datadir), "-w", "-l", str(root / "log"), "-o",
                    f"-p {port} -k {sockdir} -c listen_addresses=127.0.0.1 -c fsync=off", "start"],
                   check=True, capture_output=True)
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*prefix, str(bindir / "pg_ctl"), "-D", str(datadir), "-m", "fast", "stop"], check=False,
                       capture_output=True)
        shutil.rmtree(root, ignore_errors=True)
