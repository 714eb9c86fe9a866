"""The single enterprise grade over HTTP (store lookup + features + PD + grade + reasons + audit write) against a
bare endpoint that only runs the same model's predict and pred_contrib on a fixed vector.

    python benchmarks/api.py [--seconds 10] [--firms 3000] [--workers 1] [--postgres | --postgres-url URL]
                             [--in-thread]

The store is SQLite in a temporary folder; ``--postgres`` starts a throwaway PostgreSQL server (as the tests do,
with fsync off) and ``--postgres-url`` uses an empty database of yours. ``--in-thread`` grades the batches in a
thread (``CREDITSCORE_GRADE_IN_THREAD``) rather than on the event loop.

Both servers: ``--workers`` uvicorn processes (default 1) on 127.0.0.1; load from wrk (Debian package) with 1 thread at
concurrency 1, 8 and 32, the firm rotating over the store's firms. Reports req/s, p50 and p99.

The ratio is against ``/bare``, an ``async def`` route: the service grades on the event loop, so the baseline
runs its model there too. ``/bare-threaded`` (a plain ``def``, through FastAPI's thread pool) is reported beside it
because it is FastAPI's default idiom and about half as fast — a ratio against it would flatter the service.
"Route floor" is the service's own grade route with the grading taken out (benchmarks/floor_app.py): the
HTTP, key check and validation every grade pays before any grading starts.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import ExitStack, contextmanager
from pathlib import Path

from creditscore.service.keys import Role, create_key
from creditscore.store import Store
from creditscore.synth import SynthConfig, generate
from creditscore.synth.feeds import load_feeds

ROOT = Path(__file__).resolve().parents[1]

LUA = """
local i = 0
local firms = {%s}
request = function()
  i = i + 1
  return wrk.format("GET", "/v1/enterprises/" .. firms[(i %% #firms) + 1] .. "/grade?purpose=benchmark",
                    {["X-API-Key"] = "%s"})
end
"""


def _wait(url: str, seconds: float = 60) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"{url} did not come up")


def _ms(text: str) -> float:
    found = re.match(r"([\d.]+)(us|ms|s|m)$", text)
    if found is None:
        print(f"(unparsed latency {text!r})")
        return float("nan")
    value, unit = found.groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def wrk(url: str, connections: int, seconds: int, script: str | None = None) -> dict[str, float]:
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    if script:
        cmd[1:1] = ["-s", script]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    # the "Latency Distribution" lines: "     50%  636.00us" (a "+/- Stdev" like "80.50%" is not one)
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": rps, "p50": p50, "p99": p99, "non2xx": int(errors.group(1)) if errors else 0}


def batches(base: str, scrapes: int = 24) -> dict[str, tuple[float, float]]:
    """(batches, grades) answered so far, per worker: each scrape reaches whichever worker the kernel picks, told
    apart by the pid it reports."""
    out = {}
    for _ in range(scrapes):
        with urllib.request.urlopen(f"{base}/metrics", timeout=5) as r:
            text = r.read().decode()
        worker = re.search(r'^creditscore_worker\{pid="(\d+)"\}', text, re.M)
        count = re.search(r"^creditscore_grading_batch_size_count (\S+)$", text, re.M)
        total = re.search(r"^creditscore_grading_batch_size_sum (\S+)$", text, re.M)
        out[worker.group(1)] = (float(count.group(1)), float(total.group(1)))
    return out


def per_batch(before: dict[str, tuple[float, float]], after: dict[str, tuple[float, float]]) -> float:
    """Mean requests per batch over the workers seen both times (NaN if none was)."""
    seen = before.keys() & after.keys()
    n = sum(after[w][0] - before[w][0] for w in seen)
    return sum(after[w][1] - before[w][1] for w in seen) / n if n else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--firms", type=int, default=3000)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes for both servers")
    parser.add_argument("--postgres", action="store_true", help="the store on a throwaway PostgreSQL server")
    parser.add_argument("--postgres-url", default=None, help="the store in this (empty) PostgreSQL database")
    parser.add_argument("--in-thread", action="store_true", help="grade batches in a thread, not on the loop")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install wrk")
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        data = Path(tmp) / "data"
        url = args.postgres_url
        if args.postgres and url is None:
            sys.path.insert(0, str(ROOT / "tests"))
            from conftest import postgres_url  # the same throwaway server the tests use

            url = stack.enter_context(contextmanager(postgres_url.__wrapped__)())
        url = url or f"sqlite:///{(data / 'creditscore.db').resolve()}"
        env = {**os.environ, "CREDITSCORE_DATA_DIR": str(data), "CREDITSCORE_MODEL_SOURCE": "demo",
               "CREDITSCORE_DATABASE_URL": url, "CREDITSCORE_GRADE_IN_THREAD": str(args.in_thread).lower()}
        store = Store(url)
        store.init()
        population = generate(SynthConfig(seed=9, n_firms=args.firms, n_households=200))
        load_feeds(store, population.write_files(Path(tmp) / "feeds"))
        key = create_key(store, "benchmark bank", Role.BANK)
        firms = list(store.records("enterprises")["uscc"])
        script = Path(tmp) / "grade.lua"
        script.write_text(LUA % (",".join(f'"{f}"' for f in firms[:2000]), key))
        servers = [
            # api.serving: uvicorn's own --workers N leaves Nagle on (44 ms per keep-alive request)
            subprocess.Popen([sys.executable, "-m", "api.serving", "api.app:create_app", "--factory", "--port", "8711",
                              "--workers", str(args.workers)], cwd=ROOT, env=env),
            subprocess.Popen([sys.executable, "-m", "api.serving", "benchmarks.bare_app:app", "--port", "8712",
                              "--workers", str(args.workers)], cwd=ROOT, env=env),
            subprocess.Popen([sys.executable, "-m", "api.serving", "benchmarks.floor_app:app", "--port", "8713",
                              "--workers", str(args.workers)], cwd=ROOT, env=env),
        ]
        try:
            _wait("http://127.0.0.1:8711/readyz")
            _wait("http://127.0.0.1:8712/bare")
            wrk("http://127.0.0.1:8711", 2, 2, str(script))  # warm up
            wrk("http://127.0.0.1:8712/bare", 2, 2)
            wrk("http://127.0.0.1:8712/bare-threaded", 2, 2)
            _wait("http://127.0.0.1:8713/readyz")
            wrk("http://127.0.0.1:8713", 2, 2, str(script))
            print(f"{args.seconds}s per run, {args.workers} uvicorn process(es) each, wrk -t1; "
                  f"{len(firms):,} firms in the store ({store.engine.dialect.name}); batches graded "
                  + ("in a thread" if args.in_thread else "on the event loop"))
            print(f"{'c':>3}  {'grade req/s':>11} {'p50 ms':>7} {'p99 ms':>7}   {'bare req/s':>10} {'p50 ms':>7} "
                  f"{'p99 ms':>7}   grade/bare   grades per batch*   bare-threaded req/s   route floor req/s")
            for c in (1, 8, 32):
                before = batches("http://127.0.0.1:8711")
                g = wrk("http://127.0.0.1:8711", c, args.seconds, str(script))
                after = batches("http://127.0.0.1:8711")
                size = per_batch(before, after)
                b = wrk("http://127.0.0.1:8712/bare", c, args.seconds)
                t = wrk("http://127.0.0.1:8712/bare-threaded", c, args.seconds)
                f = wrk("http://127.0.0.1:8713", c, args.seconds, str(script))
                print(f"{c:>3}  {g['rps']:>11,.0f} {g['p50']:>7.2f} {g['p99']:>7.2f}   {b['rps']:>10,.0f} "
                      f"{b['p50']:>7.2f} {b['p99']:>7.2f}   {g['rps'] / b['rps']:>9.0%}   {size:>17.1f}"
                      f"   {t['rps']:>19,.0f}   {f['rps']:>17,.0f}"
                      + (f"   ({g['non2xx']} non-2xx!)" if g["non2xx"] else ""))
            print("* mean requests graded together (api/batching.py), from the workers' /metrics")
        finally:
            for s in servers:
                s.terminate()
                s.wait(timeout=10)


if __name__ == "__main__":
    main()
