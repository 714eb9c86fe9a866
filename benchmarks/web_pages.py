"""The web pages as an assessor and a bank officer meet them: page weights, and the time from uploading a
township's workbook to reading its village summary.

    python benchmarks/web_pages.py [--sheets 20] [--per-sheet 500] [--repeats 3]

A synthetic county is loaded into a fresh SQLite store and the service runs on a free port (uvicorn, one worker,
as `creditscore serve`). Through HTTP, as a browser would: log in, upload the workbook (``sheets × per-sheet``
households, a sheet per village with titles and totals), confirm its columns, poll until graded, open the results
page with the village summary. Each stage's median over ``--repeats`` runs is printed, and the weight of each page
(HTML + its script and style as transferred — gzip — and uncompressed: the pages' target is under 100 KB before
downloads).
"""

from __future__ import annotations

import argparse
import re
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from township_workbook import AS_OF, write_files

PASSWORD = "benchmark password"


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _weight(response: object) -> tuple[int, int]:
    """(bytes on the wire, bytes once decoded) of a response."""
    return response.num_bytes_downloaded, len(response.content)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sheets", type=int, default=20)
    parser.add_argument("--per-sheet", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    import httpx
    import uvicorn

    from api import create_app
    from creditscore.service.accounts import create_user
    from creditscore.settings import Settings
    from creditscore.store import Store
    from creditscore.synth import SynthConfig, generate
    from creditscore.synth.feeds import load_feeds

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        settings = Settings(data_dir=folder / "data", model_source="demo", max_upload_bytes=50_000_000)
        store = Store(settings.store_url)
        store.init()
        n = args.sheets * args.per_sheet
        load_feeds(store, generate(SynthConfig(seed=11, n_firms=200, n_households=int(n * 1.1)))
                   .write_files(folder / "feeds"))
        for role in ("assessor", "bank", "admin"):
            create_user(store, role, PASSWORD, role=role, institution="benchmark")
        surveys = store.records("households", as_of=AS_OF).sort_values("surveyed_on")
        surveys = surveys.drop_duplicates("head_id", keep="last").reset_index(drop=True)
        workbook = write_files(surveys, folder, args.sheets, args.per_sheet)["workbook"]
        firm = str(store.records("enterprises")["uscc"].iloc[0])

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port,
                                               log_level="warning"))
        threading.Thread(target=server.run, daemon=True).start()
        while not server.started:
            time.sleep(0.1)
        site = f"http://127.0.0.1:{port}"

        def logged_in(user: str) -> httpx.Client:
            c = httpx.Client(base_url=site, timeout=600)
            page = c.get("/login")
            c.post("/login", data={"username": user, "password": PASSWORD, "csrf_token": _csrf(page.text)})
            return c

        fetched = [httpx.get(f"{site}/static/{name}") for name in ("htmx-2.0.11.min.js", "site.js", "site.css")]
        assets = sum(r.num_bytes_downloaded for r in fetched)
        assets_raw = sum(len(r.content) for r in fetched)
        print(f"{n:,} households, {args.sheets} sheets × {args.per_sheet}; {args.repeats} runs, medians")
        stages: dict[str, list[float]] = {"upload": [], "columns shown": [], "graded": [], "summary page": []}
        weights: dict[str, tuple[int, int]] = {}
        c = logged_in("assessor")
        for _ in range(args.repeats):
            csrf = _csrf(c.get("/batches").text)
            t0 = time.perf_counter()
            up = c.post("/batches/upload", data={"csrf_token": csrf},
                        files={"file": (workbook.name, workbook.read_bytes())})
            t1 = time.perf_counter()
            confirm = c.get(up.headers["location"])
            t2 = time.perf_counter()
            start = c.post(up.headers["location"], data={"csrf_token": _csrf(confirm.text), "purpose": "信用村评定",
                                                          "authorization_ref": "SQ-BENCH-1", "as_of": str(AS_OF)})
            job = start.headers["location"]
            while "已完成" not in (fragment := c.get(f"{job}/progress").text):
                assert "失败" not in fragment, fragment
                time.sleep(0.2)
            t3 = time.perf_counter()
            summary = c.get(job)
            t4 = time.perf_counter()
            assert "信用村评定" in summary.text
            for stage, seconds in zip(stages, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
                stages[stage].append(seconds)
            weights["confirm columns"] = _weight(confirm)
            weights["results (village summary)"] = _weight(summary)
        for stage, values in stages.items():
            print(f"  {stage:<14} {statistics.median(values):7.2f} s")
        total = [sum(v[i] for v in stages.values()) for i in range(args.repeats)]
        print(f"  upload → village summary: {statistics.median(total):.2f} s "
              f"({n / statistics.median(total):,.0f} households/s)")
        weights["batches"] = _weight(c.get("/batches"))
        bank = logged_in("bank")
        weights["firm search"] = _weight(bank.get("/firms", params={"q": firm}))
        page = bank.get(f"/firms/{firm}")
        weights["firm grade card"] = _weight(bank.post(f"/firms/{firm}", data={
            "csrf_token": _csrf(page.text), "purpose": "loan_application"}))
        admin = logged_in("admin")
        weights["audit log"] = _weight(admin.get("/admin/audit"))
        weights["users and keys"] = _weight(admin.get("/admin/users"))
        weights["login"] = _weight(httpx.get(f"{site}/login"))
        print(f"page weights: HTML + script and style ({assets / 1000:.1f} KB transferred, "
              f"{assets_raw / 1000:.1f} KB uncompressed)")
        print(f"  {'page':<26} {'transferred':>11} {'uncompressed':>13}")
        for name, (wire, raw) in weights.items():
            print(f"  {name:<26} {(wire + assets) / 1000:8.1f} KB {(raw + assets_raw) / 1000:10.1f} KB")
        server.should_exit = True


if __name__ == "__main__":
    main()
