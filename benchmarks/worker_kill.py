"""Two workers under load, one killed half-way: what clients see, and how long until the worker is back.

    python benchmarks/worker_kill.py [--seconds 60] [--concurrency 32] [--firms 3000]

The service (`creditscore serve --workers 2`, SQLite in a temporary folder, demo models) is loaded by wrk
(Debian package) at ``--concurrency`` on the firm grade route, rotating over the store's firms, for
``--seconds`` in two halves: after the first half one worker gets SIGKILL. Reported: requests answered and
socket errors / non-2xx answers in each half, p50 and p99 in each half, and the time from the kill until the
supervisor's replacement answers (/metrics names the worker's pid).
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script: the benchmarks package beside the project

from benchmarks.api import LUA, _ms, _wait  # noqa: E402
from creditscore.service.keys import Role, create_key  # noqa: E402
from creditscore.store import Store  # noqa: E402
from creditscore.synth import SynthConfig, generate  # noqa: E402
from creditscore.synth.feeds import load_feeds  # noqa: E402


def _wrk(url: str, connections: int, seconds: int, script: str) -> dict[str, float]:
    out = subprocess.run(["wrk", "-s", script, "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", url],
                         capture_output=True, text=True, check=True).stdout
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"requests": int(re.search(r"(\d+) requests in", out).group(1)),
            "socket_errors": sum(int(g) for g in errors.groups()) if errors else 0,
            "non2xx": int(non2xx.group(1)) if non2xx else 0,
            "p50": _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1)),
            "p99": _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))}


def _pids(base: str, scrapes: int = 12) -> set[int]:
    found = set()
    for _ in range(scrapes):
        try:
            request = urllib.request.Request(f"{base}/metrics", headers={"Connection": "close"})
            with urllib.request.urlopen(request, timeout=2) as r:
                text = r.read().decode()
        except OSError:
            continue
        found |= {int(p) for p in re.findall(r'^creditscore_worker\{pid="(\d+)"\}', text, re.M)}
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--firms", type=int, default=3000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "CREDITSCORE_DATA_DIR": f"{tmp}/data", "CREDITSCORE_MODEL_SOURCE": "demo"}
        env.pop("CREDITSCORE_DATABASE_URL", None)
        store = Store(f"sqlite:///{tmp}/data/creditscore.db")
        store.init()
        load_feeds(store, generate(SynthConfig(seed=9, n_firms=args.firms, n_households=200))
                   .write_files(Path(tmp) / "feeds"))
        key = create_key(store, "benchmark bank", Role.BANK)
        firms = list(store.records("enterprises")["uscc"])
        script = Path(tmp) / "grade.lua"
        script.write_text(LUA % (",".join(f'"{f}"' for f in firms[:2000]), key))
        port, base = 8721, "http://127.0.0.1:8721"
        server = subprocess.Popen([sys.executable, "-c", "from creditscore.cli import app; app()", "serve",
                                   "--workers", "2", "--port", str(port)], cwd=ROOT, env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            _wait(f"{base}/readyz", 120)
            while len(_pids(base)) < 2:
                time.sleep(0.5)
            half = args.seconds // 2
            first = _wrk(base, args.concurrency, half, str(script))
            victim = min(_pids(base))
            back: dict[str, float] = {}

            def watch(killed_at: float) -> None:
                while time.time() - killed_at < half + 30:
                    now = _pids(base, 4)
                    if len(now) == 2 and victim not in now:
                        back["seconds"] = time.time() - killed_at
                        return
                    time.sleep(0.1)

            results: dict[str, dict[str, float]] = {}
            loader = threading.Thread(target=lambda: results.update(second=_wrk(base, args.concurrency, half,
                                                                                  str(script))))
            loader.start()
            time.sleep(0.5)  # the load is running: kill one worker in its stride
            killed_at = time.time()
            os.kill(victim, signal.SIGKILL)
            watch(killed_at)
            loader.join()
            second = results["second"]
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
    print(f"2 workers, wrk -t1 -c{args.concurrency}, {args.seconds} s in two halves; one worker SIGKILLed "
          "0.5 s into the second half")
    print(f"{'half':<8}{'requests':>10}{'socket errors':>15}{'non-2xx':>9}{'p50 ms':>8}{'p99 ms':>8}")
    for name, r in (("before", first), ("after", second)):
        print(f"{name:<8}{r['requests']:>10,}{r['socket_errors']:>15,}{r['non2xx']:>9,}{r['p50']:>8.1f}"
              f"{r['p99']:>8.1f}")
    print(f"replacement worker answering {back.get('seconds', float('nan')):.1f} s after the kill")


if __name__ == "__main__":
    main()
